using System.Net;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Model.Tests;

/// <summary>
/// The desired state must depend only on the final state of the resources, never on the order in which
/// their changes arrived, and the incremental engine must agree with a from-scratch calculation after every step.
/// </summary>
public class EngineOrderTests
{
    /// <summary>Random resource histories: each resource's successive stored versions, revisions 1..n.</summary>
    private static List<List<ResourceChange>> Histories(Random rng)
    {
        var histories = new List<List<ResourceChange>>();
        void Add(params object?[] versions)
        {
            var key = CalculatorTests.KeyOf(versions.First(v => v is not null)!);
            var kind = ResourceChange.KindOf(versions.First(v => v is not null)!);
            histories.Add(versions.Select((v, i) => new ResourceChange(kind, key, i + 1, v)).ToList());
        }
        string[] hosts = ["h1", "h2", "h3", "h4"];
        for (var i = 0; i < hosts.Length; i++)
        {
            var spec = Sample.Host(hosts[i], $"172.18.0.{i + 1}", $"fd00:18::{i + 1}");
            // Hosts move, take an AS number of their own (BGP mode), and some leave (deregistered) at the end.
            var versions = new List<object?> { spec };
            if (rng.Next(3) == 0) versions.Insert(0, spec with { Ipv4Address = IPAddress.Parse($"172.18.1.{i + 1}") });
            if (rng.Next(3) == 0) versions.Add(spec with { AsNumber = 64600u + (uint)i });
            // In racks (labels that per-rack peers select), and some become or stop being route reflectors.
            if (rng.Next(2) == 0) versions.Add(((HostSpec)versions[^1]!) with { Labels = new ValueMap([new("rack", $"r{rng.Next(2)}")]) });
            if (rng.Next(4) == 0) versions.Add(((HostSpec)versions[^1]!) with { RouteReflectorClusterId = IPAddress.Parse("224.0.0.1") });
            if (rng.Next(5) == 0) versions.Add(null);
            Add([.. versions]);
        }
        // Operators' BGP peers: global, per host, per rack label; changed, and some deleted; the mesh switched.
        Add(new BgpPeer(IPAddress.Parse("172.18.9.1"), 65001), new BgpPeer(IPAddress.Parse("172.18.9.1"), 65002, "secret"));
        Add(new BgpPeer(IPAddress.Parse("172.18.9.2"), 65010, Host: hosts[rng.Next(hosts.Length)]),
            new BgpPeer(IPAddress.Parse("172.18.9.2"), 65010, Host: hosts[rng.Next(hosts.Length)], Multihop: true));
        Add(new BgpPeer(IPAddress.Parse("172.18.9.3"), 65020, HostLabel: "rack=r0"), rng.Next(2) == 0 ? null : new BgpPeer(IPAddress.Parse("172.18.9.3"), 65020, HostLabel: "rack=r1"));
        // A peer at a host's own address (registered after the peer): the mesh's item wins the key.
        Add(new BgpPeer(IPAddress.Parse("172.18.0.2"), 65030, HostLabel: "rack=r1"));
        Add(new BgpConfiguration(NodeToNodeMesh: rng.Next(2) == 0), new BgpConfiguration(rng.Next(2) == 0, 64999));
        Add(Sample.Network(), Sample.Network(mtu: 9000));
        Add(Sample.Subnet(), Sample.Subnet() with { DnsNameservers = ValueList.Create(IPAddress.Parse("10.65.0.53")) });
        Add(Sample.Subnet("sub-6", "fd00:65::/64", "fd00:65::1"));
        Add(Sample.Group("sg-default", Sample.Rule("r1", remoteGroup: "sg-web")));
        Add(Sample.Group("sg-web", Sample.Rule("r2", from: 80, to: 80)), Sample.Group("sg-web", Sample.Rule("r2", from: 80, to: 80), Sample.Rule("r3", remoteGroup: "sg-db")));
        Add(Sample.Group("sg-db", Sample.Rule("r4", from: 5432, to: 5432, remoteGroup: "sg-web")), null);
        for (var e = 0; e < 14; e++)
        {
            var versions = new List<object?>();
            var count = rng.Next(1, 5);
            for (var v = 0; v < count; v++)
            {
                var host = rng.Next(6) == 0 ? null : hosts[rng.Next(hosts.Length)];
                var ips = rng.Next(3) switch
                {
                    0 => new[] { $"10.65.0.{10 + e}" },
                    1 => [$"10.65.0.{10 + e}", $"fd00:65::{10 + e:x}"],
                    _ => [$"10.65.0.{100 + e}"],
                };
                string[] groups = [.. new[] { "sg-default", "sg-web", "sg-db" }.Where(_ => rng.Next(2) == 0)];
                var port = Sample.Endpoint($"ep{e:00}-0000", host, ips) with
                {
                    SecurityGroupIds = groups.ToValueList(),
                    AdminStateUp = rng.Next(5) != 0,
                    AllowedAddressPairs = rng.Next(4) == 0 ? ValueList.Create(new AllowedAddressPair(IpPrefix.Parse($"10.66.{e}.0/24"), null)) : ValueList<AllowedAddressPair>.Empty,
                };
                // Some ports without groups or pairs have port security off.
                versions.Add(port with { PortSecurityOff = port.SecurityGroupIds.Count == 0 && port.AllowedAddressPairs.Count == 0 && (e + v) % 2 == 1 });
            }
            // Live migrations of a bound port: prepared (to a registered host, or to one that never registers),
            // then left so, rolled back, taken over by the target, or completed by Nova.
            if (rng.Next(2) == 0 && versions[^1] is WorkloadEndpoint { IsBound: true } bound)
            {
                var target = rng.Next(6) == 0 ? "h9" : hosts[rng.Next(hosts.Length)];
                var prepared = bound with { MigratingTo = target };
                versions.Add(prepared);
                switch (rng.Next(4))
                {
                    case 1: versions.Add(prepared with { MigratingTo = null }); break;
                    case 2: versions.Add(prepared with { ArrivedOn = target }); break;
                    case 3:
                        versions.Add(prepared with { ArrivedOn = target });
                        versions.Add(bound with { Host = target });
                        break;
                }
            }
            if (rng.Next(4) == 0) versions.Add(null);
            Add([.. versions]);
        }
        Add(new FloatingIp("fip-1", "ext", IPAddress.Parse("172.24.4.10"), "proj", "ep03-0000", IPAddress.Parse("10.65.0.13")),
            new FloatingIp("fip-1", "ext", IPAddress.Parse("172.24.4.10"), "proj", "ep05-0000", IPAddress.Parse("10.65.0.15")));
        // Blocks over the endpoints' addresses, claimed, moved to another host, unclaimed or released along the way,
        // so that addresses switch between covered by their host's block, borrowed, and in no block at all.
        string[] cidrs = ["10.65.0.0/26", "10.65.0.64/26", "10.65.0.128/26", "fd00:65::/122", "fd00:65::40/122"];
        foreach (var cidr in cidrs)
        {
            if (rng.Next(5) == 0) continue;
            var subnet = cidr.Contains(':') ? "sub-6" : "sub-1";
            var versions = Enumerable.Range(0, rng.Next(1, 4))
                .Select(_ => (object?)new IpBlock(IpPrefix.Parse(cidr), subnet, rng.Next(5) == 0 ? null : hosts[rng.Next(hosts.Length)]))
                .ToList();
            if (rng.Next(4) == 0) versions.Add(null);
            Add([.. versions]);
        }
        return histories;
    }

