using System.Diagnostics;
using System.Globalization;
using Calico.Bench.Nftables;
using Calico.Dataplane.Linux.Nftables;

// Runs inside network namespaces it creates (and always deletes); needs root. Prints p50/max over TRIES changes.
const int Tries = 50;
const int Warmup = 5;

if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("Run as root: the benchmark creates network namespaces (it touches nothing outside them).");
    return 2;
}

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Console.WriteLine($"nftables reconciler benchmark — kernel {Environment.OSVersion.Version}, {BenchNamespace.Run("nft", "--version").Trim()}, " +
                  $"{Environment.ProcessorCount} CPUs, {Tries} tries after {Warmup} warm-up");
Console.WriteLine("one endpoint = 2 chains (6 rules), 1 address set with its element, 2 verdict-map elements; one try = the change, then its undo (untimed)");
Console.WriteLine();

using (var ns500 = BenchNamespace.Create())
using (var ns50 = BenchNamespace.Create())
using (var nsCli = BenchNamespace.Create())
{
    var at500 = Endpoints.Base().With(500);
    var at50 = Endpoints.Base().With(50);

    using var kernel500 = Open(ns500);
    using var kernel50 = Open(ns50);
    var reconciler500 = new NftablesReconciler(kernel500);
    var reconciler50 = new NftablesReconciler(kernel50);

    var load = Stopwatch.StartNew();
    var loaded = reconciler500.Apply(at500);
    Console.WriteLine($"full load of 500 endpoints through the reconciler: {load.Elapsed.TotalMilliseconds:F1} ms ({loaded.Operations} operations, one transaction)");
    reconciler50.Apply(at50);

    var fullScript = Path.GetTempFileName();
    File.WriteAllText(fullScript, NftDiff.Plan(at500, null).Transaction.Render());
    load.Restart();
    nsCli.NftFile(fullScript);
    Console.WriteLine($"full load of 500 endpoints through `nft -f`:        {load.Elapsed.TotalMilliseconds:F1} ms");
    File.Delete(fullScript);
    Console.WriteLine();

    // One endpoint added (and removed again, untimed, so the size stays the same for every try).
    var lib500 = Measure(i => Time(() => reconciler500.Apply(at500.WithEndpoint(10_000 + i))), _ => reconciler500.Apply(at500));
    var lib50 = Measure(i => Time(() => reconciler50.Apply(at50.WithEndpoint(10_000 + i))), _ => reconciler50.Apply(at50));
    var cli500 = MeasureCli(nsCli, at500);
    // Data only: one address added to an endpoint's set.
    var extra = new NftAddress(new System.Net.IPAddress([10, 66, 0, 1]));
    var withExtra500 = at500.WithElement(Endpoints.AddressSet(7), new NftElement(extra));
    var elem500 = Measure(_ => Time(() => reconciler500.Apply(withExtra500)), _ => reconciler500.Apply(at500));
    var withExtra50 = at50.WithElement(Endpoints.AddressSet(7), new NftElement(extra));
    var elem50 = Measure(_ => Time(() => reconciler50.Apply(withExtra50)), _ => reconciler50.Apply(at50));
    // The same script through libnftables without the reconciler (no generation checks, no diff): its overhead.
    var raw500 = MeasureRaw(kernel500.Context, at500);
    // The element change again, forced through libnftables (no native element batch), on the `nft -f` namespace,
    // which holds the same 500 endpoints: a new reconciler adopts it without writing.
    using var kernelCli = Open(nsCli, useNativeElements: false);
    var reconcilerCli = new NftablesReconciler(kernelCli);
    var adopted = reconcilerCli.Apply(at500);
    var elemViaNft500 = Measure(_ => Time(() => reconcilerCli.Apply(withExtra500)), _ => reconcilerCli.Apply(at500));

    Console.WriteLine("| change (500 endpoints present unless stated)            |  p50 ms |  max ms |");
    Console.WriteLine("|----------------------------------------------------------|--------:|--------:|");
    Row("add one endpoint: reconciler (libnftables in process)", lib500);
    Row("add one endpoint: `ip netns exec … nft -f` (process spawn)", cli500);
    Row("add one endpoint: libnftables alone, same script", raw500);
    Row("add one endpoint: reconciler, 50 endpoints present", lib50);
    Row("add one set element: reconciler (native element batch)", elem500);
    Row("add one set element: reconciler, 50 endpoints present", elem50);
    Row("add one set element: reconciler, through libnftables", elemViaNft500);
    Console.WriteLine();
    Console.WriteLine($"adopting the `nft -f` table with a new reconciler: {adopted.Operations} operations");
    Console.WriteLine($"nft -f / reconciler, one endpoint (p50):         {cli500.P50 / lib500.P50:F1}x");
    Console.WriteLine($"reconciler 500 / 50 endpoints, one endpoint:     {lib500.P50 / lib50.P50:F2} (p50), {lib500.Max / lib50.Max:F2} (max)");
    Console.WriteLine($"reconciler 500 / 50 endpoints, one element:      {elem500.P50 / elem50.P50:F2} (p50), {elem500.Max / elem50.Max:F2} (max)");

    var tables = ns500.Nft("list", "tables").Trim();
    Console.WriteLine();
    Console.WriteLine($"tables in the benchmark namespace at the end: {tables.Replace('\n', ' ')}");
}
Console.WriteLine("namespaces deleted");
return 0;

