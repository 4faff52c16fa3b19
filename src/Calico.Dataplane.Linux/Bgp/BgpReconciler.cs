using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Processes;
using Calico.Netlink;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging;
using Polly;

namespace Calico.Dataplane.Linux.Bgp;

/// <summary>
/// BGP for this host, as Calico does it: one BIRD per host (per network namespace) that tells the peers what the host
/// announces and puts what they taught into the kernel (`proto bird`), while the agent keeps programming its own routes.
/// The configuration is computed by <see cref="BirdConfiguration"/>; this class makes it so.
/// <para>
/// A changed configuration is written atomically and reloaded with `birdc configure` (sessions the change does not
/// concern stay up); the command line never changes, so BIRD is never restarted for a change. BIRD is watched through a
/// pidfd and restarted after <see cref="BgpOptions.BirdRestartDelay"/>, doubling for each exit in a row; it restarts
/// with graceful restart recovery, and its peers keep its routes meanwhile (graceful restart), as the kernel keeps
/// theirs (persist). An agent that starts while our BIRD runs adopts it (one reload owed, since its file may have
/// changed meanwhile); BIRD outlives the agent on purpose (fail-static).
/// </para>
/// <para>
/// Without a BGP identity in the desired state (direct routing mode) no BIRD runs: one of ours is stopped, the routes
/// it persisted in the kernel (`proto bird`, in our table) are removed, since in direct mode the agent programs those
/// destinations itself, and our files are removed.
/// </para>
/// Owns: the BIRD whose command line carries our pid file; the files in <see cref="BirdFiles"/>; `proto bird` routes in
/// the route table only when tearing down our BIRD. Never touches: any other BIRD or its socket, /etc/bird, routes of
/// other protocols, and never programs a `proto bird` route itself.
/// </summary>
public sealed partial class BgpReconciler : IDisposable
{
    private readonly Lock _sync = new();
    private readonly INetlink _netlink;
    private readonly IProcessHost _processes;
    private readonly BgpOptions _options;
    private readonly uint _routeTable;
    private readonly ResiliencePipeline _retry;
    private readonly ILogger _logger;
    private readonly ProcessSupervisor _bird;
    private readonly ReportedFailures<string> _reported;
    private readonly BirdControl _control;

    private BirdConfiguration? _desired;
    private string? _applied;
    private bool _tornDown;
    private string? _executable;
    private bool _disposed;

    public BgpReconciler(INetlink netlink, IProcessHost processes, BgpOptions options, string? networkNamespace, uint routeTable,
        ResiliencePipeline retry, ILogger logger, TimeProvider? time = null)
    {
        _netlink = netlink;
        _processes = processes;
        _options = options;
        _routeTable = routeTable;
        _retry = retry;
        _logger = logger;
        _reported = new ReportedFailures<string>((_, reason) => LogFailed(logger, reason), _ => LogRecovered(logger));
        Files = BirdFiles.For(options, networkNamespace, processes.AgentNamespace);
        _control = new BirdControl(processes.ResolveExecutable(options.BirdcPath) ?? options.BirdcPath, Files.Socket);
        var program = new SupervisedProgram("bird", Files.PidFile, BirdFiles.PidFileArgument(Files.PidFile), "bgp");
        _bird = new ProcessSupervisor(program, processes, options.BirdRestartDelay, options.BirdMaxRestartDelay, _sync, RestartDue, logger, time);
    }

    public BirdFiles Files { get; }

    /// <summary>Our BIRD's control: `birdc -s` our socket.</summary>
    public BirdControl Control => _control;

    /// <summary>The pid of the BIRD held, if any (for tests and status).</summary>
    public int? RunningPid
    {
        get
        {
            lock (_sync) return _bird.Running?.Pid;
        }
    }

    /// <summary>
    /// This host's BGP sessions as our BIRD reports them (`show protocols all`), or null when no BIRD of ours is meant
    /// to run here (direct mode) or it cannot be asked (it is restarting): the caller reports "not known", never "none".
    /// </summary>
    public IReadOnlyList<BgpSession>? ReadSessions(DateOnly today)
    {
        lock (_sync)
            if (_desired is null || _bird.Running is null) return null;
        try
        {
            return BirdStatus.Parse(_control.Run("show", "protocols", "all"), today);
        }
        catch (BirdControlException)
        {
            return null;
        }
    }

    public void Invalidate()
    {
        lock (_sync)
        {
            _applied = null;
            _tornDown = false;
            _executable = null;
            _bird.Invalidate();
        }
    }

