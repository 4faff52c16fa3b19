using System.Diagnostics;
using System.Globalization;
using System.Net;
using Calico.Bench.Nftables;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;

// Runs inside network namespaces it creates (and always deletes); needs root. Prints p50/max over Tries changes.
// Every variant has a namespace of its own (so that one variant's commits never make another's reconciler read
// back), and the variants take turns within each try, so that background load hits them all alike.
const int Tries = 50;
const int Warmup = 5;

if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("Run as root: the benchmark creates network namespaces (it touches nothing outside them).");
    return 2;
}

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Console.WriteLine($"nftables reconciler benchmark — kernel {Environment.OSVersion.Version}, {BenchNamespace.Run("nft", "--version").Trim()}, " +
                  $"{Environment.ProcessorCount} CPUs, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {Tries} tries after {Warmup} warm-up");
Console.WriteLine("one endpoint = 2 chains (6 rules), 1 address set with its element, 2 verdict-map elements; one try = the change, then its undo (untimed)");
Console.WriteLine();

var namespaces = new List<BenchNamespace>();
var kernels = new List<NftablesKernel>();
try
{
    var at500 = Endpoints.Base().With(500);
    var at50 = Endpoints.Base().With(50);
    var extra = new NftElement(new NftAddress(IPAddress.Parse("10.66.0.1")));
    var set = Endpoints.AddressSet(7);

    var lib500 = Reconciler(at500, nativeElements: true, out var loadMs);
    Console.WriteLine($"full load of 500 endpoints through the reconciler: {loadMs:F1} ms (one transaction)");
    var lib50 = Reconciler(at50, nativeElements: true, out _);
    var viaNft500 = Reconciler(at500, nativeElements: false, out _);
    var raw = Kernel(nativeElements: true);
    raw.Context.Run(NftDiff.Plan(at500, null).Transaction.Render());
    var cli = Namespace();
    var script = Path.GetTempFileName();
    File.WriteAllText(script, NftDiff.Plan(at500, null).Transaction.Render());
    Console.WriteLine($"full load of 500 endpoints through `nft -f`:        {Time(() => cli.NftFile(script)):F1} ms");
    // Another program in the same namespace commits to its own table before each change (untimed): with change
    // notifications the reconciler knows our table was not touched; without them it reads our table back.
    var (watching, watchingOther) = WithNeighbour(at500, watchChanges: true);
    var (blind, blindOther) = WithNeighbour(at500, watchChanges: false);
    Console.WriteLine();

    var results = Measure(
    [
        new("add one endpoint: reconciler (libnftables in process)",
            i => Time(() => lib500.Apply(at500.WithEndpoint(10_000 + i))), _ => lib500.Apply(at500)),
        new("add one endpoint: `ip netns exec … nft -f` (process spawn)",
            i => { Write(script, at500.WithEndpoint(20_000 + i), at500); return Time(() => cli.NftFile(script)); },
            i => { Write(script, at500, at500.WithEndpoint(20_000 + i)); cli.NftFile(script); }),
        new("add one endpoint: libnftables alone, same script",
            i => Time(() => raw.Context.Run(NftDiff.Plan(at500.WithEndpoint(30_000 + i), at500).Transaction.Render())),
            i => raw.Context.Run(NftDiff.Plan(at500, at500.WithEndpoint(30_000 + i)).Transaction.Render())),
        new("add one endpoint: reconciler, 50 endpoints present",
            i => Time(() => lib50.Apply(at50.WithEndpoint(10_000 + i))), _ => lib50.Apply(at50)),
        new("add one set element: reconciler (native element batch)",
            _ => Time(() => lib500.Apply(at500.WithElement(set, extra))), _ => lib500.Apply(at500)),
        new("add one set element: reconciler, 50 endpoints present",
            _ => Time(() => lib50.Apply(at50.WithElement(set, extra))), _ => lib50.Apply(at50)),
        new("add one set element: reconciler, through libnftables",
            _ => Time(() => viaNft500.Apply(at500.WithElement(set, extra))), _ => viaNft500.Apply(at500)),
        new("nothing changed: reconciler apply (generation check only)",
            _ => Time(() => lib500.Apply(at500)), _ => { }),
        new("after another table's commit: add one endpoint, notified",
            i => { Neighbour(watchingOther, i); return Time(() => watching.Apply(at500.WithEndpoint(40_000 + i))); }, _ => watching.Apply(at500)),
        new("after another table's commit: add one endpoint, no monitor",
            i => { Neighbour(blindOther, i); return Time(() => blind.Apply(at500.WithEndpoint(40_000 + i))); }, _ => blind.Apply(at500)),
        new("after another table's commit: add one element, notified",
            i => { Neighbour(watchingOther, i); return Time(() => watching.Apply(at500.WithElement(set, extra))); }, _ => watching.Apply(at500)),
        new("after another table's commit: add one element, no monitor",
            i => { Neighbour(blindOther, i); return Time(() => blind.Apply(at500.WithElement(set, extra))); }, _ => blind.Apply(at500)),
    ]);
    File.Delete(script);

    Console.WriteLine("| change (500 endpoints present unless stated)               |  p50 ms |  max ms |");
    Console.WriteLine("|-------------------------------------------------------------|--------:|--------:|");
    foreach (var (name, stats) in results) Console.WriteLine($"| {name,-59} | {stats.P50,7:F2} | {stats.Max,7:F2} |");
    var s = results.Select(r => r.Stats).ToArray();
    Console.WriteLine();
    Console.WriteLine($"nft -f / reconciler, one endpoint (p50):     {s[1].P50 / s[0].P50:F1}x");
    Console.WriteLine($"500 / 50 endpoints present, one endpoint:    {s[0].P50 / s[3].P50:F2} (p50), {s[0].Max / s[3].Max:F2} (max)");
    Console.WriteLine($"500 / 50 endpoints present, one element:     {s[4].P50 / s[5].P50:F2} (p50), {s[4].Max / s[5].Max:F2} (max)");
    Console.WriteLine($"after another table's commit, one endpoint, without / with notifications (p50): {s[9].P50 / s[8].P50:F1}x; " +
                      $"one element: {s[11].P50 / s[10].P50:F1}x; reads of our table: {Reads(blind)} without, {Reads(watching)} with");
    Console.WriteLine($"adopting the `nft -f` table with a new reconciler: {new NftablesReconciler(Kernel(true, cli)).Apply(at500).Operations} operations");
}
finally
{
    foreach (var kernel in kernels) kernel.Dispose();
    foreach (var ns in namespaces) ns.Dispose();
    Console.WriteLine($"{namespaces.Count} namespaces deleted");
}
return 0;

