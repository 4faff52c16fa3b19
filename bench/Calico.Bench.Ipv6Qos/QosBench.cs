using System.Diagnostics;
using Calico.Bench.Nftables;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Driver;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Calico.Bench.Ipv6Qos;

/// <summary>
/// One port's QoS through the whole Linux dataplane (every production component: interfaces, policy, QoS, routes,
/// DHCP, BGP), in a namespace holding 500 workload taps (veth pairs) each with QoS both ways (a TBF on the tap, an
/// ingress qdisc, a redirect filter, an IFB with its TBF), against the same with 50. One try: the measured port gets
/// a policy (applied), a new limit (changed in place), and loses it (removed), each an update with that one change,
/// timed from the apply call to its result. Baseline: the same update once more, nothing changed (what every
/// component's pass costs at that size without a kernel write).
/// </summary>
internal static class QosBench
{
    private const int Tries = 200;
    private const int Warmup = 20;

    public static async Task<List<(string, string)>> RunAsync(string[] args)
    {
        Console.WriteLine($"QoS: one port's limits applied, changed and removed through the dataplane; {Tries} tries after {Warmup} warm-up, " +
                          $"{Environment.ProcessorCount} CPUs, kernel {Environment.OSVersion.Version}");
        // --components interfaces,qos: only those (in the production order), to see what each costs; default: all.
        var only = args.SkipWhile(a => a != "--components").Skip(1).FirstOrDefault()?.Split(',');
        var components = LinuxDataplaneComponents.All.Where(r => only is null || only.Contains(r.Name)).ToList();
        var small = await MeasureAsync(50, components);
        var large = await MeasureAsync(500, components);

        Console.WriteLine();
        Console.WriteLine("| one port's QoS | 500 ports p50 | p99 | 50 ports p50 | p99 | ratio p50 |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var what in large.Keys)
            Console.WriteLine($"| {what} | {P(large[what], 50):F2} ms | {P(large[what], 99):F2} ms | {P(small[what], 50):F2} ms | {P(small[what], 99):F2} ms | {P(large[what], 50) / P(small[what], 50):F2} |");
        var applied = P(large["applied"], 50);
        return [("qos_p50_ms", $"{applied:F2}"), ("qos_ratio_500_50", $"{applied / P(small["applied"], 50):F2}")];
    }

    private static async Task<Dictionary<string, List<double>>> MeasureAsync(int ports, IReadOnlyList<DataplaneComponentRegistration> components)
    {
        using var ns = BenchNamespace.Create("cal-bq");
        // The VMs' ends of the taps live elsewhere, as a hypervisor's do: the host namespace holds the taps and IFBs only.
        using var vms = BenchNamespace.Create("cal-bqv");
        var batch = Path.GetTempFileName();
        try
        {
            // One more tap than ports with QoS: the measured one, which starts without.
            File.WriteAllLines(batch, Enumerable.Range(0, ports + 1).SelectMany(i => new[]
            {
                $"link add {Tap(i)} type veth peer name {Vm(i)} netns {vms.Name}", $"link set {Tap(i)} up",
            }));
            BenchNamespace.Run("ip", "-n", ns.Name, "-batch", batch);
            BenchNamespace.Run("ip", "-n", vms.Name, "-batch", WriteLines(batch, Enumerable.Range(0, ports + 1).Select(i => $"link set {Vm(i)} up")));
        }
        finally
        {
            File.Delete(batch);
        }

        using var dataplane = new LinuxDataplane(Options.Create(new DataplaneOptions { NetworkNamespace = ns.Name }), NullLoggerFactory.Instance, components);
        var state = Enumerable.Range(0, ports).Select(i => Port(i, Limits(20_000, 10_000))).ToDictionary(i => i.Key, i => (DesiredItem)i);
        var setup = Stopwatch.StartNew();
        var first = await dataplane.ApplyAsync(state, [.. state.Values.Select(i => new DesiredChange(i.Key, i))], true, CancellationToken.None);
        setup.Stop();
        var failing = first.Endpoints.Values.Count(e => e.Status != EndpointStatusKind.Active);
        Console.WriteLine($"   {ports} ports with QoS both ways programmed in {setup.Elapsed.TotalSeconds:F2} s ({failing} not ACTIVE); " +
                          $"{dataplane.Components.Count} components: {string.Join(", ", dataplane.Components)}");
        if (failing > 0) throw new InvalidOperationException($"{failing} ports are not ACTIVE: {first.Endpoints.Values.First(e => e.Status != EndpointStatusKind.Active).Message}");

        var samples = new Dictionary<string, List<double>> { ["applied"] = [], ["changed"] = [], ["removed"] = [], ["baseline: the same update, nothing changed"] = [] };
        var measured = Port(ports, null);
        await SetAsync(dataplane, state, measured);
        for (var i = 0; i < Warmup + Tries; i++)
        {
            var (to, from) = i % 2 == 0 ? (30_000, 15_000) : (25_000, 12_000);
            var applied = await SetAsync(dataplane, state, measured with { Qos = Limits(to, from) });
            var changed = await SetAsync(dataplane, state, measured with { Qos = Limits(to * 2, from * 2) });
            var removed = await SetAsync(dataplane, state, measured);
            var unchanged = await SetAsync(dataplane, state, measured);
            if (i < Warmup) continue;
            samples["baseline: the same update, nothing changed"].Add(unchanged);
            samples["applied"].Add(applied);
            samples["changed"].Add(changed);
            samples["removed"].Add(removed);
        }
        return samples;
    }

    /// <summary>One update with the one change; the milliseconds until its result, which must leave the port ACTIVE.</summary>
    private static async Task<double> SetAsync(LinuxDataplane dataplane, Dictionary<DesiredKey, DesiredItem> state, WorkloadInterfaceItem item)
    {
        state[item.Key] = item;
        var clock = Stopwatch.StartNew();
        var result = await dataplane.ApplyAsync(state, [new DesiredChange(item.Key, item)], false, CancellationToken.None);
        var elapsed = clock.Elapsed.TotalMilliseconds;
        if (result.Endpoints[item.EndpointId] is { Status: not EndpointStatusKind.Active } status)
            throw new InvalidOperationException($"{item.Name}: {status.Status} {status.Message}");
        return elapsed;
    }

    private static WorkloadInterfaceItem Port(int i, WorkloadQos? qos) =>
        new(Tap(i), $"port-{i}", $"fa:16:3e:00:{i >> 8:x2}:{i & 0xff:x2}",
            new ValueList<IpPrefix>([IpPrefix.Parse($"10.65.{i >> 8}.{i & 0xff}/32")]), true, ValueList<string>.Empty,
            ValueList<AllowedAddressPair>.Empty, 1500, PortSecurityOff: true, Qos: qos);

    private static WorkloadQos Limits(long toKbps, long fromKbps) => new("bench", new ValueList<QosRule>([
        new QosRule("in", QosRule.BandwidthLimit, toKbps, 0, QosRule.Ingress),
        new QosRule("out", QosRule.BandwidthLimit, fromKbps, 0, QosRule.Egress),
    ]));

    private static string WriteLines(string path, IEnumerable<string> lines)
    {
        File.WriteAllLines(path, lines);
        return path;
    }

    private static string Tap(int i) => $"tapb{i:x10}";

    private static string Vm(int i) => $"vmb{i:x10}";

    private static double P(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(p / 100 * sorted.Count) - 1)];
    }
}