    private static Dictionary<string, Dictionary<DesiredKey, DesiredItem>> Expected(List<List<ResourceChange>> histories, ClusterRouting routing)
    {
        var model = new IntentModel();
        foreach (var h in histories) model.Apply(h[^1]);
        return model.KnownHosts.ToDictionary(h => h, h => HostSpecCalculator.Compute(model, h, routing));
    }

    /// <summary>
    /// Replays changes through the engine, accumulating what each host would be told, as a watcher does. Every delta
    /// must be effective (no host told of a change that leaves its state as it was); with
    /// <paramref name="checkEveryStep"/>, after every change what every host was told, and its snapshot, must equal
    /// the from-scratch calculation (for a sharded engine, <paramref name="inScope"/>, for the hosts it serves).
    /// </summary>
    private static Dictionary<string, Dictionary<DesiredKey, DesiredItem>> Replay(
        IEnumerable<ResourceChange> changes, bool checkEveryStep, ClusterRouting routing, Func<string, bool>? inScope = null)
    {
        var engine = new DesiredStateEngine(inScope, routing);
        var told = new Dictionary<string, Dictionary<DesiredKey, DesiredItem>>();
        foreach (var change in changes)
        {
            foreach (var (host, delta) in engine.Apply(change))
            {
                Assert.NotEmpty(delta);
                Assert.True(inScope is null || inScope(host), $"host {host} is not served by this engine");
                if (!told.TryGetValue(host, out var items)) told[host] = items = [];
                Assert.Equal(delta.Count, DesiredDiff.ApplyTo(items, delta));
            }
            if (checkEveryStep) AssertAgreesWithReference(engine, told, inScope);
        }
        foreach (var empty in told.Where(kv => kv.Value.Count == 0).Select(kv => kv.Key).ToList()) told.Remove(empty);
        return told;
    }

