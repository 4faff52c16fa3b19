using System.Globalization;
using Calico.Bench.Ipv6Qos;

// Issue 14's benchmark. Every part measures in namespaces of its own and returns its fields for the summary line,
// which comes last: `ipv6-qos: qos_p50_ms=… qos_ratio_500_50=…` (the IPv6 parts add theirs to the same line).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("Run as root: the benchmark creates network namespaces (it touches nothing outside them).");
    return 2;
}

var fields = new List<(string Key, string Value)>();
fields.AddRange(await QosBench.RunAsync(args));

Console.WriteLine();
Console.WriteLine("ipv6-qos: " + string.Join(' ', fields.Select(f => $"{f.Key}={f.Value}")));
return 0;
