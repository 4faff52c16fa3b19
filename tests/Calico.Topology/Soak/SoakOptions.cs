using System.Globalization;
using System.Text;

namespace Calico.Topology.Soak;

/// <summary>The faults the soak injects (issue 16).</summary>
public enum FaultKind
{
    ComputeSiloKill,
    ControllerSiloKill,
    PostgresRestart,
    DnsmasqKill,
    RouteDelete,
    NftElementDelete,

    /// <summary>A host's BIRD killed (SIGKILL), which its compute silo restarts; BGP routing mode only.</summary>
    BirdKill,
}

/// <summary>How the soak's hosts route: BGP across two racks (the default), or direct on one segment.</summary>
public enum SoakRouting
{
    Bgp,
    Direct,
}

/// <summary>What a soak run does; the defaults are the shape (three controllers on PostgreSQL, four hosts).</summary>
public sealed record SoakOptions
{
    public double Minutes { get; init; } = 30;

    /// <summary>Seeds every random choice (operations, targets, fault times and kinds): a run can be repeated.</summary>
    public int Seed { get; init; } = 1;

    public int Hosts { get; init; } = 4;

    public int Controllers { get; init; } = 3;

    /// <summary>
    /// Bgp: Routing:Mode=bgp, odd hosts in rack r1 and even ones in rack r2 behind the router namespace, whose BIRD is
    /// every host's route reflector (<see cref="TopologyOptions.Racks"/> = 2); the steady VMs' ping ring crosses the
    /// racks at every step. Direct: one segment, routes computed by the control plane (no BIRD, no BirdKill).
    /// </summary>
    public SoakRouting Routing { get; init; } = SoakRouting.Bgp;

    /// <summary>API changes a minute the churn aims at (each is one create, bind, unbind, delete or edit).</summary>
    public int ChangesPerMinute { get; init; } = 240;

    /// <summary>Mean pause between two faults (exponentially distributed, from the seed).</summary>
    public TimeSpan MeanFaultInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How many churn ports exist at most at once.</summary>
    public int MaxPorts { get; init; } = 32;

    /// <summary>How often the resident memory (and managed heap) of every silo is sampled, from the start of the churn to its end.</summary>
    public TimeSpan MemorySampleInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A silo's resident memory may grow at most this much from the median of the second quarter of its process's
    /// sampled life to the median of the last quarter (the first quarter is its warm-up); see <see cref="MemoryGrowth"/>.
    /// </summary>
    public double MemoryGrowthBoundPct { get; init; } = 25;

    /// <summary>How long every host may take, after the churn stops, to hold its desired state before that counts as a failure.</summary>
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(120);

    public IReadOnlyList<FaultKind> Faults { get; init; } = Enum.GetValues<FaultKind>();

    /// <summary>Run prefix kind (cal-bench- for the program, cal-e2e- for the test).</summary>
    public string Kind { get; init; } = Kernel.RunPrefix.BenchKind;

    public Action<string> Log { get; init; } = _ => { };

    public string? KeepLogsIn { get; init; }
}

