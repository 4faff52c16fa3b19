using System.Diagnostics;
using System.Globalization;
using Calico.Bench.Scale;
using Calico.Topology.Api;
using Calico.Topology.Kernel;

// The control plane at scale (issue 11, point 6). For each shape (hosts, ports) — the smallest, (10, 1000), first
// as the baseline — a real controller silo (calico-silo --role controller, embedded SQLite in a temporary directory,
// the Neutron API on loopback) and that many simulated compute hosts in this process, each registered as a compute
// silo registers and running the host agent's watch protocol into an in-memory dataplane. The population is created
// through the API; then: the hosts start watching from nothing (time until every host holds its state), the
// controller's memory, sampled API operations one at a time (latency; until every host whose state changed has
// applied it; hosts woken against hosts changed), Nova's order (ports created unbound, then bound: /32 routes held
// by other hosts), and a controller restart on the populated store (until every host was served a new snapshot).
// Every figure is printed beside the baseline's, with their ratio; the last line sums up the largest shape run.
//
//   dotnet run -c Release --project bench/Calico.Bench.Scale -- [--hosts H --ports P | --large] [--samples 20] ...
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (!Settings.TryParse(args, out var settings, out var problem))
{
    Console.Error.WriteLine($"scale: {problem}");
    Console.Error.WriteLine(Settings.Usage);
    return 2;
}
// The calculator's load line is logged at Information; the controller otherwise logs warnings only.
var calculatorLog = new Dictionary<string, string> { ["Logging__LogLevel__Calico.Grains.DesiredState.DesiredStateCalculatorGrain"] = "Information" };
if (settings.ControllerGc is { } gc) calculatorLog["DOTNET_gcServer"] = gc == "server" ? "1" : "0";
var root = settings.Directory ?? Directory.CreateTempSubdirectory("calico-bench-scale-").FullName;
// Ctrl-C or SIGTERM: the controller child goes too, and the temporary directory.
ControllerProcess? running = null;
var results = new List<ShapeFigures>();
using var stop = new StopSignals();
stop.Token.Register(() =>
{
    running?.Kill();
    if (results.Count > 0) Report.Table(results);
    if (settings.Directory is null) Directory.Delete(root, recursive: true);
    Console.Error.WriteLine("scale: stopped by a signal");
    Environment.Exit(130);
});
Console.WriteLine($"Scale: shapes {string.Join("; ", settings.Shapes)}; {settings.Samples} samples of each operation (after " +
                  $"{settings.WarmUpSamples} not counted), {settings.NovaPorts} ports in Nova's order; quiet {settings.Quiet.TotalMilliseconds:F0} ms; " +
                  $"calico-silo --role controller on SQLite under {root}; {Environment.ProcessorCount} cores");
string? failure = null;
try
{
    foreach (var shape in settings.Shapes)
    {
        var figures = new ShapeFigures(shape);
        results.Add(figures);
        try
        {
            await RunShapeAsync(figures, Path.Combine(root, $"{shape.Hosts}x{shape.Ports}"));
        }
        catch (TimeoutException ex)
        {
            // What was measured up to there is still printed; larger shapes would not do better.
            failure = ex.Message;
            Console.WriteLine($"  stopped: {ex.Message}");
            break;
        }
    }
}
finally
{
    if (results.Count > 0) Report.Table(results);
    if (settings.Directory is null) Directory.Delete(root, recursive: true);
}
Console.WriteLine(Report.Summary(results[^1]) + (failure is null ? "" : " (incomplete: a timeout stopped it)"));
return failure is null ? 0 : 1;

