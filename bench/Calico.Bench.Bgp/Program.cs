using System.Diagnostics;
using System.Globalization;
using System.Net;
using Calico.Bench.Bgp;
using Calico.Topology;
using Calico.Topology.Kernel;

// BGP routing (issue 13, point 7). Two parts, each against a baseline measured in the same run:
// 1. A port bound on h1 whose address lies in h2's block, so h2 needs a /32 for it: from the bind call sent until
//    h2's kernel routes the address. BGP mode: h1 and h2 in two racks behind a router namespace whose BIRD reflects
//    routes (tests/Calico.Topology, Racks = 2), h2's route learned over BGP (proto bird, via the router). Direct mode:
//    both on one segment, h2's route written by its agent from the control plane's desired state (proto 80, via h1).
//    Each port is deleted, and its route gone, before the next.
// 2. 10,000 routes announced by one BIRD (rendered by BirdConfiguration, as an agent writes it) and learned by
//    another: from the learning BIRD's start (started as the agent starts it, with graceful-restart recovery, on a
//    kernel without its routes) until its kernel holds all 10,000; against the same 10,000 routes written into the
//    same namespace by our netlink client.
// Needs root and bird2; everything it creates is in namespaces named cal-bench-XXXXXX-*, removed at the end.
//
//   dotnet run -c Release --project bench/Calico.Bench.Bgp -- [--samples 30] [--routes 10000] [--rounds 3] [--skip-topology]
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Settings.TryParse(args, out var settings, out var problem);
if (BenchStart.Refusal("bgp", problem, "[--samples 30] [--routes 10000] [--rounds 3] [--skip-topology]") is { } refused) return refused;
if (!File.Exists("/usr/sbin/bird"))
{
    Console.Error.WriteLine("BIRD 2 is needed: apt-get install bird2 (./test.sh installs it).");
    return 2;
}

var prefixes = new List<RunPrefix>();
return await BenchRun.RunAsync("bgp", async token =>
{
    Console.WriteLine($"bgp benchmark: {Environment.ProcessorCount} CPUs, kernel {Environment.OSVersion.Version}, load average {LoadAverage()}");
    double[] bgp = [], direct = [];
    if (!settings.SkipTopology)
    {
        foreach (var racks in new[] { 2, 1 })
        {
            var prefix = RunPrefix.New(RunPrefix.BenchKind);
            prefixes.Add(prefix);
            var samples = await RemoteRoute.MeasureAsync(prefix, racks, settings, token);
            if (racks == 2) bgp = samples;
            else direct = samples;
        }
        Console.WriteLine();
        Console.WriteLine($"bind on h1 until h2 routes the address, ms ({settings.Samples} ports each)   p50      p99      max");
        Console.WriteLine($"  BGP, h2 in the other rack (proto bird, via the router)       {Percentile(bgp, 50),7:F1}  {Percentile(bgp, 99),7:F1}  {bgp.Max(),7:F1}");
        Console.WriteLine($"  direct, one segment (proto 80, via h1)                       {Percentile(direct, 50),7:F1}  {Percentile(direct, 99),7:F1}  {direct.Max(),7:F1}");
        Console.WriteLine($"  ratio BGP / direct                                           {Percentile(bgp, 50) / Percentile(direct, 50),7:F2}  {Percentile(bgp, 99) / Percentile(direct, 99),7:F2}");
    }

    var routesPrefix = RunPrefix.New(RunPrefix.BenchKind);
    prefixes.Add(routesPrefix);
    var (restart, netlink) = await LearnedRoutes.MeasureAsync(routesPrefix, settings, token);
    Console.WriteLine();
    Console.WriteLine($"{settings.Routes:N0} routes into a kernel, s (median of {settings.Rounds} rounds; each round's figures above)");
    Console.WriteLine($"  learned over BGP after the learning BIRD's restart              {Median(restart),7:F2}");
    Console.WriteLine($"  written by our netlink client                                    {Median(netlink),7:F2}");
    Console.WriteLine($"  ratio BGP / netlink                                              {Median(restart) / Median(netlink),7:F1}");
    Console.WriteLine($"load average at the end: {LoadAverage()}");
    Console.WriteLine();
    var line = settings.SkipTopology ? "" : $"remote_rack_p50_ms={Percentile(bgp, 50):F1} remote_rack_p99_ms={Percentile(bgp, 99):F1} direct_p50_ms={Percentile(direct, 50):F1} ";
    Console.WriteLine($"bgp: {line}restart_{settings.Routes / 1000}k_s={Median(restart):F2} netlink_{settings.Routes / 1000}k_s={Median(netlink):F3}");
}, name => prefixes.Any(p => p.Owns(name)));

static double Percentile(double[] values, int p)
{
    if (values.Length == 0) return double.NaN;
    var sorted = values.Order().ToArray();
    return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

static double Median(double[] values) => Percentile(values, 50);

static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

namespace Calico.Bench.Bgp
{
    internal sealed record Settings(int Samples, int Routes, int Rounds, bool SkipTopology)
    {
        public static bool TryParse(string[] args, out Settings settings, out string? problem)
        {
            settings = new Settings(30, 10_000, 3, false);
            problem = null;
            for (var i = 0; i < args.Length; i++)
            {
                int Number() => i + 1 < args.Length && int.TryParse(args[++i], CultureInfo.InvariantCulture, out var n) ? n : -1;
                switch (args[i])
                {
                    case "--samples": settings = settings with { Samples = Number() }; break;
                    case "--routes": settings = settings with { Routes = Number() }; break;
                    case "--rounds": settings = settings with { Rounds = Number() }; break;
                    case "--skip-topology": settings = settings with { SkipTopology = true }; break;
                    default: problem = $"unknown argument '{args[i]}'"; return false;
                }
            }
            // The ports' addresses are the 50 after the first ten of h2's /26 block.
            if (settings.Samples is < 1 or > 50) problem = "--samples must be 1..50 (addresses of one /26 block)";
            else if (settings.Routes is < 1000 or > 60_000) problem = "--routes must be 1000..60000";
            else if (settings.Rounds < 1) problem = "--rounds must be at least 1";
            return problem is null;
        }
    }

    internal static class Timing
    {
        public static double Milliseconds(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
    }
}
