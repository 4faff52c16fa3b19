using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using Calico.Datastore;
using Calico.Grains;
using Calico.Grains.Ipam;
using Calico.Model;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// IPAM allocation throughput on the embedded SQLite store (a real file, the provider a one-machine installation uses).
// The same allocations run twice in one process, each on a fresh database with a silo of its own: first with
// Ipam:MaxBatchSize=1 (every allocation stored by a write of its own: the baseline), then as configured by default
// (requests that arrive while a round is being stored share the next round's writes). Each caller is answered only
// after the write holding its allocation succeeded, in both runs, and each run ends by restarting its silo and
// checking that every allocation came back from the file.
//
//   dotnet run -c Release --project bench/Calico.Bench.Ipam -- [--allocations 20000] [--concurrency 500] [--hosts 4] [--dir /tmp/x]
var allocations = Arg("--allocations", 20_000);
var concurrency = Arg("--concurrency", 500);
var hosts = Arg("--hosts", 4);
var root = args.SkipWhile(a => a != "--dir").Skip(1).FirstOrDefault() ?? Directory.CreateTempSubdirectory("calico-bench-ipam-").FullName;

Console.WriteLine($"IPAM allocation throughput: {allocations} allocations by {concurrency} concurrent callers for {hosts} hosts " +
                  $"in one /16 subnet, SQLite files under {root}, {Environment.ProcessorCount} cores");
var baseline = await RunAsync("one write per allocation", Path.Combine(root, "baseline"), maxBatchSize: 1);
var batched = await RunAsync("writes grouped per round", Path.Combine(root, "batched"), maxBatchSize: null);
Console.WriteLine();
Console.WriteLine($"batched: {batched:F0} allocations/s; baseline: {baseline:F0} allocations/s; ratio {batched / baseline:F1}x");
return 0;

int Arg(string name, int fallback)
{
    var value = args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    return value is null ? fallback : int.Parse(value, CultureInfo.InvariantCulture);
}

async Task<double> RunAsync(string label, string directory, int? maxBatchSize)
{
    using var counters = new Counters();
    double rate;
    var given = new IPAddress[allocations];
    await using (var silo = await Silo.StartAsync(directory, maxBatchSize))
    {
        var grains = silo.Grains;
        await grains.GetGrain<INetworkGrain>("net-1").CreateAsync(new Network("net-1", "net-1", "bench", true, 1500, false, false));
        foreach (var (id, cidr) in new[] { ("warm-up", "10.69.0.0/16"), ("sub-1", "10.70.0.0/16") })
            await grains.GetGrain<ISubnetGrain>(id).CreateAsync(new Subnet(id, "net-1", id, "bench", IpPrefix.Parse(cidr),
                IPAddress.Parse(cidr.Replace(".0/16", ".1", StringComparison.Ordinal)),
                ValueList<IPAddress>.Empty, ValueList<HostRoute>.Empty, ValueList<AllocationPool>.Empty, true));
        // JIT, connections and the calculator's activation, outside the measurement.
        await Task.WhenAll(Enumerable.Range(0, 500).Select(i => grains.GetGrain<ISubnetIpamGrain>("warm-up").AllocateAsync($"w{i}", $"h{i % hosts}", null)));

        var ipam = grains.GetGrain<ISubnetIpamGrain>("sub-1");
        var latencies = new double[allocations];
        var next = -1;
        counters.Reset();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            await Task.Yield();
            for (var i = Interlocked.Increment(ref next); i < allocations; i = Interlocked.Increment(ref next))
            {
                var started = Stopwatch.GetTimestamp();
                given[i] = (await ipam.AllocateAsync($"p{i}", $"h{i % hosts}", null)).Address;
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }));
        clock.Stop();
        rate = allocations / clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        var (writes, rounds) = counters.Read();
        Console.WriteLine();
        Console.WriteLine($"{label} (Ipam:MaxBatchSize={maxBatchSize?.ToString(CultureInfo.InvariantCulture) ?? "default 512"}):");
        Console.WriteLine($"  {allocations} allocations in {clock.Elapsed.TotalSeconds:F2} s = {rate:F0} allocations/s");
        Console.WriteLine($"  {rounds} rounds, {writes} block writes ({(double)allocations / rounds:F1} allocations a round, " +
                          $"{(double)allocations / writes:F1} a write); latency p50 {latencies[allocations / 2]:F1} ms, " +
                          $"p99 {latencies[allocations * 99 / 100]:F1} ms");
        if (given.Distinct().Count() != allocations) throw new InvalidOperationException("an address was given twice");
    }

    // Durable: a new silo on the same file lists every allocation the callers were told about.
    await using (var again = await Silo.StartAsync(directory, maxBatchSize))
    {
        var listed = await again.Grains.GetGrain<ISubnetIpamGrain>("sub-1").ListAsync();
        var expected = given.Select((a, i) => $"p{i} {a}").Order(StringComparer.Ordinal);
        if (!listed.Select(a => $"{a.PortId} {a.Address}").Order(StringComparer.Ordinal).SequenceEqual(expected))
            throw new InvalidOperationException("the store does not hold exactly the allocations that were answered");
        Console.WriteLine($"  after a restart the file holds all {listed.Count} allocations, as answered");
    }
    return rate;
}

/// <summary>A silo with the Calico grains on a SQLite file, as AddCalicoDatastore configures it for an installation.</summary>
internal sealed class Silo : IAsyncDisposable
{
    private readonly IHost _host;

    private Silo(IHost host) => _host = host;

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public static async Task<Silo> StartAsync(string directory, int? maxBatchSize)
    {
        var settings = new Dictionary<string, string?>();
        if (maxBatchSize is { } size) settings["Ipam:MaxBatchSize"] = size.ToString(CultureInfo.InvariantCulture);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var builder = Host.CreateApplicationBuilder();
        // Errors only: Orleans warns about the workstation GC and about its watchdog when the two cores are saturated.
        builder.Logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Error);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: FreePort(), gatewayPort: FreePort());
            silo.AddCalicoDatastore(o =>
            {
                o.Provider = DatastoreProviders.Sqlite;
                o.DataDirectory = directory;
            });
            silo.Services.AddCalicoIpam(configuration);
        });
        var host = builder.Build();
        await host.StartAsync();
        return new Silo(host);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>Reads the IPAM grain's own instruments: rounds and block writes.</summary>
internal sealed class Counters : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _writes;
    private long _rounds;

    public Counters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == CalicoTelemetry.Name && instrument.Name is "calico.ipam.block_writes" or "calico.ipam.batches")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "calico.ipam.block_writes") Interlocked.Add(ref _writes, value);
            else Interlocked.Add(ref _rounds, value);
        });
        _listener.Start();
    }

    public void Reset()
    {
        Interlocked.Exchange(ref _writes, 0);
        Interlocked.Exchange(ref _rounds, 0);
    }

    public (long Writes, long Rounds) Read() => (Interlocked.Read(ref _writes), Interlocked.Read(ref _rounds));

    public void Dispose() => _listener.Dispose();
}
