using System.Globalization;

namespace Calico.Bench.Scale;

/// <summary>A size of cluster: simulated compute hosts and ports bound to them, spread evenly.</summary>
internal readonly record struct Shape(int Hosts, int Ports)
{
    public static readonly Shape Baseline = new(10, 1_000);
    public static readonly Shape Medium = new(100, 10_000);
    public static readonly Shape Large = new(1_000, 100_000);

    public override string ToString() => $"{Hosts} hosts, {Ports} ports";
}

/// <summary>The command line. Timeouts fail the run with what was reached; sample counts trade precision for time.</summary>
/// <param name="Samples">Sampled operations of each kind per shape (port create, bind, delete; rule add and delete).</param>
/// <param name="NovaPorts">Ports created unbound and then bound after seeding (Nova's order), to count /32 routes.</param>
/// <param name="SeedParallel">API requests in flight while seeding.</param>
/// <param name="Quiet">An operation counts as finished once no host has applied anything for this long after its call returned.</param>
internal sealed record Settings(
    IReadOnlyList<Shape> Shapes,
    int Samples,
    int WarmUpSamples,
    int NovaPorts,
    int SeedParallel,
    TimeSpan Quiet,
    TimeSpan OpTimeout,
    TimeSpan? SeedTimeout,
    TimeSpan ConvergeTimeout,
    TimeSpan WatchWait,
    bool Resync,
    string? Directory)
{
    /// <summary>The controller's garbage collector: null as the silo is built (workstation), or "server" / "workstation".</summary>
    public string? ControllerGc { get; init; }

    public const string Usage =
        "usage: [--hosts H --ports P | --large] [--samples 20] [--warmup 3] [--nova-ports 200] [--seed-parallel 16] [--quiet-ms 300] " +
        "[--op-timeout-s 120] [--seed-timeout-s 300 + 0.02 per port] [--converge-timeout-s 900] [--watch-wait-s 20] [--no-resync] [--controller-gc server|workstation] [--dir DIR]";

    /// <summary>How long seeding may take: as given, or 300 s plus 20 ms per port.</summary>
    public TimeSpan SeedTimeoutFor(Shape shape) => SeedTimeout ?? TimeSpan.FromSeconds(300 + 0.02 * shape.Ports);

    public static bool TryParse(IReadOnlyList<string> args, out Settings settings, out string problem)
    {
        settings = new Settings([Shape.Baseline, Shape.Medium], Samples: 20, WarmUpSamples: 3, NovaPorts: 200, SeedParallel: 16,
            Quiet: TimeSpan.FromMilliseconds(300), OpTimeout: TimeSpan.FromSeconds(120), SeedTimeout: null,
            ConvergeTimeout: TimeSpan.FromMinutes(15), WatchWait: TimeSpan.FromSeconds(20), Resync: true, Directory: null);
        problem = "";
        int? hosts = null, ports = null;
        var large = false;
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            int Number() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                ? n : throw new FormatException($"{args[i - 1]} needs a whole number");
            TimeSpan Seconds() => TimeSpan.FromSeconds(Number());
            try
            {
                switch (args[i])
                {
                    case "--hosts": hosts = Number(); break;
                    case "--ports": ports = Number(); break;
                    case "--large": large = true; break;
                    case "--samples": settings = settings with { Samples = Number() }; break;
                    case "--warmup": settings = settings with { WarmUpSamples = Number() }; break;
                    case "--nova-ports": settings = settings with { NovaPorts = Number() }; break;
                    case "--seed-parallel": settings = settings with { SeedParallel = Number() }; break;
                    case "--quiet-ms": settings = settings with { Quiet = TimeSpan.FromMilliseconds(Number()) }; break;
                    case "--op-timeout-s": settings = settings with { OpTimeout = Seconds() }; break;
                    case "--seed-timeout-s": settings = settings with { SeedTimeout = Seconds() }; break;
                    case "--converge-timeout-s": settings = settings with { ConvergeTimeout = Seconds() }; break;
                    case "--watch-wait-s": settings = settings with { WatchWait = Seconds() }; break;
                    case "--no-resync": settings = settings with { Resync = false }; break;
                    case "--controller-gc":
                        var gc = Value();
                        if (gc is not ("server" or "workstation")) problem = $"--controller-gc must be server or workstation, not '{gc}'";
                        settings = settings with { ControllerGc = gc };
                        break;
                    case "--dir": settings = settings with { Directory = Path.GetFullPath(Value()) }; break;
                    default: throw new FormatException($"unknown argument '{args[i]}'");
                }
            }
            catch (FormatException e)
            {
                problem = e.Message;
                return false;
            }
        }
        if ((hosts is null) != (ports is null)) problem = "--hosts and --ports go together";
        else if (hosts is < 2 or > 5_000) problem = "--hosts must be 2..5000 (a route needs another host)";
        else if (ports is not null && (ports < hosts || ports > 1_000_000)) problem = "--ports must be at least --hosts and at most 1000000";
        else if (settings.Samples < 1) problem = "--samples must be at least 1";
        else if (settings.SeedParallel is < 1 or > 256) problem = "--seed-parallel must be 1..256";
        else if (settings.WatchWait is { TotalSeconds: < 1 or > 25 }) problem = "--watch-wait-s must be 1..25 (as Compute:WatchTimeout)";
        else if (settings.NovaPorts < 0) problem = "--nova-ports must not be negative";
        if (problem.Length > 0) return false;

        // The smallest shape always runs first: every other figure is printed as a ratio to it.
        var shapes = new List<Shape> { Shape.Baseline };
        if (hosts is { } h && ports is { } p) shapes.Add(new Shape(h, p));
        else shapes.Add(Shape.Medium);
        if (large) shapes.Add(Shape.Large);
        settings = settings with { Shapes = shapes.Distinct().ToList() };
        return true;
    }
}
