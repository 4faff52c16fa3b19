// The benchmark reads the controller's memory from /proc and uses the topology harness's API client: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
