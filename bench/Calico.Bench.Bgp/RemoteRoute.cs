using System.Diagnostics;
using System.Net;
using Calico.Topology;
using Calico.Topology.Kernel;
using Calico.Topology.Probes;

namespace Calico.Bench.Bgp;

/// <summary>
/// Part 1: the real silos in namespaces, two compute hosts. A port bound on h1 with an address in h2's block: h2 needs a
/// /32 for it (its block's blackhole covers the rest). Timed from the bind call sent until h2's `ip monitor route`
/// shows a unicast /32 to the address of the protocol the mode uses (bird: learned over BGP; 80: written by h2's
/// agent). Each port is deleted and its route gone before the next is created.
/// </summary>
internal static class RemoteRoute
{
    private const int WarmUp = 3;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    public static async Task<double[]> MeasureAsync(RunPrefix prefix, int racks, Settings settings, CancellationToken cancellationToken)
    {
        var mode = racks == 2 ? "BGP, two racks" : "direct, one segment";
        Console.WriteLine($"{mode}: starting a controller and two compute hosts ({prefix.Stem}) ...");
        await using var topology = await NamespaceTopology.StartAsync(new TopologyOptions
        {
            Prefix = prefix,
            Kind = RunPrefix.BenchKind,
            Hosts = 2,
            Racks = racks,
            // A deployment's intervals (the silo's defaults), not the tests' short ones.
            ReportInterval = TimeSpan.FromSeconds(10),
            DeadAfter = TimeSpan.FromSeconds(40),
            RouteResyncInterval = TimeSpan.FromSeconds(90),
            Log = line => Console.Error.WriteLine("topology: " + line),
        }, cancellationToken);
        var (h1, h2) = (topology.Hosts[0], topology.Hosts[1]);
        var api = topology.Api;
        var seed = await SeedNetwork.CreateAsync(topology, [new("icmp")], "bgp");

        // h2's block: claimed by a port bound there; its blackhole in h2's kernel says which it is.
        var anchor = await api.CreatePortAsync(seed.NetworkId, seed.SubnetId, null, h2.Name, "anchor", [seed.SecurityGroupId], cancellationToken: cancellationToken);
        var anchorAddress = IPAddress.Parse((string)anchor["fixed_ips"]![0]!["ip_address"]!);
        KernelRoute? blackhole = null;
        await Until(async () => (blackhole = (await h2.Namespace.RoutesAsync(80)).FirstOrDefault(r => r.Type == "blackhole" && r.Covers(anchorAddress))) is not null,
            $"{h2.Name} to claim the block of {anchorAddress}", cancellationToken);
        var block = blackhole!.Network;
        // Routing between the hosts is up once h1 routes h2's block the mode's way (over BGP: the sessions are established).
        var protocol = racks == 2 ? 12 : 80;
        await Until(async () => (await h1.Namespace.RoutesAsync(protocol)).Any(r => r.Type == "unicast" && r.Network == block),
            $"{h1.Name} to route {h2.Name}'s block {block} (proto {protocol})", cancellationToken);
        Console.WriteLine($"{mode}: {h2.Name} holds block {block}, which {h1.Name} routes; ports bound on {h1.Name} take addresses in it");

        await using var table = await RouteTable.StartAsync(h2.Namespace, protocol);
        var samples = new List<double>();
        var first = BitConverter.ToUInt32([.. block.BaseAddress.GetAddressBytes().Reverse()]) + 10;
        for (var i = 0; i < WarmUp + settings.Samples; i++)
        {
            var address = new IPAddress(BitConverter.GetBytes(first + (uint)i).Reverse().ToArray());
            var port = await api.CreatePortAsync(seed.NetworkId, seed.SubnetId, address, null, $"b{i}", [seed.SecurityGroupId], cancellationToken: cancellationToken);
            var id = (string)port["id"]!;
            await Task.Delay(50, cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Deadline);
            var routed = table.WaitForAsync(address, r => r.Type == "unicast" && r.Network.PrefixLength == 32, timeout.Token);
            var sent = Stopwatch.GetTimestamp();
            await api.BindPortAsync(id, h1.Name, cancellationToken);
            RouteSeen seen;
            try
            {
                seen = await routed;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{h2.Name} did not route {address} (port {id} bound on {h1.Name}) within {Deadline.TotalSeconds} s; it has {table.Lookup(address)?.ToString() ?? "no route"}");
            }
            if (seen.AlreadyThere) throw new InvalidOperationException($"{h2.Name} routed {address} before its port was bound: {seen.Route}");
            if (i >= WarmUp) samples.Add(Timing.Milliseconds(sent, seen.SeenAt));

            await api.DeleteAsync("ports", id, cancellationToken);
            await Until(() => Task.FromResult(table.Lookup(address) is not { Network.PrefixLength: 32 }), $"{h2.Name} to withdraw {address}", cancellationToken);
        }
        Console.WriteLine($"{mode}: {samples.Count} binds measured (after {WarmUp} not counted)");
        return [.. samples];
    }

    private static async Task Until(Func<Task<bool>> probe, string what, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Deadline.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (await probe()) return;
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException($"waited {Deadline.TotalSeconds} s for {what}");
            await Task.Delay(10, cancellationToken);
        }
    }
}
