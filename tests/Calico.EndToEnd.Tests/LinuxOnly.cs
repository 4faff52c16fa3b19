// End-to-end tests in Linux network namespaces: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
