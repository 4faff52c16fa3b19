using Calico.Bench.Nftables;
using System.Diagnostics;
using System.Globalization;
using Calico.Bench.Policy;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Dataplane.Linux.Policy;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Resources;

// Runs inside network namespaces it creates (and always deletes); needs root. Prints p50/max over TRIES changes,
// each through the whole policy path: incremental compile, diff, one kernel transaction.
const int Tries = 50;
const int Warmup = 5;

if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("Run as root: the benchmark creates network namespaces (it touches nothing outside them).");
    return 2;
}

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Contains("--compile-only")) return CompileOnly();
var large = new Cluster(Endpoints: 500, Groups: 50, Members: 100_000);
var small = new Cluster(Endpoints: 50, Groups: 5, Members: 10_000);
Console.WriteLine($"policy benchmark — kernel {Environment.OSVersion.Version}, {BenchNamespace.Run("nft", "--version").Trim()}, " +
                  $"{Environment.ProcessorCount} CPUs, {Tries} tries after {Warmup} warm-up");
Console.WriteLine($"large: {large.Endpoints} local endpoints, {large.Groups} groups, {large.Members:N0} remote-group addresses; " +
                  $"small: {small.Endpoints}, {small.Groups}, {small.Members:N0}. One try = the change (timed: compile, diff, commit), then its undo (untimed).");
Console.WriteLine();

using var nsLarge = BenchNamespace.Create("cal-bp");
using var nsSmall = BenchNamespace.Create("cal-bp");
var atLarge = Run(nsLarge, large);
var atSmall = Run(nsSmall, small);

Console.WriteLine("| change                                                  | large p50 | large max | small p50 | small max | ratio p50 |");
Console.WriteLine("|---------------------------------------------------------|----------:|----------:|----------:|----------:|----------:|");
foreach (var (what, stats) in atLarge.Changes)
{
    var other = atSmall.Changes.Single(c => c.What == what).Stats;
    Console.WriteLine($"| {what,-55} | {stats.P50,9:F3} | {stats.Max,9:F3} | {other.P50,9:F3} | {other.Max,9:F3} | {stats.P50 / other.P50,9:F2} |");
}
Console.WriteLine();
Console.WriteLine($"full load, large: compile {atLarge.Compile:F0} ms, commit {atLarge.Load:F0} ms ({atLarge.Operations:N0} operations in one transaction); " +
                  $"small: compile {atSmall.Compile:F0} ms, commit {atSmall.Load:F0} ms");
Console.WriteLine($"table, large: {atLarge.Table}; small: {atSmall.Table}");
Console.WriteLine($"tables in the benchmark namespace at the end: {nsLarge.Nft("list", "tables").Trim().Replace('\n', ' ')}");
return 0;

static Result Run(BenchNamespace ns, Cluster cluster)
{
    using var handle = ns.Open();
    using var kernel = NftablesKernel.Open(handle);
    var policy = new WorkloadPolicy(kernel, PolicySettings.Default);
    var items = cluster.Items().ToDictionary(i => i.Key);

    var watch = Stopwatch.StartNew();
    policy.Compiler.Reset(items.Values);
    var compile = watch.Elapsed.TotalMilliseconds;
    watch.Restart();
    var loaded = policy.Apply(items);
    var load = watch.Elapsed.TotalMilliseconds;

    var changes = new List<(string, Stats)>
    {
        ("add one remote-group member (native element batch)",
            Measure(i => cluster.MemberChange(items, cluster.Members + 1_000 + i, true), i => cluster.MemberChange(items, cluster.Members + 1_000 + i, false))),
        ("remove one remote-group member",
            Measure(i => cluster.MemberChange(items, i * 7, false), i => cluster.MemberChange(items, i * 7, true))),
        ("add one endpoint, its groups present (elements only)",
            Measure(i => Set(cluster.Endpoint(cluster.Endpoints + 100 + i)), i => Remove(cluster.Endpoint(cluster.Endpoints + 100 + i)))),
        ("remove one endpoint",
            Measure(i => Remove(cluster.Endpoint(i)), i => Set(cluster.Endpoint(i)))),
        ("add one floating IP",
            Measure(i => Set(Floating(cluster, i)), i => Remove(Floating(cluster, i)))),
        ("add one endpoint with a new group combination (2 chains)",
            Measure(i => Set(NewProfile(cluster, i)), i => Remove(NewProfile(cluster, i)))),
        ("add one rule to a group (its chain rewritten)",
            Measure(i => Set(WithRule(cluster, i)), _ => Set(cluster.GroupItem(0)))),
    };
    return new Result(compile, load, loaded.Operations, policy.Compiler.Table.ToString(), changes);

    Stats Measure(Func<int, DesiredChange> change, Func<int, DesiredChange> undo)
    {
        var samples = new List<double>();
        for (var i = 0; i < Warmup + Tries; i++)
        {
            var elapsed = Time(change(i));
            Time(undo(i));
            if (i >= Warmup) samples.Add(elapsed);
        }
        return Stats.Of(samples);
    }

    double Time(DesiredChange change)
    {
        DesiredDiff.ApplyTo(items, [change]);
        var started = Stopwatch.GetTimestamp();
        policy.Apply(items, [change], isSnapshot: false);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }
}

