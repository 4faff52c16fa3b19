// The harness drives Linux network namespaces, ip(8) and dhclient: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
