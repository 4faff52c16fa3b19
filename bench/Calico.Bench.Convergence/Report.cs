namespace Calico.Bench.Convergence;

/// <summary>What the run prints: the figures, their baselines and ratios, and the targets of issue 7.</summary>
internal static class Report
{
    private const double TargetP50 = 100, TargetP99 = 500;

    /// <summary>One phase of binds one at a time: its distributions against the floor, its first ports against its last.</summary>
    public static void Sequential(string phase, IReadOnlyList<BindSample> samples, Settings settings)
    {
        var n = samples.Count;
        var nova = samples.All(s => s.Plug is not null);
        List<(string, Percentiles)> rows = [("bind call (PUT binding:host_id)", Of(samples, s => s.Call))];
        if (nova)
        {
            rows.Add(("plug: tap created and up (ip, after the call)", Of(samples, s => s.Plug!.Value.Duration)));
            rows.Add(("plug -> ACTIVE (from the plug's start)", Of(samples, s => s.PlugToActive)));
        }
        rows.Add(("bind -> ACTIVE (read from the API)", Of(samples, s => s.Active)));
        rows.Add(("bind -> routed on both other hosts", Of(samples, s => s.RoutesAll)));
        rows.Add(("  ... on the first of them", Of(samples, s => s.RoutesFirst)));
        if (nova) rows.Add(("create port (POST, unbound; for reference)", Of(samples, s => s.Workload.Create)));
        Table.Distributions(
            $"{phase}: {n} binds one at a time, ms from the bind call sent (ACTIVE polled every {settings.PollInterval.TotalMilliseconds:0} ms; " +
            "routes read by ip monitor in each host)",
            "floor: GET /v2.0/ports/{id} alone", Of(samples, s => s.Floor), rows);

        var k = Math.Max(1, Math.Min(20, n / 4));
        var first = samples.Take(k).ToList();
        var last = samples.Skip(n - k).ToList();
        List<(string, Percentiles, Percentiles)> size =
        [
            ("floor: GET /v2.0/ports/{id}", Of(first, s => s.Floor), Of(last, s => s.Floor)),
            ("bind call", Of(first, s => s.Call), Of(last, s => s.Call)),
            ("bind -> ACTIVE", Of(first, s => s.Active), Of(last, s => s.Active)),
            ("bind -> routes on both other hosts", Of(first, s => s.RoutesAll), Of(last, s => s.RoutesAll)),
        ];
        if (nova) size.Add(("plug -> ACTIVE", Of(first, s => s.PlugToActive), Of(last, s => s.PlugToActive)));
        Table.Comparison($"{phase}, size: the first {k} ports (0..{k - 1} others bound) against the last {k} ({n - k}..{n - 1} others bound)",
            "first", "last", size);

        var seen = samples.SelectMany(s => s.Routes).ToList();
        Console.WriteLine($"Routes that satisfied the other hosts: {seen.Count(r => !r.AlreadyThere && r.Route.IsHostRoute)} host routes (/32 via the port's host), " +
                          $"{seen.Count(r => !r.AlreadyThere && !r.Route.IsHostRoute)} block routes via it, {seen.Count(r => r.AlreadyThere)} already there before the bind.");
        Target("bind -> ACTIVE", Of(samples, s => s.Active));
        if (nova) Target("plug -> ACTIVE", Of(samples, s => s.PlugToActive));
        Target("bind -> routed on both other hosts", Of(samples, s => s.RoutesAll));
        Console.WriteLine();
    }

    public static void Burst(BurstResult burst, IReadOnlyList<BindSample> sequential)
    {
        Table.Comparison($"Burst: all {sequential.Count} ports unbound, then bound at once (taps kept plugged); per port, ms from the first call sent, " +
                         "against the same port's figure one at a time, tap first", "alone", "burst",
        [
            ("bind call answered", Of(sequential, s => s.Call), burst.Call),
            ("ACTIVE (read by listing the ports)", Of(sequential, s => s.Active), burst.Active),
            ("routes on both other hosts", Of(sequential, s => s.RoutesAll), burst.Routes),
        ]);
        double Sum(Func<BindSample, double> f) => sequential.Sum(f);
        Console.WriteLine($"  all converged: last call answered {burst.LastCall:F0} ms, last port ACTIVE {burst.LastActive:F0} ms, last remote route {burst.LastRoutes:F0} ms");
        Console.WriteLine($"  one at a time the same binds took in all (sum of per-port times): calls {Sum(s => s.Call):F0} ms, ACTIVE {Sum(s => s.Active):F0} ms, " +
                          $"routes {Sum(s => s.RoutesAll):F0} ms; burst / one at a time: ACTIVE {burst.LastActive / Sum(s => s.Active):F2}, " +
                          $"routes {burst.LastRoutes / Sum(s => s.RoutesAll):F2}");
        Console.WriteLine($"  ACTIVE resolution in the burst: one list of the ports, p50 {burst.ListRoundTrip.P50:F1} ms, max {burst.ListRoundTrip.Max:F1} ms");
        Console.WriteLine();
    }

    /// <summary>One line per bind, for finding each one in the silos' logs (<c>--debug-logs --keep-logs DIR</c>).</summary>
    public static void WriteSamples(string path, IEnumerable<(string Phase, IReadOnlyList<BindSample> Samples)> phases)
    {
        using var file = new StreamWriter(path);
        file.WriteLine("phase,number,host,address,port_id,tap,sent_utc,create_ms,floor_ms,call_ms,plug_started_ms,plug_done_ms,active_ms,routed_all_ms,routed_first_ms");
        foreach (var (phase, samples) in phases)
            foreach (var s in samples)
            {
                var w = s.Workload;
                file.WriteLine($"{phase},{w.Number},{w.Host.Name},{w.Address},{w.PortId},{w.Vm.TapName},{s.Sent:yyyy-MM-ddTHH:mm:ss.fffZ}," +
                               $"{w.Create:F2},{s.Floor:F2},{s.Call:F2},{s.Plug?.Started:F2},{s.Plug?.Done:F2},{s.Active:F2},{s.RoutesAll:F2},{s.RoutesFirst:F2}");
            }
    }

    private static Percentiles Of(IEnumerable<BindSample> samples, Func<BindSample, double> figure) => Percentiles.Of(samples.Select(figure));

    private static void Target(string what, Percentiles f) =>
        Console.WriteLine($"Target of issue 7 for {what}: p50 {f.P50:F1} ms (< {TargetP50:0}: {(f.P50 < TargetP50 ? "met" : "MISSED")}), " +
                          $"p99 {f.P99:F1} ms (< {TargetP99:0}: {(f.P99 < TargetP99 ? "met" : "MISSED")})");
}
