using System.Globalization;
using Calico.Topology;

namespace Calico.Bench.Convergence;

/// <summary>
/// Where the time of a bind goes, from the silos' own log lines (<c>--debug-logs</c>: every apply is logged, with a
/// millisecond timestamp on the machine's clock, which the benchmark shares): when the API logged its answer to the
/// bind, and when each host's agent logged that it had applied the desired state carrying it (the first such line
/// after the call was sent). Between "applied" and ACTIVE lie the agent's status report to the port's grain and the
/// benchmark's polling. Log lines it cannot find (another log format, a silo without debug logs) leave a step out.
/// </summary>
internal static class Breakdown
{
    private const string Applied = "Applied desired state";
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    public static void Print(IReadOnlyList<BindSample> samples, NamespaceTopology topology)
    {
        var logs = topology.Silos.ToDictionary(s => s.Name, s => Read(s.LogPath), StringComparer.Ordinal);
        var steps = new List<(string Label, List<double> Values)>
        {
            ("API logged its answer to the bind", []),
            ("the port's host: desired state applied", []),
            ("ACTIVE read from the API", []),
            ("the other hosts: desired state applied (the later)", []),
            ("the other hosts: route read by ip monitor (the later)", []),
        };
        foreach (var sample in samples)
        {
            var sent = sample.Sent.ToLocalTime().TimeOfDay;
            var others = topology.Hosts.Where(h => h != sample.Workload.Host).Select(h => First(logs[h.Name], sent, Applied)).ToList();
            double?[] values =
            [
                First(logs[topology.Controller.Silo.Name], sent, $"PUT /v2.0/ports/{sample.Workload.PortId} "),
                First(logs[sample.Workload.Host.Name], sent, Applied),
                sample.Active,
                others.Any(o => o is null) ? null : others.Max(),
                sample.RoutesAll,
            ];
            for (var i = 0; i < steps.Count; i++)
                if (values[i] is { } value) steps[i].Values.Add(value);
        }
        Console.WriteLine("Where the time goes (from the silos' debug logs, 1 ms resolution): ms from the bind call sent");
        Console.WriteLine($"  {"",-56} {"n",4} {"p50",8} {"p90",8} {"p99",8}");
        foreach (var (label, values) in steps.Where(s => s.Values.Count > 0))
        {
            var f = Percentiles.Of(values);
            Console.WriteLine($"  {label,-56} {f.Count,4} {f.P50,8:F1} {f.P90,8:F1} {f.P99,8:F1}");
        }
        Console.WriteLine();

        double? First(List<(TimeSpan At, string Text)> log, TimeSpan after, string text)
        {
            // Lines are in time order; the first one at or after the call (the log has milliseconds, the call more).
            var from = after - TimeSpan.FromMilliseconds(1);
            var start = log.FindIndex(l => l.At >= from);
            if (start < 0) return null;
            for (var i = start; i < log.Count && log[i].At - after < Window; i++)
                if (log[i].Text.Contains(text, StringComparison.Ordinal)) return Math.Max(0, (log[i].At - after).TotalMilliseconds);
            return null;
        }
    }

    /// <summary>The lines that start with the harness's timestamp format (HH:mm:ss.fff), with their time of day.</summary>
    private static List<(TimeSpan At, string Text)> Read(string path)
    {
        var lines = new List<(TimeSpan, string)>();
        if (!File.Exists(path)) return lines;
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        while (reader.ReadLine() is { } line)
            if (line.Length > 12 && TimeSpan.TryParseExact(line[..12], @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture, out var at))
                lines.Add((at, line[13..]));
        return lines;
    }
}
