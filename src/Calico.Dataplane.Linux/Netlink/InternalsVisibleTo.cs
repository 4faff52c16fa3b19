using System.Runtime.CompilerServices;

// The unit tests check the wire encoding against byte layouts built by hand from the uapi headers.
[assembly: InternalsVisibleTo("Calico.Dataplane.Linux.Tests")]