    internal static void AssertAgreesWithReference(
        DesiredStateEngine engine, Dictionary<string, Dictionary<DesiredKey, DesiredItem>> told, Func<string, bool>? inScope = null)
    {
        var known = engine.Intent.KnownHosts.Where(h => inScope is null || inScope(h)).ToHashSet();
        Assert.Equal(known.Order(StringComparer.Ordinal), engine.Hosts.Order(StringComparer.Ordinal));
        foreach (var host in known.Union(told.Keys))
        {
            var expected = known.Contains(host) ? HostSpecCalculator.Compute(engine.Intent, host, engine.Routing) : [];
            AssertSame(expected, told.GetValueOrDefault(host) ?? [], host);
            AssertSame(expected, engine.Snapshot(host), host);
        }
    }

    internal static void AssertSame(IReadOnlyDictionary<DesiredKey, DesiredItem> expected, IReadOnlyDictionary<DesiredKey, DesiredItem> actual, string host)
    {
        var missing = expected.Keys.Except(actual.Keys).ToList();
        var extra = actual.Keys.Except(expected.Keys).ToList();
        var differ = expected.Keys.Intersect(actual.Keys).Where(k => !expected[k].Equals(actual[k])).ToList();
        Assert.True(missing.Count + extra.Count + differ.Count == 0,
            $"host {host}: missing [{string.Join(", ", missing)}] extra [{string.Join(", ", extra)}] different [{string.Join(", ", differ)}]");
    }