// The compiler and the planner alone (no kernel): what this project's code costs per change, at both sizes.
static int CompileOnly()
{
    foreach (var cluster in new[] { new Cluster(500, 50, 100_000), new Cluster(50, 5, 10_000) })
    {
        var compiler = new PolicyCompiler();
        var watch = Stopwatch.StartNew();
        var held = cluster.Items().ToDictionary(i => i.Key);
        compiler.Reset(held.Values);
        Console.WriteLine($"{cluster}: compiled from scratch in {watch.ElapsedMilliseconds} ms");
        foreach (var (what, change) in new (string, Func<int, bool, DesiredChange>)[]
                 {
                     ("one endpoint", (i, add) => add ? Set(cluster.Endpoint(cluster.Endpoints + 100 + i)) : Remove(cluster.Endpoint(cluster.Endpoints + 100 + i))),
                     ("one member", (i, add) => cluster.MemberChange(held, cluster.Members + 1_000 + i, add)),
                 })
        {
            var samples = new List<double>();
            for (var i = 0; i < 200; i++)
            {
                var before = compiler.Table;
                var add = change(i, true);
                DesiredDiff.ApplyTo(held, [add]);
                var started = Stopwatch.GetTimestamp();
                compiler.Apply(add);
                NftDiff.Plan(compiler.Table, before);
                samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                var undo = change(i, false);
                DesiredDiff.ApplyTo(held, [undo]);
                compiler.Apply(undo);
            }
            Console.WriteLine($"  add {what}: compile + plan p50 {Stats.Of(samples).P50:F3} ms, max {Stats.Of(samples).Max:F3} ms");
        }
    }
    return 0;
}

static DesiredChange Set(DesiredItem item) => new(item.Key, item);

static DesiredChange Remove(DesiredItem item) => new(item.Key, null);

static FloatingNatItem Floating(Cluster cluster, int i) =>
    new(new System.Net.IPAddress([172, 25, (byte)(i >> 8), (byte)i]), new System.Net.IPAddress([10, 65, 0, 1]), Cluster.Interface(1), $"fip-bench-{i}");

static WorkloadInterfaceItem NewProfile(Cluster cluster, int i) => cluster.Endpoint(cluster.Endpoints + 500 + i) with
{
    SecurityGroupIds = ValueList.Create(Cluster.Group(0), Cluster.Group(1 % cluster.Groups), Cluster.Group(2 % cluster.Groups)),
};

static SecurityGroupPolicyItem WithRule(Cluster cluster, int i)
{
    var group = cluster.GroupItem(0);
    return group with
    {
        Rules = ValueList.Create([.. group.Rules, new SecurityGroupRule($"extra-{i}", RuleDirection.Ingress, EtherType.IPv4, 6, 1000 + i, 1000 + i, null, null)]),
    };
}

internal sealed record Result(double Compile, double Load, int Operations, string Table, List<(string What, Stats Stats)> Changes);

internal readonly record struct Stats(double P50, double Max)
{
    public static Stats Of(List<double> samples)
    {
        samples.Sort();
        return new Stats(samples[samples.Count / 2], samples[^1]);
    }
}
