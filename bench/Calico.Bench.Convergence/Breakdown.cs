using System.Globalization;
using Calico.Topology;

namespace Calico.Bench.Convergence;

/// <summary>
/// Where the time of a bind goes, from the silos' own log lines (<c>--debug-logs</c>: every apply and every link
/// notice is logged, with a millisecond timestamp on the machine's clock, which the benchmark shares): when the API
/// logged its answer to the bind, and when each host's agent logged that it had applied the desired state carrying it
/// (the first such line after the call was sent). In Nova's order also, from the start of the plug: when the port's
/// host logged that its link watch saw the tap appear, when it had applied the bind, and when it wrote the tap's route
/// (by the link watch's reconcile, or by the bind's apply if that found the tap). Between the last of these and ACTIVE
/// lie the agent's status report to the port's grain and the benchmark's polling, shown per port as well (a difference
/// of two percentiles is not the percentile of the differences). Log lines it cannot find (another log format, a silo
/// without debug logs) leave a step out.
/// </summary>
internal static class Breakdown
{
    private const string Applied = "Applied desired state";
    private const string LinkReconciled = "Dataplane link change:";
    private const string DataplaneApplied = "Dataplane apply:";
    private const string NoRouteWritten = " 0 routes written";
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    public static void Print(string phase, IReadOnlyList<BindSample> samples, NamespaceTopology topology)
    {
        var logs = topology.Silos.ToDictionary(s => s.Name, s => Read(s.LogPath), StringComparer.Ordinal);
        var fromBind = new Steps(
            "API logged its answer to the bind",
            "the port's host: desired state applied",
            "ACTIVE read from the API",
            "the other hosts: desired state applied (the later)",
            "the other hosts: route read by ip monitor (the later)",
            "per port: ACTIVE read minus the port's host applied");
        var fromPlug = new Steps(
            "the port's host: its link watch saw the tap appear",
            "the port's host: the bind applied (< 0: before the plug)",
            "the port's host: the tap's route written",
            "ACTIVE read from the API",
            "per port: ACTIVE read minus the tap's route written");
        int byLinkWatch = 0, byApply = 0;
        foreach (var sample in samples)
        {
            var sent = sample.Sent.ToLocalTime().TimeOfDay;
            var host = logs[sample.Workload.Host.Name];
            var applied = First(host, sent, Applied);
            var others = topology.Hosts.Where(h => h != sample.Workload.Host).Select(h => First(logs[h.Name], sent, Applied)).ToList();
            fromBind.Add(
                First(logs[topology.Controller.Silo.Name], sent, $"PUT /v2.0/ports/{sample.Workload.PortId} "),
                applied,
                sample.Active,
                others.Any(o => o is null) ? null : others.Max(),
                sample.RoutesAll,
                // With the tap plugged after the bind, the port's host made it ACTIVE later than its apply: see below.
                sample.Plug is null ? sample.Active - applied : null);
            if (sample.Plug is not { } plug) continue;
            var plugged = sample.PlugStarted.ToLocalTime().TimeOfDay;
            // In Nova's order the port's host has no route to write but the tap's: the first reconcile after the plug
            // that wrote one is either the link watch's or the bind's apply, whichever found the tap first.
            var (routed, by) = Find(host, plugged, text =>
                (text.Contains(LinkReconciled, StringComparison.Ordinal) || text.Contains(DataplaneApplied, StringComparison.Ordinal))
                && !text.Contains(NoRouteWritten, StringComparison.Ordinal));
            if (by is not null)
            {
                if (by.Contains(LinkReconciled, StringComparison.Ordinal)) byLinkWatch++;
                else byApply++;
            }
            fromPlug.Add(First(host, plugged, $"Workload interface {sample.Workload.Vm.TapName} appeared"), applied - plug.Started, routed,
                sample.PlugToActive, sample.PlugToActive - routed);
        }
        fromBind.Print($"{phase}, where the time goes (from the silos' debug logs, 1 ms resolution): ms from the bind call sent");
        if (samples.Any(s => s.Plug is not null))
        {
            fromPlug.Print($"{phase}, from the start of the plug (right after the bind call returned): ms from the plug started");
            Console.WriteLine($"  the tap's route was written by the link watch's reconcile for {byLinkWatch} ports, by the bind's apply (the tap was there " +
                              $"when it listed the links) for {byApply}, not found in the log for {samples.Count - byLinkWatch - byApply}");
            Console.WriteLine();
        }

        double? First(List<(TimeSpan At, string Text)> log, TimeSpan after, string text) =>
            Find(log, after, line => line.Contains(text, StringComparison.Ordinal)).Milliseconds;

        (double? Milliseconds, string? Text) Find(List<(TimeSpan At, string Text)> log, TimeSpan after, Func<string, bool> wanted)
        {
            // Lines are in time order; the first one at or after the moment (the log has milliseconds, the moment more).
            var from = after - TimeSpan.FromMilliseconds(1);
            var start = log.FindIndex(l => l.At >= from);
            if (start < 0) return (null, null);
            for (var i = start; i < log.Count && log[i].At - after < Window; i++)
                if (wanted(log[i].Text)) return (Math.Max(0, (log[i].At - after).TotalMilliseconds), log[i].Text);
            return (null, null);
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

    /// <summary>Named steps, each with the values found for it (a step whose line was not found for a bind has no value for it).</summary>
    private sealed class Steps(params string[] labels)
    {
        private readonly List<double>[] _values = [.. labels.Select(_ => new List<double>())];

        public void Add(params double?[] values)
        {
            for (var i = 0; i < _values.Length; i++)
                if (values[i] is { } value) _values[i].Add(value);
        }

        public void Print(string title)
        {
            Console.WriteLine(title);
            Console.WriteLine($"  {"",-56} {"n",4} {"p50",8} {"p90",8} {"p99",8}");
            for (var i = 0; i < labels.Length; i++)
            {
                if (_values[i].Count == 0) continue;
                var f = Percentiles.Of(_values[i]);
                Console.WriteLine($"  {labels[i],-56} {f.Count,4} {f.P50,8:F1} {f.P90,8:F1} {f.P99,8:F1}");
            }
            Console.WriteLine();
        }
    }
}
