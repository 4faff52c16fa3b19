using System.Diagnostics;
using System.Globalization;
using System.Net;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

// bench/run.sh engine [-- --hosts H --ports P]
// The incremental desired-state engine alone (no grains, no store): each shape is loaded from scratch, then each kind of
// change is applied 200 times. Printed per shape: load time, managed memory, items held once by the engine against
// items held by all hosts together, the time to build every host's snapshot, and per change kind p50/p99 and hosts
// told. Baselines measured in the same run: the (10 hosts, 1,000 ports) shape, and the from-scratch calculation of
// one host (HostSpecCalculator.Compute, what every concerned host cost per change before the engine was incremental).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var shapes = new List<(int Hosts, int Ports)> { (10, 1_000), (100, 10_000), (1_000, 100_000) };
for (var i = 0; i < args.Length - 1; i++)
    if (args[i] == "--hosts") shapes = [(10, 1_000), (int.Parse(args[i + 1]), shapes[^1].Ports)];
for (var i = 0; i < args.Length - 1; i++)
    if (args[i] == "--ports") shapes[^1] = (shapes[^1].Hosts, int.Parse(args[i + 1]));

Dictionary<string, double>? baseline = null;
foreach (var (hosts, ports) in shapes.Distinct())
{
    var result = Shape.Run(hosts, ports);
    baseline ??= result;
    Console.WriteLine($"  per change p50 against (10, 1000): " + string.Join("  ",
        result.Where(kv => kv.Key.EndsWith("_p50", StringComparison.Ordinal))
            .Select(kv => $"{kv.Key[..^4]} {kv.Value / Math.Max(baseline[kv.Key], 1e-6):F1}x")));
    Console.WriteLine();
}

internal static class Shape
{
    private static long _revision;

    private static ResourceChange Change(ResourceKind kind, string key, object? value) => new(kind, key, ++_revision, value);