BenchNamespace Namespace()
{
    var ns = BenchNamespace.Create();
    namespaces.Add(ns);
    return ns;
}

NftablesKernel Kernel(bool nativeElements, BenchNamespace? ns = null)
{
    using var handle = (ns ?? Namespace()).Open();
    var kernel = NftablesKernel.Open(handle, nativeElements);
    kernels.Add(kernel);
    return kernel;
}

NftablesReconciler Reconciler(NftTable table, bool nativeElements, out double loadMs)
{
    var reconciler = new NftablesReconciler(Kernel(nativeElements));
    loadMs = Time(() => reconciler.Apply(table));
    return reconciler;
}

// A reconciler at `table` in a namespace of its own, and another program's context there with a table of its own.
(NftablesReconciler Reconciler, NftablesKernel Other) WithNeighbour(NftTable table, bool watchChanges)
{
    var ns = Namespace();
    using var handle = ns.Open();
    var kernel = NftablesKernel.Open(handle, watchChanges: watchChanges);
    var other = NftablesKernel.Open(handle, watchChanges: false);
    kernels.Add(kernel);
    kernels.Add(other);
    other.Context.Run("add table inet other");
    var reconciler = new NftablesReconciler(kernel);
    reconciler.Apply(table);
    return (reconciler, other);
}

// One transaction of the other program: a chain more in its table.
static void Neighbour(NftablesKernel other, int i) => other.Context.Run($"add chain inet other c{i}");

static string Reads(NftablesReconciler reconciler) => string.Join(", ", reconciler.Reads.Select(r => $"{r.Value} {r.Key}"));

// Each try runs every variant's change (timed) then its undo (untimed), variants taking turns.
static List<(string Name, Stats Stats)> Measure(Variant[] variants)
{
    var samples = variants.Select(_ => new List<double>()).ToArray();
    for (var i = 0; i < Warmup + Tries; i++)
    {
        for (var v = 0; v < variants.Length; v++)
        {
            var elapsed = variants[v].Change(i);
            variants[v].Undo(i);
            if (i >= Warmup) samples[v].Add(elapsed);
        }
    }
    return [.. variants.Select((v, index) => (v.Name, Stats.Of(samples[index])))];
}

static double Time(Action action)
{
    var watch = Stopwatch.StartNew();
    action();
    return watch.Elapsed.TotalMilliseconds;
}

// The script the reconciler would commit to go from `from` to `to`, for `nft -f`; written before timing starts.
static void Write(string path, NftTable to, NftTable from) => File.WriteAllText(path, NftDiff.Plan(to, from).Transaction.Render());

internal sealed record Variant(string Name, Func<int, double> Change, Action<int> Undo);

internal readonly record struct Stats(double P50, double Max)
{
    public static Stats Of(List<double> samples)
    {
        samples.Sort();
        return new Stats(samples[samples.Count / 2], samples[^1]);
    }
}
