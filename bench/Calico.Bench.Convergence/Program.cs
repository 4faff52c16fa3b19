using System.Globalization;
using Calico.Bench.Convergence;
using Calico.Topology;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;

// Convergence of the whole system (issue 7, point 6): the real calico-silo processes — a controller and compute hosts,
// each in a network namespace of its own on a fabric bridge (tests/Calico.Topology) — and, for each of N ports spread
// round-robin over the hosts, the time from the API call that binds the port to (a) the API saying ACTIVE and (b) every
// other host routing its address via the port's host. One port at a time for latency, then all of them at once.
// Each figure is printed beside a baseline measured in the same run, with their ratio. Needs root; everything it
// creates is in namespaces named cal-bench-XXXXXX-*, removed at the end, on failure and on Ctrl-C.
//
//   dotnet run -c Release --project bench/Calico.Bench.Convergence -- [--ports 200] [--hosts 3] [--poll-ms 5]
//       [--settle-ms 50] [--warmup-rounds 10] [--no-burst] [--debug-logs] [--keep-logs DIR] [--samples FILE.csv]
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (!Settings.TryParse(args, out var settings, out var problem))
{
    Console.Error.WriteLine($"convergence: {problem}");
    Console.Error.WriteLine("usage: [--ports 200] [--hosts 3] [--poll-ms 5] [--settle-ms 50] [--warmup-rounds 10] [--no-burst] [--debug-logs] [--keep-logs DIR] [--samples FILE.csv]");
    return 2;
}
if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("Run as root: the benchmark creates network namespaces (it touches nothing outside them).");
    return 2;
}

using var stop = new StopSignals();
var prefix = RunPrefix.New(RunPrefix.BenchKind);
try
{
    await RunAsync(settings, prefix, stop.Token);
    return 0;
}
catch (OperationCanceledException) when (stop.IsStopRequested)
{
    Console.Error.WriteLine("convergence: interrupted");
    return 130;
}
catch (Exception e)
{
    Console.Error.WriteLine($"convergence: failed: {e}");
    return 1;
}
finally
{
    var left = Netns.List().Where(prefix.Owns).ToList();
    Console.WriteLine(left.Count == 0
        ? $"cleanup: every namespace of {prefix} is removed ({Netns.List().Count} named namespaces on the machine)"
        : $"cleanup: FAILED, still there: {string.Join(' ', left)} (scripts/topology.sh down removes them)");
}

static async Task RunAsync(Settings settings, RunPrefix prefix, CancellationToken cancellationToken)
{
    Console.WriteLine($"convergence benchmark: {settings.Ports} ports on {settings.Hosts} hosts, {Environment.ProcessorCount} CPUs, " +
                      $"kernel {Environment.OSVersion.Version}, load average {LoadAverage()}");
    await using var topology = await NamespaceTopology.StartAsync(new TopologyOptions
    {
        Prefix = prefix,
        Kind = RunPrefix.BenchKind,
        Hosts = settings.Hosts,
        // A deployment's intervals (the silo's defaults), not the tests' short ones.
        ReportInterval = TimeSpan.FromSeconds(10),
        DeadAfter = TimeSpan.FromSeconds(40),
        RouteResyncInterval = TimeSpan.FromSeconds(90),
        DebugLogs = settings.DebugLogs,
        KeepLogsIn = settings.KeepLogs,
        Log = line => Console.Error.WriteLine("topology: " + line),
    }, cancellationToken);
    var seed = await SeedNetwork.CreateAsync(topology, [new("icmp"), new("tcp", 1, 65535), new("udp", 1, 65535)], "bench");
    var tables = new Dictionary<ComputeHost, RouteTable>();
    try
    {
        foreach (var host in topology.Hosts) tables[host] = await RouteTable.StartAsync(host.Namespace);
        var probe = new BindProbe(topology.Api, tables, settings.PollInterval, settings.Deadline);
        Console.WriteLine($"topology {prefix} ready (policy on, route resync every 90 s); warming up: one port per host bound and unbound " +
                          $"{settings.WarmUpRounds} times ...");
        await WarmUpAsync(topology, seed, probe, settings, cancellationToken);

        var samples = new List<BindSample>();
        for (var i = 0; i < settings.Ports; i++)
        {
            var (workload, create) = await Workload.CreateAsync(topology, seed, i + 1, topology.Hosts[i % topology.Hosts.Count], cancellationToken);
            await Task.Delay(settings.Settle, cancellationToken);
            samples.Add(await probe.BindAsync(workload, create, cancellationToken));
            if ((i + 1) % 50 == 0) Console.WriteLine($"  {i + 1} ports bound");
        }
        Console.WriteLine();
        Report.Sequential(samples, settings);
        if (settings.DebugLogs) Breakdown.Print(samples, topology);
        if (settings.SamplesFile is { } file) Report.WriteSamples(file, samples);

        if (settings.Burst)
        {
            var burst = new Burst(topology.Api, probe, settings.PollInterval, settings.Deadline);
            var workloads = samples.Select(s => s.Workload).ToList();
            await burst.UnbindAllAsync(workloads, cancellationToken);
            Report.Burst(await burst.BindAllAsync(workloads, cancellationToken), samples);
        }
        Console.WriteLine($"load average at the end: {LoadAverage()}; silo logs: {(settings.KeepLogs is null ? "removed with the run (--keep-logs DIR keeps them)" : Path.Combine(settings.KeepLogs, prefix.Stem))}");
    }
    finally
    {
        foreach (var table in tables.Values) await table.DisposeAsync();
    }
}

// JIT (tiered: methods are recompiled after some thirty calls), HTTP connections and the silos' code paths, outside
// the measurement: one port per host bound and unbound a few rounds, then deleted.
static async Task WarmUpAsync(NamespaceTopology topology, SeedNetwork seed, BindProbe probe, Settings settings, CancellationToken cancellationToken)
{
    var warm = new List<Workload>();
    for (var i = 0; i < topology.Hosts.Count; i++)
        warm.Add((await Workload.CreateAsync(topology, seed, 1001 + i, topology.Hosts[i], cancellationToken)).Workload);
    await Task.Delay(settings.Settle, cancellationToken);
    for (var round = 0; round < settings.WarmUpRounds; round++)
    {
        foreach (var workload in warm) await probe.BindAsync(workload, 0, cancellationToken);
        foreach (var workload in warm) await topology.Api.BindPortAsync(workload.PortId, "", cancellationToken);
        await probe.UntilUnroutedAsync(warm, settings.Deadline);
    }
    foreach (var workload in warm) await topology.Api.DeleteAsync("ports", workload.PortId, cancellationToken);
    // Unplugged only once no host routes them: the kernel drops a deleted tap's routes without announcing it.
    await probe.UntilUnroutedAsync(warm, settings.Deadline);
    foreach (var workload in warm) topology.RemoveVm(workload.Vm);
}

static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