/// <summary>What a run found; <see cref="LastLine"/> is the machine-readable verdict.</summary>
public sealed class SoakReport
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _changes = new(StringComparer.Ordinal);
    private readonly Dictionary<FaultKind, int> _faults = [];
    private readonly Dictionary<string, int> _errors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _retryable = new(StringComparer.Ordinal);
    private readonly List<string> _errorSamples = [];
    private readonly List<string> _failures = [];

    public double Minutes { get; set; }

    public int Seed { get; init; }

    public double MaxUnconvergedSeconds { get; private set; }

    public string MaxUnconvergedWhat { get; private set; } = "";

    public int Leaks { get; set; }

    public List<string> LeakDetails { get; } = [];

    public int PingsOk { get; set; }

    public int PingsFailed { get; set; }

    /// <summary>Every silo's memory over the run, analysed (<see cref="MemoryGrowth.Analyse"/>).</summary>
    public List<MemoryVerdict> Memory { get; } = [];

    /// <summary>The long-lived TCP stream between two steady VMs (in different racks in BGP mode), once it ran.</summary>
    public TcpStreamReport? Tcp { get; set; }

    public double MemoryGrowthBoundPct { get; init; }

    public int Changes { get { lock (_gate) return _changes.Values.Sum(); } }

    public int FaultCount { get { lock (_gate) return _faults.Values.Sum(); } }

    public int Errors { get { lock (_gate) return _errors.Values.Sum(); } }

    public IReadOnlyList<string> Failures { get { lock (_gate) return [.. _failures]; } }

    public void Change(string kind) { lock (_gate) _changes[kind] = _changes.GetValueOrDefault(kind) + 1; }

    public int FaultsOf(FaultKind kind) { lock (_gate) return _faults.GetValueOrDefault(kind); }

    public void Fault(FaultKind kind) { lock (_gate) _faults[kind] = _faults.GetValueOrDefault(kind) + 1; }

    public void Retryable(string kind) { lock (_gate) _retryable[kind] = _retryable.GetValueOrDefault(kind) + 1; }

    public void Error(string kind, string detail)
    {
        lock (_gate)
        {
            _errors[kind] = _errors.GetValueOrDefault(kind) + 1;
            if (_errorSamples.Count < 20) _errorSamples.Add($"{kind}: {detail}");
        }
    }

    /// <summary>A check that failed (besides errors and leaks, which fail the run by their counts).</summary>
    public void Fail(string what) { lock (_gate) _failures.Add(what); }

    public void Unconverged(TimeSpan duration, string what)
    {
        lock (_gate)
        {
            if (duration.TotalSeconds <= MaxUnconvergedSeconds) return;
            MaxUnconvergedSeconds = duration.TotalSeconds;
            MaxUnconvergedWhat = what;
        }
    }

    /// <summary>
    /// The largest resident-memory growth, last-quarter median against second-quarter median, among the silos whose
    /// last process was sampled long enough (<see cref="MemoryGrowth"/>); null when no silo was (printed n/a, not 0).
    /// </summary>
    public double? MemoryGrowthPct => Memory.Select(m => m.RssGrowthPct).Max();

    public bool Ok => Errors == 0 && Leaks == 0 && Failures.Count == 0 && !(MemoryGrowthPct > MemoryGrowthBoundPct);

    public string LastLine => string.Create(CultureInfo.InvariantCulture,
        $"soak: minutes={Minutes:0.#} changes={Changes} faults={FaultCount} max_unconverged_s={MaxUnconvergedSeconds:0.0} errors={Errors} " +
        $"leaks={Leaks} memory_growth_pct={(MemoryGrowthPct is { } g ? g.ToString("0.0", CultureInfo.InvariantCulture) : "n/a")} result={(Ok ? "ok" : "failed")}");

    public string Summary()
    {
        lock (_gate)
        {
            var sb = new StringBuilder();
            sb.AppendLine(CultureInfo.InvariantCulture, $"seed {Seed}, {Minutes:0.#} minutes");
            sb.AppendLine(CultureInfo.InvariantCulture, $"changes: {_changes.Values.Sum()} ({Join(_changes)})");
            sb.AppendLine(CultureInfo.InvariantCulture, $"faults: {_faults.Values.Sum()} ({Join(_faults.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value))})");
            sb.AppendLine(CultureInfo.InvariantCulture, $"longest time not converged: {MaxUnconvergedSeconds:0.0} s ({MaxUnconvergedWhat})");
            sb.AppendLine(CultureInfo.InvariantCulture, $"errors: {_errors.Values.Sum()} ({Join(_errors)})");
            foreach (var sample in _errorSamples) sb.AppendLine("  " + sample);
            sb.AppendLine(CultureInfo.InvariantCulture, $"retryable answers (not errors): {_retryable.Values.Sum()} ({Join(_retryable)})");
            sb.AppendLine(CultureInfo.InvariantCulture, $"traffic: {PingsOk} pings answered, {PingsFailed} not (faults cut some on purpose; the last round must all answer)");
            sb.AppendLine(CultureInfo.InvariantCulture, $"leaks: {Leaks}");
            foreach (var leak in LeakDetails) sb.AppendLine("  " + leak);
            if (Tcp is { } tcp) sb.AppendLine(tcp.Summary());
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"memory (RSS, and managed heap after the last GC; per silo its last process, last-quarter median against second-quarter median of its samples; bound {MemoryGrowthBoundPct:0}% for RSS):");
            foreach (var m in Memory.OrderBy(m => m.Silo, StringComparer.Ordinal)) sb.AppendLine("  " + m.Describe());
            sb.AppendLine(CultureInfo.InvariantCulture, $"memory_growth_pct: {(MemoryGrowthPct is { } g ? $"{g:0.0} (largest RSS growth of {Memory.Count(m => m.RssGrowthPct is not null)} silos compared)" : "n/a (no silo's last process was sampled long enough to compare)")}");
            foreach (var failure in _failures) sb.AppendLine("FAILED: " + failure);
            return sb.ToString();
        }
    }

    private static string Join(Dictionary<string, int> counts) =>
        counts.Count == 0 ? "none" : string.Join(", ", counts.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"));
}