    /// <summary>
    /// N hosts with /26 blocks enough for their ports, P ports spread evenly (each in its host's block), 20 security
    /// groups of which 14 have a rule naming one of 6 others as remote group, 1.5 groups per port.
    /// </summary>
    public static Dictionary<string, double> Run(int hosts, int ports)
    {
        var rng = new Random(hosts);
        var changes = new List<ResourceChange>();
        for (var h = 0; h < hosts; h++)
            changes.Add(Change(ResourceKind.Host, $"h{h}", new HostSpec($"h{h}", IPAddress.Parse($"172.16.{h / 256}.{h % 256}"), null, null, ValueMap.Empty)));
        changes.Add(Change(ResourceKind.Network, "net", new Network("net", "net", "p", true, 1500, false, false)));
        changes.Add(Change(ResourceKind.Subnet, "sub", new Subnet("sub", "net", "sub", "p", IpPrefix.Parse("10.0.0.0/8"),
            IPAddress.Parse("10.0.0.1"), ValueList<IPAddress>.Empty, ValueList<HostRoute>.Empty, ValueList<AllocationPool>.Empty, true)));
        for (var g = 0; g < 20; g++) changes.Add(Change(ResourceKind.SecurityGroup, $"sg{g}", Group(g, 0)));
        var perHost = (ports + hosts - 1) / hosts;
        var blocksPerHost = perHost / 63 + 1; // one more than needed: room for the ports the benchmark adds
        for (var h = 0; h < hosts; h++)
            for (var b = 0; b < blocksPerHost; b++)
            {
                var cidr = new IpPrefix(Address((h * blocksPerHost + b) * 64), 26);
                changes.Add(Change(ResourceKind.IpBlock, $"sub|{cidr}", new IpBlock(cidr, "sub", $"h{h}")));
            }
        for (var i = 0; i < ports; i++)
        {
            int h = i % hosts, k = i / hosts;
            var port = Port(rng, $"port-{i:000000}", $"h{h}", (h * blocksPerHost + k / 63) * 64 + 1 + k % 63);
            changes.Add(Change(ResourceKind.Endpoint, port.Id, port));
        }

        GC.Collect();
        var before = GC.GetTotalMemory(true);
        var sw = Stopwatch.StartNew();
        var engine = new DesiredStateEngine();
        engine.Load(changes);
        var load = sw.Elapsed.TotalSeconds;
        GC.Collect();
        var managed = (GC.GetTotalMemory(true) - before) / 1e6;
        sw.Restart();
        long hostItems = 0;
        foreach (var host in engine.Hosts) hostItems += engine.SnapshotChanges(host).Count;
        var snapshots = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var fromScratch = HostSpecCalculator.Compute(engine.Intent, "h0").Count;
        var computeOne = sw.Elapsed.TotalMilliseconds;
        Console.WriteLine($"engine: hosts={hosts} ports={ports} load_s={load:F2} managed_mb={managed:F0} items_held={engine.ItemsHeld} " +
            $"host_items_total={hostItems} all_snapshots_s={snapshots:F2} from_scratch_one_host_ms={computeOne:F1} ({fromScratch} items)");

        var figures = new Dictionary<string, double>();
        void Measure(string name, Func<int, ResourceChange> make, int count = 200)
        {
            var times = new List<double>(count);
            long told = 0;
            for (var i = 0; i < count; i++)
            {
                var change = make(i);
                var t = Stopwatch.GetTimestamp();
                var perHostChanges = engine.Apply(change);
                times.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                told += perHostChanges.Count;
            }
            times.Sort();
            figures[name + "_p50"] = times[count / 2];
            Console.WriteLine($"  {name,-28} p50_ms={times[count / 2]:F3} p99_ms={times[count * 99 / 100]:F3} hosts_told={(double)told / count:F1}");
        }

        // Ports added in the spare block of a host: unbound (Nova's create), bound, unbound, deleted. Groups as any port.
        var added = new List<WorkloadEndpoint>();
        Measure("create unbound", i =>
        {
            var h = rng.Next(hosts);
            var port = Port(rng, $"new-{i:000}", $"h{h}", (h * blocksPerHost + blocksPerHost - 1) * 64 + 1 + i % 63);
            added.Add(port);
            return Change(ResourceKind.Endpoint, port.Id, port with { Host = null });
        });
        Measure("bind", i => Change(ResourceKind.Endpoint, added[i].Id, added[i]));
        Measure("unbind", i => Change(ResourceKind.Endpoint, added[i].Id, added[i] with { Host = null }));
        Measure("bind again", i => Change(ResourceKind.Endpoint, added[i].Id, added[i]));
        Measure("delete", i => Change(ResourceKind.Endpoint, added[i].Id, null));
        // A port in a group no rule names: only its host hears of it.
        Measure("host-local port create", i =>
        {
            var h = rng.Next(hosts);
            var port = Port(rng, $"local-{i:000}", $"h{h}", (h * blocksPerHost + blocksPerHost - 1) * 64 + 1 + i % 63)
                with { SecurityGroupIds = ValueList.Create("sg0") };
            return Change(ResourceKind.Endpoint, port.Id, port);
        });
        Measure("rule change", i => Change(ResourceKind.SecurityGroup, $"sg{i % 20}", Group(i % 20, i + 1)));
        Measure("block claim", i =>
        {
            var cidr = new IpPrefix(Address(1 << 23 | i * 64), 26);
            return Change(ResourceKind.IpBlock, $"sub|{cidr}", new IpBlock(cidr, "sub", $"h{i % hosts}"));
        });

        var sw2 = Stopwatch.StartNew();
        engine.ApplyAll(changes);
        Console.WriteLine($"  resync of everything (all stale) s={sw2.Elapsed.TotalSeconds:F3}");
        figures["load_s"] = load;
        return figures;
    }

    private static IPAddress Address(int offset) => IPAddress.Parse($"10.{offset >> 16 & 255}.{offset >> 8 & 255}.{offset & 255}");

    /// <summary>Groups 0-13 allow 5432 from one of groups 14-19 (a remote group); all allow 22.</summary>
    private static SecurityGroup Group(int g, int version)
    {
        var rules = new List<SecurityGroupRule> { new($"r{g}-ssh", RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Tcp, 22, 22, null, null) };
        if (g < 14) rules.Add(new($"r{g}-db", RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Tcp, 5432, 5432, null, $"sg{14 + g % 6}"));
        if (version > 0) rules.Add(new($"r{g}-v{version}", RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Tcp, 8000 + version % 1000, 8000 + version % 1000, null, null));
        return new SecurityGroup($"sg{g}", $"sg{g}", "p", "", rules.ToValueList());
    }

    private static WorkloadEndpoint Port(Random rng, string id, string host, int offset)
    {
        var groups = rng.Next(2) == 0 ? ValueList.Create($"sg{rng.Next(20)}") : ValueList.Create($"sg{rng.Next(10)}", $"sg{10 + rng.Next(10)}");
        return new WorkloadEndpoint(id, "net", id, "p", host, "fa:16:3e:00:00:01",
            ValueList.Create(new FixedIp("sub", Address(offset))), groups, ValueList<AllowedAddressPair>.Empty, true, "vm-" + id, "compute:nova");
    }
}
