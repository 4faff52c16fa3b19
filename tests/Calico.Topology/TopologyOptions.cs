using System.Globalization;
using Calico.Topology.Kernel;

namespace Calico.Topology;

/// <summary>What to build. The defaults suit tests: short report, liveness and resync intervals so that faults show quickly.</summary>
public sealed record TopologyOptions
{
    /// <summary>The run's name prefix; default: a new one of <see cref="Kind"/>. Set it to know the names before the start (e.g. to check a failed start left nothing).</summary>
    public RunPrefix? Prefix { get; init; }

    /// <summary>Compute hosts (1..17): 172.18.203.31, .44, .57, ... as in the seed (every 13th address).</summary>
    public int Hosts { get; init; } = 2;

    /// <summary>
    /// 1: every host on the fabric (routes computed by the control plane, direct mode). 2: BGP routing mode across two
    /// racks: odd hosts on the fabric (rack r1, 172.18.203.0/24), even hosts on a second segment (rack r2,
    /// 172.18.204.0/24, fd00:18:204::/64) behind the router namespace {prefix}tor (172.18.203.1 and 172.18.204.1,
    /// fd00:18:203::1 and fd00:18:204::1), whose BIRD is every host's route reflector over IPv4 and IPv6 sessions: an
    /// operator's global peer at each address, with the node-to-node mesh off (<see cref="NamespaceTopology.Router"/>).
    /// </summary>
    public int Racks { get; init; } = 1;

    /// <summary>
    /// Controller silos (1..3): {prefix}ctl at 172.18.203.10, then ctl2 at .11 and ctl3 at .12. More than one needs
    /// <see cref="Postgres"/> (they share the database and its membership table) and runs the desired-state calculation
    /// in as many shards (Calculator:Shards).
    /// </summary>
    public int Controllers { get; init; } = 1;

    /// <summary>
    /// Every silo on PostgreSQL (storage and clustering) instead of SQLite and a primary silo: a server of the run's
    /// own in the namespace {prefix}db (<see cref="Nodes.DatabaseNode"/>).
    /// </summary>
    public bool Postgres { get; init; }

    /// <summary><see cref="RunPrefix.TestKind"/> (cal-e2e-), <see cref="RunPrefix.ManualKind"/> (cal-topo-) or <see cref="RunPrefix.BenchKind"/> (cal-bench-).</summary>
    public string Kind { get; init; } = RunPrefix.TestKind;

    /// <summary>Hosts:ReportInterval of every silo.</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Hosts:DeadAfter (the controller decides liveness with it).</summary>
    public TimeSpan DeadAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Dataplane:RouteResyncInterval of the compute silos: how soon drift (a route deleted by hand) is repaired.</summary>
    public TimeSpan RouteResyncInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Compute:MaxRetryDelay: the longest pause of a host agent while the control plane is unreachable.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Dataplane:PolicyEnabled of the compute silos: security groups, anti-spoofing and floating-IP NAT programmed in
    /// nftables (table inet calico), as a deployment runs. On by default; workloads then get only what their groups allow.
    /// </summary>
    public bool Policy { get; init; } = true;

    /// <summary>Logging:LogLevel:Calico=Debug (every applied desired state, every dataplane apply and resync).</summary>
    public bool DebugLogs { get; init; } = true;

    /// <summary>Extra arguments for the controller silo, after the harness's own (so they win).</summary>
    public IReadOnlyList<string> ControllerArguments { get; init; } = [];

    /// <summary>Extra arguments for every compute silo.</summary>
    public IReadOnlyList<string> ComputeArguments { get; init; } = [];

    /// <summary>How long all silos together may take to become ready.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(150);

    /// <summary>Where the harness reports what it does (silo starts, exits, restarts); nowhere by default.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>
    /// When set, the silos' logs are copied to DIR/&lt;prefix&gt;/ before the run's temporary directory is deleted
    /// (for debugging; off by default, so that a run leaves nothing behind). The tests set it from CALICO_E2E_LOGS.
    /// </summary>
    public string? KeepLogsIn { get; init; }

    /// <summary>calico-silo.dll; default: beside this assembly (the project references the silo for that).</summary>
    public string? SiloDll { get; init; }

    internal static string Span(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);
}
