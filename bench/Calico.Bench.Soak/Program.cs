using System.Globalization;
using Calico.Topology.Kernel;
using Calico.Topology.Soak;

// The soak (issue 16): three controller silos on PostgreSQL and four compute hosts in network namespaces, in BGP mode
// in two racks (--routing direct: one segment), a steady VM per host pinging the next and a TCP stream between two of
// them across the racks, a stream of API work and faults at random moments (all choices from --seed), every silo's
// memory sampled every --memory-interval-s, then the checks of SoakRun. Prints a summary and, last, one line:
//   soak: minutes=… changes=… faults=… max_unconverged_s=… errors=… leaks=… memory_growth_pct=… result=ok|failed
// Exit code 0 when every check passed, 1 when one failed, 2 on bad usage. Needs root; everything it creates is in
// namespaces named cal-bench-XXXXXX-*, removed at the end, on failure and on Ctrl-C.
//
//   bench/run.sh soak -- [--minutes 30] [--seed 1] [--hosts 4] [--controllers 3] [--routing bgp|direct]
//       [--changes-per-minute 240] [--fault-interval-s 20] [--faults ComputeSiloKill,ControllerSiloKill,...]
//       [--memory-interval-s 10] [--keep-logs DIR]
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
const string Usage = "usage: [--minutes 30] [--seed 1] [--hosts 4] [--controllers 3] [--routing bgp|direct] [--changes-per-minute 240] " +
    "[--fault-interval-s 20] [--faults kind,kind] [--memory-interval-s 10] [--keep-logs DIR]";
var options = new SoakOptions { Log = line => Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {line}") };
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : null;
    bool Number(out double n) => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out n) && n > 0;
    double number;
    switch (args[i])
    {
        case "--minutes" when Number(out number): options = options with { Minutes = number }; break;
        case "--seed" when int.TryParse(value, CultureInfo.InvariantCulture, out var seed): options = options with { Seed = seed }; break;
        case "--hosts" when Number(out number) && number is >= 1 and <= 17: options = options with { Hosts = (int)number }; break;
        case "--controllers" when Number(out number) && number is >= 1 and <= 3: options = options with { Controllers = (int)number }; break;
        case "--changes-per-minute" when Number(out number): options = options with { ChangesPerMinute = (int)number }; break;
        case "--fault-interval-s" when Number(out number): options = options with { MeanFaultInterval = TimeSpan.FromSeconds(number) }; break;
        case "--memory-interval-s" when Number(out number): options = options with { MemorySampleInterval = TimeSpan.FromSeconds(number) }; break;
        case "--routing" when Enum.TryParse<SoakRouting>(value, ignoreCase: true, out var routing) && !int.TryParse(value, out _):
            options = options with { Routing = routing }; break;
        case "--keep-logs" when value is not null: options = options with { KeepLogsIn = value }; break;
        case "--faults" when FaultKinds(value) is { } kinds: options = options with { Faults = kinds }; break;
        default:
            Console.Error.WriteLine($"soak: '{args[i]}' {(value is null ? "needs a value or is unknown" : $"with '{value}' is not understood")} " +
                "(minutes > 0, hosts 1..17, controllers 1..3, routing bgp or direct, positive numbers, faults from " + string.Join(",", Enum.GetNames<FaultKind>()) + ")");
            Console.Error.WriteLine(Usage);
            return 2;
    }
    i++;
}
if (options.Routing == SoakRouting.Direct && args.Contains("--faults") && options.Faults.Contains(FaultKind.BirdKill))
{
    Console.Error.WriteLine("soak: --faults BirdKill needs --routing bgp (in direct mode no host runs BIRD)");
    Console.Error.WriteLine(Usage);
    return 2;
}
if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("soak: run as root: it creates network namespaces (it touches nothing outside them).");
    return 2;
}

using var stop = new StopSignals();
var report = await SoakRun.RunAsync(options, stop.Token);
Console.WriteLine();
Console.Write(report.Summary());
Console.WriteLine(report.LastLine);
return report.Ok && !stop.IsStopRequested ? 0 : 1;

// "ControllerSiloKill,PostgresRestart": the kinds of fault drawn from (all of them by default); null if one is unknown.
static FaultKind[]? FaultKinds(string? text)
{
    var names = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    var kinds = names.Select(n => Enum.TryParse<FaultKind>(n, ignoreCase: true, out var k) ? k : (FaultKind?)null).ToArray();
    return kinds.Length == 0 || kinds.Any(k => k is null) ? null : [.. kinds.Select(k => k!.Value).Distinct()];
}