    /// <summary>Makes our BIRD run <paramref name="config"/>, or none when null; returns why BGP is not served, or null.</summary>
    public string? Reconcile(BirdConfiguration? config, bool drift)
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _desired = config;
            string? failure = null;
            try
            {
                _bird.AdoptOrStop(config is null ? null : Files.Arguments, "the cluster is not in BGP routing mode");
                if (config is null) TearDown(drift);
                else Apply(config, drift, restartDue: false);
            }
            catch (Exception e) when (e is NetlinkException or IOException or UnauthorizedAccessException or ProcessStartException or BirdControlException)
            {
                failure = e.Message;
            }
            Report(failure);
            return failure;
        }
    }

    /// <summary>What <see cref="Reconcile"/> would do, one line each; reads our files and /proc, changes nothing.</summary>
    public List<string> Plan(BirdConfiguration? config)
    {
        var plan = new List<string>();
        lock (_sync)
        {
            var found = _bird.FindUnheld();
            try
            {
                var running = _bird.Running ?? found.FirstOrDefault();
                if (config is null)
                {
                    if (running is not null) plan.Add($"stop   bird pid {running.Pid} (not in BGP routing mode) and remove its proto bird routes");
                    plan.AddRange(Files.All.Where(File.Exists).Select(f => $"remove file {f}"));
                    return plan;
                }
                if (_processes.ResolveExecutable(_options.BirdPath) is null) plan.Add($"fail   BIRD is not installed ({_options.BirdPath} not found)");
                var changed = !File.Exists(Files.ConfigFile) || File.ReadAllText(Files.ConfigFile) != config.Text;
                if (changed) plan.Add($"write  file {Files.ConfigFile} ({config.Peers.Count} peers, {config.Exports.Count + config.Exports6.Count} prefixes announced)");
                if (running is null || running.HasExited) plan.Add($"start  bird (router id {config.Node.RouterId}, AS {config.Node.AsNumber})");
                else if (changed) plan.Add($"reload bird pid {running.Pid} (birdc configure)");
                return plan;
            }
            finally
            {
                foreach (var process in found) process.Dispose();
            }
        }
    }

    public void Dispose()
    {
        lock (_sync)
        {
            if (_disposed) return;
            _disposed = true;
            _bird.Dispose();
        }
    }

    private void Apply(BirdConfiguration config, bool drift, bool restartDue)
    {
        _tornDown = false;
        _bird.CheckExited();
        if (!drift && _applied == config.Text && _bird.Settled) return;

        _executable ??= _processes.ResolveExecutable(_options.BirdPath)
            ?? throw new ProcessStartException($"BIRD is not installed: '{_options.BirdPath}' is not on PATH, /usr/sbin or /sbin " +
                "(install the bird2 package, or set Dataplane:BirdPath)");
        Files.EnsureDirectory();
        var written = Files.WriteConfig(config.Text);
        var held = _bird.Running is not null;
        // A held BIRD re-reads a changed file through birdc; a new one reads it at start; an adopted one is owed a
        // reload (SIGHUP, which BIRD also takes as `configure`).
        _bird.Ensure(_executable, Files.Arguments, reload: false, restartDue);
        if (held && written && _bird.Running is not null)
        {
            _applied = null;
            _control.Configure();
            Count("reload", drift);
            LogReloaded(_logger, config.Peers.Count, config.Exports.Count + config.Exports6.Count);
        }
        else if (written) Count("write", drift);
        _applied = config.Text;
    }

    /// <summary>The restart pause is over (called by the supervisor, under the lock, with no BIRD held).</summary>
    private void RestartDue()
    {
        if (_disposed || _desired is not { } config) return;
        try
        {
            _applied = null;
            Apply(config, drift: true, restartDue: true);
            Report(null);
        }
        catch (Exception e) when (e is NetlinkException or IOException or UnauthorizedAccessException or ProcessStartException or BirdControlException)
        {
            Report(e.Message);
        }
    }

    private void TearDown(bool drift)
    {
        _bird.CancelRestart();
        _applied = null;
        if (_tornDown && !drift) return;
        var ours = _bird.StopRunning("the cluster is not in BGP routing mode") | File.Exists(Files.ConfigFile);
        // Our BIRD persisted what it learned; in direct mode the agent routes those destinations itself.
        _tornDown = true;
        if (!ours) return;
        var flushed = FlushBirdRoutes();
        Files.RemoveAll();
        LogTornDown(_logger, flushed);
        Count("stop", drift);
    }

    private int FlushBirdRoutes()
    {
        var routes = _retry.Execute(() => _netlink.ListRoutes(new RouteFilter(Table: _routeTable, Protocol: RouteProtocol.Bird)));
        if (routes.Count == 0) return 0;
        var results = _netlink.Apply([.. routes.Select(RouteOperation.Delete)]);
        return results.Count(r => r.Error is null || r.Error.IsNotFound);
    }

    private void Report(string? failure)
    {
        if (failure is null) _reported.Recovered(Whole);
        else
        {
            _reported.Failed(Whole, failure);
            DataplaneTelemetry.Failures.Add(1, DataplaneTelemetry.Kind("bgp"));
        }
    }

    private const string Whole = "bgp";

    private static void Count(string operation, bool drift) => DataplaneTelemetry.Count("bgp", operation, 1, drift);

    [LoggerMessage(Level = LogLevel.Warning, Message = "BGP is not served: {Reason} (retried at every update, resync and restart; logged again only if the reason changes)")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "BGP is served again")]
    private static partial void LogRecovered(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "BIRD reconfigured (birdc configure): {Peers} peers, {Exports} prefixes announced")]
    private static partial void LogReloaded(ILogger logger, int peers, int exports);

    [LoggerMessage(Level = LogLevel.Information, Message = "BIRD stopped (not in BGP routing mode); {Routes} routes it had put in the kernel removed")]
    private static partial void LogTornDown(ILogger logger, int routes);
}