    private static void AssertSameHosts(Dictionary<string, Dictionary<DesiredKey, DesiredItem>> expected, Dictionary<string, Dictionary<DesiredKey, DesiredItem>> actual)
    {
        var nonEmpty = expected.Where(kv => kv.Value.Count > 0).Select(kv => kv.Key).Order().ToList();
        Assert.Equal(nonEmpty, actual.Keys.Order().ToList());
        foreach (var host in nonEmpty) AssertSame(expected[host], actual[host], host);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    public void Result_depends_only_on_the_final_state(int seed) => ReplayInEveryOrder(seed, ClusterRouting.Direct);

    /// <summary>BGP mode: no route via another host anywhere; each host's identity and its peers (the mesh) instead.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Result_depends_only_on_the_final_state_in_bgp_mode(int seed) => ReplayInEveryOrder(seed, ClusterRouting.Bgp with { AsNumber = 65001 });

    private static void ReplayInEveryOrder(int seed, ClusterRouting routing)
    {
        var rng = new Random(seed);
        var histories = Histories(rng);
        var expected = Expected(histories, routing);
        if (routing.IsBgp)
        {
            // Only a live migration routes via another host in BGP mode (its own routes, which no peer announces).
            var migrating = histories.Select(h => h[^1].Value).OfType<WorkloadEndpoint>().Select(e => e.AsProgrammed())
                .Where(e => e.MigrationTarget is not null).SelectMany(e => e.Addresses).Select(IpPrefix.Host).ToHashSet();
            Assert.All(expected.Values.SelectMany(items => items.Values).OfType<RouteItem>(),
                r => Assert.True(r.Kind != RouteKind.ViaHost || migrating.Contains(r.Destination), $"{r} in BGP mode"));
            // The global peer (never deleted) is every host's.
            Assert.All(expected.Values, items => Assert.Contains(new DesiredKey(DesiredKind.BgpPeer, "172.18.9.1"), items.Keys));
        }

        // 1. Each resource's versions in order, resources interleaved at random (what a live system sees).
        for (var round = 0; round < 4; round++)
        {
            var queues = histories.Select(h => new Queue<ResourceChange>(h)).ToList();
            var interleaved = new List<ResourceChange>();
            while (queues.Any(q => q.Count > 0))
            {
                var live = queues.Where(q => q.Count > 0).ToList();
                interleaved.Add(live[rng.Next(live.Count)].Dequeue());
            }
            AssertSameHosts(expected, Replay(interleaved, checkEveryStep: round == 0, routing));
        }

        // 2. Every change shuffled, stale versions arriving late (a retried or delayed notification).
        for (var round = 0; round < 4; round++)
        {
            var shuffled = histories.SelectMany(h => h).OrderBy(_ => rng.Next()).ToList();
            AssertSameHosts(expected, Replay(shuffled, checkEveryStep: round == 0, routing));
        }

        // 3. Only the final states, as a load from the store does.
        var engine = new DesiredStateEngine(routing: routing);
        engine.Load(histories.Select(h => h[^1]).OrderBy(_ => rng.Next()));
        foreach (var (host, spec) in expected) AssertSame(spec, engine.Snapshot(host), host);

        // 4. Sharded: each of three engines serves a third of the hosts, and agrees with the reference for them.
        for (var shard = 0; shard < 3; shard++)
        {
            var mine = shard;
            Func<string, bool> inScope = h => h[^1] % 3 == mine;
            Replay(histories.SelectMany(h => h).OrderBy(_ => rng.Next()), checkEveryStep: true, routing, inScope);
        }
    }

    [Fact]
    public void A_change_that_concerns_one_host_wakes_only_that_host()
    {
        var engine = new DesiredStateEngine();
        engine.ApplyAll([
            Ch(Sample.Host("h1", "172.18.0.1")), Ch(Sample.Host("h2", "172.18.0.2")), Ch(Sample.Host("h3", "172.18.0.3")),
            Ch(Sample.Group("sg-default", Sample.Rule("r1"))),
            Ch(Sample.Group("sg-only-h1", Sample.Rule("r2"))),
            Ch(Sample.Endpoint("a", "h1", "10.65.0.1") with { SecurityGroupIds = ValueList.Create("sg-only-h1") }),
            Ch(Sample.Endpoint("b", "h2", "10.65.0.2")),
            Ch(Sample.Endpoint("c", "h3", "10.65.0.3")),
        ]);

        // A rule added to a group only h1's endpoint uses.
        var woken = engine.Apply(Ch(Sample.Group("sg-only-h1", Sample.Rule("r2"), Sample.Rule("r3", from: 443, to: 443)), 2));
        Assert.Equal(["h1"], woken.Keys);

        // A port's groups change without its addresses moving.
        woken = engine.Apply(Ch(Sample.Endpoint("b", "h2", "10.65.0.2") with { SecurityGroupIds = ValueList.Create("sg-default", "sg-only-h1") }, 2));
        Assert.Equal(["h2"], woken.Keys);

        // A new port's address: every host routes to it, so every host is told.
        woken = engine.Apply(Ch(Sample.Endpoint("d", "h3", "10.65.0.4")));
        Assert.Equal(["h1", "h2", "h3"], woken.Keys.Order());

        // Writing the same thing again wakes nobody.
        Assert.Empty(engine.Apply(Ch(Sample.Endpoint("d", "h3", "10.65.0.4"), 2)));
    }

    [Fact]
    public void An_unchanged_block_sent_again_with_a_higher_revision_wakes_nobody()
    {
        var engine = new DesiredStateEngine();
        var block = new IpBlock(IpPrefix.Parse("10.65.0.0/26"), "sub-1", "h1");
        engine.ApplyAll([Ch(Sample.Host("h1", "172.18.0.1")), Ch(Sample.Host("h2", "172.18.0.2")), Ch(block)]);
        // The block's row is rewritten with every allocation in it; only a change of affinity matters to routes.
        Assert.Empty(engine.Apply(Ch(block, 7)));
        var woken = engine.Apply(Ch(block with { AffinityHost = "h2" }, 8));
        Assert.Equal(["h1", "h2"], woken.Keys.Order());
    }

    private static ResourceChange Ch(object value, long revision = 1) =>
        new(ResourceChange.KindOf(value), CalculatorTests.KeyOf(value), revision, value);
}
