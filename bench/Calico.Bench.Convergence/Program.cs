using System.Globalization;
using Calico.Bench.Convergence;
using Calico.Topology;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;

// Convergence of the whole system (issue 7, point 6): the real calico-silo processes — a controller and compute hosts,
// each in a network namespace of its own on a fabric bridge (tests/Calico.Topology) — and, for each of N ports spread
// round-robin over the hosts, the time from the API call that binds the port to (a) the API saying ACTIVE and (b) every
// other host routing its address via the port's host. Three phases: one port at a time in Nova's order (bind, then
// plug the VM as soon as the call returns; also plug -> ACTIVE); the same ports unbound and bound again one at a time
// with their taps already there; then all of them unbound and bound at once.
// Each figure is printed beside a baseline measured in the same run, with their ratio. Needs root; everything it
// creates is in namespaces named cal-bench-XXXXXX-*, removed at the end, on failure and on Ctrl-C.
//
//   dotnet run -c Release --project bench/Calico.Bench.Convergence -- [--ports 200] [--hosts 3] [--poll-ms 5]
//       [--settle-ms 50] [--warmup-rounds 10] [--no-burst] [--debug-logs] [--keep-logs DIR] [--samples FILE.csv]
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var parsed = Settings.TryParse(args, out var settings, out var problem);
if (BenchStart.Refusal("convergence", parsed ? null : problem,
        "[--ports 200] [--hosts 3] [--poll-ms 5] [--settle-ms 50] [--warmup-rounds 10] [--no-burst] [--debug-logs] [--keep-logs DIR] [--samples FILE.csv]") is { } refused)
    return refused;

var prefix = RunPrefix.New(RunPrefix.BenchKind);
return await BenchRun.RunAsync("convergence", token => RunAsync(settings, prefix, token), prefix.Owns);

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
        var probe = new BindProbe(topology, tables, settings.PollInterval, settings.Deadline);
        Console.WriteLine($"topology {prefix} ready (policy on, route resync every 90 s); warming up: one port per host, {settings.WarmUpRounds} rounds " +
                          "of bind then plug, unbind, bind with the tap there, unbind, unplug ...");
        await WarmUpAsync(topology, seed, probe, settings, cancellationToken);

        // Nova's order: each port created unbound and its VM defined, then bound, and its VM plugged as soon as the
        // bind call returns.
        const string Nova = "Nova's order (bind, then plug)";
        Console.WriteLine($"{Nova}: {settings.Ports} ports ...");
        var nova = await OneAtATimeAsync(settings.Ports, i => Workload.CreateAsync(topology, seed, i + 1, topology.Hosts[i % topology.Hosts.Count], cancellationToken),
            PlugOrder.AfterBind, probe, settings, cancellationToken);
        Console.WriteLine();
        Report.Sequential(Nova, nova, settings);
        var counts = probe.RemoteRouteCounts();
        Console.WriteLine($"After {nova.Count} ports bound in Nova's order the hosts hold {counts.Sum(c => c.HostRoutes)} /32 routes via another host " +
                          $"({string.Join(", ", counts.Select(c => $"{c.Host} {c.HostRoutes}"))}) and {counts.Sum(c => c.BlockRoutes)} block routes via another host " +
                          "(a first bind moves the address into the host's block: no /32 unless a host is at its block limit).");
        Console.WriteLine();
        if (settings.DebugLogs) Breakdown.Print(Nova, nova, topology);

        // Tap first: the same ports unbound (their taps stay), then bound again one at a time, so every tap is there
        // before its bind.
        const string TapFirst = "Tap first (plugged, then bound)";
        var workloads = nova.Select(s => s.Workload).ToList();
        Console.WriteLine($"{TapFirst}: the same {workloads.Count} ports unbound, then bound again ...");
        await probe.UnbindAllAsync(workloads, cancellationToken);
        var tapFirst = await OneAtATimeAsync(workloads.Count, i => Task.FromResult(workloads[i]), PlugOrder.Before, probe, settings, cancellationToken);
        Console.WriteLine();
        Report.Sequential(TapFirst, tapFirst, settings);
        if (settings.DebugLogs) Breakdown.Print(TapFirst, tapFirst, topology);
        if (settings.SamplesFile is { } file) Report.WriteSamples(file, [("nova", nova), ("tap-first", tapFirst)]);

        if (settings.Burst)
        {
            var burst = new Burst(topology.Api, probe, settings.PollInterval, settings.Deadline);
            await probe.UnbindAllAsync(workloads, cancellationToken);
            Report.Burst(await burst.BindAllAsync(workloads, cancellationToken), tapFirst);
        }
        Console.WriteLine($"load average at the end: {LoadAverage()}; silo logs: {(settings.KeepLogs is null ? "removed with the run (--keep-logs DIR keeps them)" : Path.Combine(settings.KeepLogs, prefix.Stem))}");
    }
    finally
    {
        foreach (var table in tables.Values) await table.DisposeAsync();
    }
}

// One bind after another, each after a pause that lets what the previous one set off settle.
static async Task<List<BindSample>> OneAtATimeAsync(int count, Func<int, Task<Workload>> workload, PlugOrder order, BindProbe probe, Settings settings,
    CancellationToken cancellationToken)
{
    var samples = new List<BindSample>();
    for (var i = 0; i < count; i++)
    {
        var next = await workload(i);
        await Task.Delay(settings.Settle, cancellationToken);
        samples.Add(await probe.BindAsync(next, order, cancellationToken));
        if ((i + 1) % 50 == 0) Console.WriteLine($"  {i + 1} ports bound");
    }
    return samples;
}

// JIT (tiered: methods are recompiled after some thirty calls), HTTP connections and the silos' code paths (the link
// watch's reconcile as well as the apply that finds the tap), outside the measurement: one port per host, a few rounds
// of each order, unbinding and unplugging between rounds; then deleted.
static async Task WarmUpAsync(NamespaceTopology topology, SeedNetwork seed, BindProbe probe, Settings settings, CancellationToken cancellationToken)
{
    var warm = new List<Workload>();
    for (var i = 0; i < topology.Hosts.Count; i++)
        warm.Add(await Workload.CreateAsync(topology, seed, 1001 + i, topology.Hosts[i], cancellationToken));
    for (var round = 0; round < settings.WarmUpRounds; round++)
    {
        foreach (var order in (PlugOrder[])[PlugOrder.AfterBind, PlugOrder.Before])
        {
            await Task.Delay(settings.Settle, cancellationToken);
            // A first bind may move the port's address: carry on with the address it has now.
            for (var i = 0; i < warm.Count; i++) warm[i] = (await probe.BindAsync(warm[i], order, cancellationToken)).Workload;
            await probe.UnbindAllAsync(warm, cancellationToken);
        }
        // Unplugged only once no host routes them (UnbindAllAsync waited): the kernel drops a deleted tap's routes
        // without announcing it.
        foreach (var workload in warm) await topology.UnplugVmAsync(workload.Vm);
    }
    foreach (var workload in warm)
    {
        await topology.Api.DeleteAsync("ports", workload.PortId, cancellationToken);
        topology.RemoveVm(workload.Vm);
    }
}

static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