async Task RunShapeAsync(ShapeFigures figures, string directory)
{
    var shape = figures.Shape;
    Console.WriteLine();
    Console.WriteLine($"=== {shape} ===");
    Directory.CreateDirectory(directory);
    var controller = running = await ControllerProcess.StartAsync(directory, environment: calculatorLog);
    try
    {
        using var api = new NeutronClient(new HttpClient { Timeout = settings.OpTimeout }, new Uri(controller.BaseUrl + "/"));
        var seedTimeout = settings.SeedTimeoutFor(shape);
        var longest = new[] { settings.OpTimeout, settings.ConvergeTimeout, seedTimeout }.Max();
        await using var fleet = await HostFleet.ConnectAsync(controller.Ports.Gateway, shape.Hosts, longest);
        var workload = new Workload(api, shape);

        // Population: hosts registered first (compute silos up), then what the tenants create.
        var watch = Stopwatch.StartNew();
        await fleet.RegisterAsync();
        figures.Set("register hosts: s", watch.Elapsed.TotalSeconds);
        watch.Restart();
        await workload.CreateStructureAsync(settings.WarmUpSamples + settings.Samples + settings.NovaPorts);
        try
        {
            await workload.CreatePortsAsync(fleet.Hosts, settings.SeedParallel, seedTimeout);
        }
        finally
        {
            figures.Set("seed: ports created per s", workload.PortsCreated / watch.Elapsed.TotalSeconds);
        }
        await workload.CreateFloatingIpsAsync();
        figures.Set("seed (API, parallel): s", watch.Elapsed.TotalSeconds);
        Console.WriteLine($"  seeded: {workload.Networks.Count} networks, {Workload.Groups} groups, {shape.Ports} ports, " +
                          $"{Workload.FloatingIps} floating IPs in {watch.Elapsed.TotalSeconds:F1} s ({shape.Ports / watch.Elapsed.TotalSeconds:F0} ports per s, " +
                          $"{settings.SeedParallel} requests in flight)");

        // Every host starts watching from nothing.
        var tally = fleet.Tally();
        var cpu = (Controller: controller.CpuTime(), Bench: Environment.CpuUsage.TotalTime);
        var start = Stopwatch.GetTimestamp();
        fleet.StartWatching(settings.WatchWait);
        await fleet.WaitSettledAsync(() => fleet.Hosts.All(h => h.Applied is not null && h.Interfaces == h.ExpectedInterfaces),
            settings.Quiet, settings.ConvergeTimeout, "converge from empty");
        var converged = Seconds(fleet.Hosts.Max(h => h.LastChangedAt) - start);
        figures.Set(Figure.Converge, converged);
        cpu = CpuSpent(figures, "converge from empty", controller, cpu);
        figures.Set("items held per host (mean)", fleet.Hosts.Average(h => h.ItemCount));
        Console.WriteLine($"  converged from empty in {converged:F2} s; {fleet.Hosts.Average(h => h.ItemCount):F0} items per host; " +
                          HostFleet.Describe(tally, tally = fleet.Tally()));
        await MemoryAsync(figures, controller, fleet, "after converging");

        var operations = new Operations(api, fleet, workload, settings);
        watch.Restart();
        figures.SetOperations(await operations.SampleAsync());
        Console.WriteLine($"  operations sampled in {watch.Elapsed.TotalSeconds:F1} s");

        if (settings.NovaPorts > 0)
        {
            var nova = await operations.NovaOrderAsync(settings.NovaPorts);
            figures.Set("Nova's order: /32 via-host routes on other hosts", nova.HostRoutes);
            figures.Set("Nova's order: /32 routes per port", (double)nova.HostRoutes / nova.Ports);
            Console.WriteLine($"  Nova's order: {nova.Ports} ports created unbound in {nova.CreateSeconds:F1} s, bound in {nova.BindSeconds:F1} s; " +
                              $"other hosts hold {nova.HostRoutes} /32 via-host routes for them (at most {nova.AtMost})");
        }
        await MemoryAsync(figures, controller, fleet, "after the operations");

        if (settings.Resync)
        {
            var epochs = fleet.Hosts.Select(h => h.Applied!.Epoch).ToArray();
            tally = fleet.Tally();
            var benchCpu = Environment.CpuUsage.TotalTime;
            watch.Restart();
            await controller.DisposeAsync();
            var stopped = watch.Elapsed.TotalSeconds;
            fleet.BreakOutstandingCalls();
            start = Stopwatch.GetTimestamp();
            controller = running = await ControllerProcess.StartAsync(directory, controller.Ports, calculatorLog, settings.ConvergeTimeout);
            var ready = Seconds(Stopwatch.GetTimestamp() - start);
            // Calls made while it was down may have gone to the old process's address and be waiting for nothing.
            fleet.BreakOutstandingCalls();
            await fleet.WaitSettledAsync(() => fleet.Hosts.Select((h, i) => h.LastSnapshot.Epoch != epochs[i] && h.Interfaces == h.ExpectedInterfaces).All(x => x),
                settings.Quiet, settings.ConvergeTimeout, "resync after a controller restart");
            var resync = Seconds(fleet.Hosts.Max(h => h.LastSnapshot.At) - start);
            CpuSpent(figures, "restart", controller, (TimeSpan.Zero, benchCpu));
            figures.Set("restart: controller ready: s", ready);
            var load = CalculatorLoadSeconds(controller.Output);
            figures.Set("restart: calculator load (store read + engine, its log): s", load);
            figures.Set(Figure.Resync, resync);
            Console.WriteLine($"  restart: stopped in {stopped:F1} s; started, ready after {ready:F2} s, every host served a new snapshot after {resync:F2} s; " +
                              $"the calculator loaded the store in {(load is { } l ? $"{l:F2} s" : "(no log line)")}; " +
                              HostFleet.Describe(tally, fleet.Tally()));
            await MemoryAsync(figures, controller, fleet, "after the restart");
        }
        figures.Set("controller peak RSS (VmHWM, last process): MB", controller.ResidentMemory().Peak / 1048576.0);
        var failures = fleet.Hosts.Sum(h => h.Failures);
        Console.WriteLine($"  watch failures (retried): {failures}");
    }
    finally
    {
        await controller.DisposeAsync();
    }
}

