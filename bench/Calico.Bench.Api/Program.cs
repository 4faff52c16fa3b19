using System.Diagnostics;
using System.Globalization;
using Calico.Bench.Api;

// Port API calls against the number of ports in the cluster. One controller silo (the real executable, embedded
// SQLite on a temporary file, as a one-machine installation runs it) serves the API; the benchmark measures, one
// call at a time, port create (with binding:host_id), show, list filtered by network_id and delete, on a network
// that holds the same 50 ports throughout (and, apart, a create without binding:host_id: an unbound port concerns no
// host, so the calculator has nothing to recompute, and what is left is the API's and the store's own cost), first with --small ports in the cluster (the baseline), then with
// --large: the extra ports are on other networks, so a call whose cost grows between the two pays for resources
// that are not its own. Each sample creates a port, shows it, lists its network and deletes it, so the count stays.
//
//   dotnet run -c Release --project bench/Calico.Bench.Api -- [--small 500] [--large 5000] [--samples 200] [--dir /tmp/x]
var small = Arg("--small", 500);
var large = Arg("--large", 5000);
var samples = Arg("--samples", 200);
const int Resident = 50;
const int OtherNetworks = 9;
const int Hosts = 4;
var root = args.SkipWhile(a => a != "--dir").Skip(1).FirstOrDefault() ?? Directory.CreateTempSubdirectory("calico-bench-api-").FullName;

Console.WriteLine($"Port API at {large} ports against {small}: {samples} samples per call, one call at a time, {Resident} ports on the " +
                  $"measured network, the rest on {OtherNetworks} others; calico-silo --role controller on SQLite under {root}, " +
                  $"{Environment.ProcessorCount} cores");
await using var silo = await ControllerProcess.StartAsync(root);
var api = new Neutron(silo);
var measured = await api.NetworkAsync("measured", "10.80.0.0/16");
var others = new List<string>();
for (var i = 0; i < OtherNetworks; i++) others.Add(await api.NetworkAsync($"other-{i}", $"10.{81 + i}.0.0/16"));

var present = 0;
for (; present < Resident; present++) await api.CreatePortAsync(measured, $"bench-h{present % Hosts}");
await FillAsync(small);
var baseline = await MeasureAsync(small);
await FillAsync(large);
var big = await MeasureAsync(large);

Console.WriteLine();
Console.WriteLine($"| ms | p50 at {small} | p99 at {small} | p50 at {large} | p99 at {large} | p50 ratio | p99 ratio |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
foreach (var op in baseline.Keys)
{
    var (b50, b99) = (Percentile(baseline[op], 0.50), Percentile(baseline[op], 0.99));
    var (l50, l99) = (Percentile(big[op], 0.50), Percentile(big[op], 0.99));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {op} | {b50:F2} | {b99:F2} | {l50:F2} | {l99:F2} | {l50 / b50:F2} | {l99 / b99:F2} |"));
}
Directory.Delete(root, recursive: true);
return 0;

async Task FillAsync(int total)
{
    var watch = Stopwatch.StartNew();
    var from = present;
    // Four at a time: a filler, not a measurement.
    using var gate = new SemaphoreSlim(4);
    await Task.WhenAll(Enumerable.Range(present, total - present).Select(async n =>
    {
        await gate.WaitAsync();
        try { await api.CreatePortAsync(others[n % others.Count], $"bench-h{n % Hosts}"); }
        finally { gate.Release(); }
    }));
    present = total;
    Console.WriteLine($"{total} ports present ({total - from} created in {watch.Elapsed.TotalSeconds:F1} s)");
}

async Task<Dictionary<string, List<double>>> MeasureAsync(int total)
{
    // JIT tiering, connections and grain activations first, outside the figures.
    for (var i = 0; i < 20; i++) await SampleAsync(null);
    var times = new Dictionary<string, List<double>>
    {
        ["port create (binding:host_id)"] = [], ["port show"] = [], ["port list ?network_id="] = [], ["port delete"] = [],
        ["port create (unbound)"] = [], ["port delete (unbound)"] = [],
    };
    for (var i = 0; i < samples; i++) await SampleAsync(times);
    Console.WriteLine($"measured at {total} ports: " + string.Join(", ", times.Select(t =>
        string.Create(CultureInfo.InvariantCulture, $"{t.Key} p50 {Percentile(t.Value, 0.5):F2} ms"))));
    return times;
}

async Task SampleAsync(Dictionary<string, List<double>>? times)
{
    var watch = Stopwatch.StartNew();
    var id = await api.CreatePortAsync(measured, "bench-h0");
    Record(times, "port create (binding:host_id)", watch);
    watch.Restart();
    await api.ShowPortAsync(id);
    Record(times, "port show", watch);
    watch.Restart();
    var listed = await api.ListPortsAsync(measured);
    Record(times, "port list ?network_id=", watch);
    if (listed != Resident + 1) throw new InvalidOperationException($"the measured network lists {listed} ports, not {Resident + 1}");
    watch.Restart();
    await api.DeletePortAsync(id);
    Record(times, "port delete", watch);
    watch.Restart();
    id = await api.CreatePortAsync(measured, null);
    Record(times, "port create (unbound)", watch);
    watch.Restart();
    await api.DeletePortAsync(id);
    Record(times, "port delete (unbound)", watch);
}

static void Record(Dictionary<string, List<double>>? times, string op, Stopwatch watch)
{
    if (times is not null) times[op].Add(watch.Elapsed.TotalMilliseconds);
}

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}

int Arg(string name, int fallback)
{
    var value = args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    return value is null ? fallback : int.Parse(value, CultureInfo.InvariantCulture);
}