static NftablesKernel Open(BenchNamespace ns, bool useNativeElements = true)
{
    using var handle = ns.Open();
    return NftablesKernel.Open(handle, useNativeElements);
}

// Runs change(i) then undo(i) for each try; only the part that `change` reports is counted (ms).
static Stats Measure(Func<int, double> change, Action<int> undo)
{
    var samples = new List<double>();
    for (var i = 0; i < Warmup + Tries; i++)
    {
        var elapsed = change(i);
        undo(i);
        if (i >= Warmup) samples.Add(elapsed);
    }
    return Stats.Of(samples);
}

static double Time(Action action)
{
    var watch = Stopwatch.StartNew();
    action();
    return watch.Elapsed.TotalMilliseconds;
}

// The same one-endpoint scripts the reconciler would commit, run as `nft -f` processes; writing the files is not timed.
static Stats MeasureCli(BenchNamespace ns, NftTable present)
{
    var add = Path.GetTempFileName();
    var remove = Path.GetTempFileName();
    try
    {
        return Measure(
            i =>
            {
                var with = present.WithEndpoint(20_000 + i);
                File.WriteAllText(add, NftDiff.Plan(with, present).Transaction.Render());
                File.WriteAllText(remove, NftDiff.Plan(present, with).Transaction.Render());
                return Time(() => ns.NftFile(add));
            },
            _ => ns.NftFile(remove));
    }
    finally
    {
        File.Delete(add);
        File.Delete(remove);
    }
}

// The same scripts through the reconciler's libnftables context directly: no generation checks, no diff.
static Stats MeasureRaw(NftablesContext context, NftTable present)
{
    string? remove = null;
    return Measure(
        i =>
        {
            var with = present.WithEndpoint(30_000 + i);
            var add = NftDiff.Plan(with, present).Transaction.Render();
            remove = NftDiff.Plan(present, with).Transaction.Render();
            return Time(() => context.Run(add));
        },
        _ => context.Run(remove!));
}

static void Row(string what, Stats stats) => Console.WriteLine($"| {what,-56} | {stats.P50,7:F2} | {stats.Max,7:F2} |");

internal readonly record struct Stats(double P50, double Max)
{
    public static Stats Of(List<double> samples)
    {
        samples.Sort();
        return new Stats(samples[samples.Count / 2], samples[^1]);
    }
}