// RSS from /proc; managed memory as the silo's Orleans runtime statistics report it (GC committed bytes less
// fragmentation, unsmoothed).
async Task MemoryAsync(ShapeFigures figures, ControllerProcess controller, HostFleet fleet, string when)
{
    var (rss, _) = controller.ResidentMemory();
    double? managed = null;
    // Just after a restart the client may not have the new silo's grain manifest yet: try again for a while.
    for (var attempt = 1; managed is null; attempt++)
    {
        try
        {
            var management = fleet.Grains.GetGrain<IManagementGrain>(0);
            var silos = await management.GetHosts(onlyActive: true);
            var stats = await management.GetRuntimeStatistics([.. silos.Keys]);
            managed = stats.Sum(s => s.EnvironmentStatistics.RawMemoryUsageBytes) / 1048576.0;
        }
        catch (Exception) when (attempt < 20)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
        catch (Exception ex)
        {
            Console.WriteLine($"  managed memory not read: {ex.Message}");
            break;
        }
    }
    figures.Set($"controller RSS {when}: MB", rss / 1048576.0);
    figures.Set($"controller managed {when}: MB", managed);
    Console.WriteLine($"  controller {when}: RSS {rss / 1048576.0:F0} MB, managed {managed:F0} MB");
}

static double Seconds(long stopwatchTicks) => stopwatchTicks / (double)Stopwatch.Frequency;

// CPU seconds the controller and this process (the simulated hosts) spent since `since`: whose work a phase was.
static (TimeSpan Controller, TimeSpan Bench) CpuSpent(ShapeFigures figures, string phase, ControllerProcess controller, (TimeSpan Controller, TimeSpan Bench) since)
{
    var now = (Controller: controller.CpuTime(), Bench: Environment.CpuUsage.TotalTime);
    figures.Set($"{phase}: controller CPU s", (now.Controller - since.Controller).TotalSeconds);
    figures.Set($"{phase}: simulated hosts' CPU s", (now.Bench - since.Bench).TotalSeconds);
    Console.WriteLine($"  {phase}: CPU {(now.Controller - since.Controller).TotalSeconds:F1} s in the controller, " +
                      $"{(now.Bench - since.Bench).TotalSeconds:F1} s in the simulated hosts' process");
    return now;
}

// The calculator's own account of its activation ("... shard N loaded R resources for H hosts in M ms"): reading the
// store and building every host's state in the engine; the slowest shard, in seconds.
static double? CalculatorLoadSeconds(string output)
{
    var loads = System.Text.RegularExpressions.Regex.Matches(output, @"calculator shard \d+ loaded \d+ resources for \d+ hosts in (\d+) ms")
        .Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / 1000).ToList();
    return loads.Count == 0 ? null : loads.Max();
}
