// The benchmark drives the topology harness (Linux network namespaces, ip(8)): Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
