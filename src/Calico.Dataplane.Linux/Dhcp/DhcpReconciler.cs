using System.Net;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Namespaces;
using Calico.Dataplane.Linux.Netlink;
using Calico.Model.Desired;
using Microsoft.Extensions.Logging;
using Polly;

namespace Calico.Dataplane.Linux.Dhcp;

/// <summary>What one DHCP reconcile left undone: endpoints (port ids) whose DHCP is not served, and why.</summary>
public sealed record DhcpResult(IReadOnlyDictionary<string, string> Failures, bool Serving)
{
    public static readonly DhcpResult None = new(new Dictionary<string, string>(), false);
}

/// <summary>
/// DHCP for the local workloads, as networking-calico does it: one dnsmasq per host serving every DHCP subnet that
/// has a local port, with static leases only, listening on the taps as aliases of ns-dhcp (which holds the subnets'
/// gateway addresses). The configuration is computed by <see cref="DhcpConfiguration"/>; this class makes it so.
/// <para>
/// A change of the hosts or options file is a rewrite and a SIGHUP (dnsmasq re-reads both without interrupting
/// anything); a change of the command line (a subnet served or no longer served, the lease time) is a restart;
/// new and departing ports are neither, thanks to the tap wildcard. No subnet left: dnsmasq is stopped, ns-dhcp
/// deleted, our files removed.
/// </para>
/// <para>
/// dnsmasq is watched through a pidfd: when it exits it is restarted after <see cref="DataplaneOptions.DhcpRestartDelay"/>,
/// doubling for each exit in a row up to <see cref="DataplaneOptions.DhcpMaxRestartDelay"/>; every apply and resync
/// also notices a dead one. An agent that starts while our dnsmasq runs with the right command line keeps it (one
/// SIGHUP, since the previous agent may have died between writing a file and signalling); one with another command
/// line is replaced. dnsmasq outlives the agent on purpose (fail-static).
/// </para>
/// Owns: the links ns-dhcp and ns-dhcp-peer and the addresses on ns-dhcp; the dnsmasq whose command line carries
/// our pid file; the files in <see cref="DnsmasqFiles"/>. Never touches: any other dnsmasq, other interfaces or
/// their addresses, anything in /etc or outside our state directory.
/// </summary>
public sealed partial class DhcpReconciler : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly Lock _sync = new();
    private readonly DhcpInterface _interface;
    private readonly DataplaneOptions _options;
    private readonly NetworkNamespace? _ns;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RestartBackoff _backoff;
    private readonly ReportedFailures<string> _reported;
    private readonly ReportedFailures<string> _reportedGlobal;
    private readonly HashSet<string> _reportedIpv6 = new(StringComparer.Ordinal);

    /// <summary>The namespace served ("net:[4026532301]"): a dnsmasq in any other is never ours.</summary>
    private readonly string _identity;

    private DhcpConfiguration? _desired;
    private DhcpConfiguration? _applied;
    private DnsmasqProcess? _process;
    private DateTimeOffset _processSince;
    private bool _reloadPending;
    private bool _searched;
    private bool _tornDown;
    private string? _executable;
    private IReadOnlyList<string>? _failedArguments;
    private DateTimeOffset _nextStart;
    private string? _lastExit;
    private ITimer? _restartTimer;
    private bool _disposed;

    /// <param name="client">An rtnetlink client in the namespace to serve (it is shared, and thread-safe).</param>
    /// <param name="ns">The namespace dnsmasq and ns-dhcp live in; null: the agent's own.</param>
    public DhcpReconciler(NetlinkRouteClient client, NetworkNamespace? ns, DataplaneOptions options, ResiliencePipeline retry,
        ILogger logger, TimeProvider? time = null)
    {
        _interface = new DhcpInterface(client, ns, retry);
        _options = options;
        _ns = ns;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _backoff = new RestartBackoff(options.DhcpRestartDelay, options.DhcpMaxRestartDelay);
        _reported = new ReportedFailures<string>((endpoint, reason) => LogEndpointFailed(logger, endpoint, reason), comparer: StringComparer.Ordinal);
        _reportedGlobal = new ReportedFailures<string>((_, reason) => LogFailed(logger, reason), _ => LogRecovered(logger));
        _identity = NamespaceIdentity.Of(ns);
        Files = DnsmasqFiles.For(options, ns is not null || NamespaceIdentity.IsInitial(_identity) ? null
            : NamespaceIdentity.NameOf(_identity) ?? "inode-" + NamespaceIdentity.Inode(_identity));
    }

    public DnsmasqFiles Files { get; }

    /// <summary>Forget what was applied: the next reconcile reads everything back (link, addresses, files, process).</summary>
    public void Invalidate()
    {
        lock (_sync)
        {
            _applied = null;
            _tornDown = false;
            _executable = null;
            if (_process is null) _searched = false;
        }
    }

    /// <summary>Makes DHCP serve exactly these subnets and hosts; returns the endpoints it cannot serve, and why.</summary>
    public DhcpResult Reconcile(IReadOnlyCollection<DhcpSubnetItem> subnets, IReadOnlyCollection<DhcpHostItem> hosts, bool drift)
    {
        var config = DhcpConfiguration.Compute(subnets, hosts, Files, _options.DhcpLeaseTime);
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _desired = config;
            string? global = null;
            var addressFailures = new Dictionary<string, string>();
            try
            {
                if (!_searched)
                {
                    AdoptOrStop(config);
                    _searched = true;
                }
                if (config.IsEmpty) TearDown(drift);
                else addressFailures = Apply(config, drift);
            }
            catch (Exception e) when (e is NetlinkException or IOException or UnauthorizedAccessException or DnsmasqStartException)
            {
                global = e.Message;
            }
            return Result(config, global, addressFailures);
        }
    }

    /// <summary>What <see cref="Reconcile"/> would do, one line each; reads the kernel, our files and /proc, changes nothing.</summary>
    public List<string> Plan(IReadOnlyCollection<DhcpSubnetItem> subnets, IReadOnlyCollection<DhcpHostItem> hosts)
    {
        var config = DhcpConfiguration.Compute(subnets, hosts, Files, _options.DhcpLeaseTime);
        var plan = new List<string>();
        lock (_sync)
        {
            var found = _process is null ? DnsmasqProcess.FindRunning(Files, _identity) : [];
            try
            {
                var running = _process ?? found.FirstOrDefault(p => p.Arguments.SequenceEqual(config.Arguments)) ?? found.FirstOrDefault();
                if (config.IsEmpty)
                {
                    plan.AddRange(found.Select(p => $"stop   dnsmasq pid {p.Pid} (no DHCP subnet left)"));
                    if (_process is not null) plan.Add($"stop   dnsmasq pid {_process.Pid} (no DHCP subnet left)");
                    plan.AddRange(_interface.Plan(null));
                    plan.AddRange(Files.All.Where(File.Exists).Select(f => $"remove file {f}"));
                    return plan;
                }
                if (DnsmasqFiles.ResolveExecutable(_options.DnsmasqPath) is null)
                    plan.Add($"fail   dnsmasq is not installed ({_options.DnsmasqPath} not found)");
                plan.AddRange(_interface.Plan(Addresses(config)));
                var filesChanged = false;
                foreach (var (path, content) in new[] { (Files.HostsFile, config.HostsFile), (Files.OptionsFile, config.OptionsFile) })
                {
                    if (File.Exists(path) && File.ReadAllText(path) == content) continue;
                    plan.Add($"write  file {path}");
                    filesChanged = true;
                }
                plan.AddRange(found.Where(p => p != running).Select(p => $"stop   dnsmasq pid {p.Pid} (a second one of ours)"));
                if (running is null || running.HasExited) plan.Add($"start  dnsmasq serving {config.Subnets.Count} subnets");
                else if (!running.Arguments.SequenceEqual(config.Arguments)) plan.Add($"restart dnsmasq pid {running.Pid} (its command line changes: {Difference(running.Arguments, config.Arguments)})");
                else if (filesChanged || running.Adopted) plan.Add($"reload dnsmasq pid {running.Pid} (SIGHUP)");
                return plan;
            }
            finally
            {
                foreach (var process in found) process.Dispose();
            }
        }
    }

    /// <summary>Stops watching dnsmasq and cancels a pending restart; dnsmasq keeps running for the next agent to adopt.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_disposed) return;
            _disposed = true;
            _restartTimer?.Dispose();
            _process?.Dispose();
            _process = null;
        }
    }

    /// <summary>Link and addresses, files, process — in that order, since dnsmasq looks for the gateways at start.</summary>
    private Dictionary<string, string> Apply(DhcpConfiguration config, bool drift, bool restartDue = false)
    {
        _tornDown = false;
        if (_process is { } held && held.HasExited) Exited(held, fromWatch: false);
        if (!drift && _applied is not null && SameAs(_applied, config) && _process is not null && !_reloadPending) return [];

        _executable ??= DnsmasqFiles.ResolveExecutable(_options.DnsmasqPath)
            ?? throw new DnsmasqStartException($"dnsmasq is not installed: '{_options.DnsmasqPath}' is not on PATH, /usr/sbin or /sbin " +
                "(install the dnsmasq package, or set Dataplane:DnsmasqPath)");

        var addressFailures = _interface.Ensure(Addresses(config));
        var writes = _interface.Writes;
        Files.EnsureDirectory();
        var filesChanged = DnsmasqFiles.WriteIfChanged(Files.HostsFile, config.HostsFile);
        filesChanged |= DnsmasqFiles.WriteIfChanged(Files.OptionsFile, config.OptionsFile);
        if (filesChanged) writes++;
        Count("write", writes, drift);

        EnsureProcess(config, filesChanged, restartDue);
        _applied = addressFailures.Count == 0 ? config : null;
        return addressFailures;
    }

    /// <param name="restartDue">Called by the restart timer: the backoff delay is over, whatever the clock says.</param>
    private void EnsureProcess(DhcpConfiguration config, bool filesChanged, bool restartDue)
    {
        if (_process is { } running)
        {
            if (running.Arguments.SequenceEqual(config.Arguments))
            {
                if (!filesChanged && !_reloadPending) return;
                running.Reload();
                _reloadPending = false;
                Count("reload", 1, false);
                LogReloaded(_logger, running.Pid);
                return;
            }
            LogRestarting(_logger, running.Pid, Difference(running.Arguments, config.Arguments));
            Stop(running);
            _backoff.Reset();
        }

        var now = _time.GetUtcNow();
        var retrying = _failedArguments is not null && _failedArguments.SequenceEqual(config.Arguments);
        if (retrying && !restartDue && now < _nextStart) throw new DnsmasqStartException(Pausing(_lastExit));
        try
        {
            var process = DnsmasqProcess.Start(_executable!, config.Arguments, Files, _ns, _logger, StartTimeout);
            _process = process;
            _processSince = now;
            _reloadPending = false;
            _failedArguments = null;
            process.WatchExit(p => Exited(p, fromWatch: true));
            Count("start", 1, false);
            LogStarted(_logger, process.Pid, config.Subnets.Count, _ns?.Name ?? "the agent's namespace");
        }
        catch (DnsmasqStartException e)
        {
            _lastExit = e.Message;
            ScheduleRestart(config.Arguments, TimeSpan.Zero);
            throw new DnsmasqStartException(Pausing(e.Message), e);
        }
    }

    /// <summary>
    /// dnsmasq exited without being asked: noticed by the exit watch (its own thread) or by a reconcile. Forget it
    /// and schedule a restart after the backoff delay.
    /// </summary>
    private void Exited(DnsmasqProcess process, bool fromWatch)
    {
        lock (_sync)
        {
            if (_disposed || process != _process) return;
            _process = null;
            var description = process.DescribeExit();
            process.Dispose();
            _lastExit = "dnsmasq " + description;
            DataplaneTelemetry.Failures.Add(1, DataplaneTelemetry.Kind("dhcp"));
            var delay = ScheduleRestart(process.Arguments, _time.GetUtcNow() - _processSince);
            LogExited(_logger, description, delay.TotalSeconds, fromWatch ? "noticed by its exit watch" : "noticed at a reconcile");
        }
    }

    private TimeSpan ScheduleRestart(IReadOnlyList<string> arguments, TimeSpan ranFor)
    {
        var delay = _backoff.Next(ranFor);
        _failedArguments = arguments;
        _nextStart = _time.GetUtcNow() + delay;
        _restartTimer?.Dispose();
        _restartTimer = _time.CreateTimer(_ => RestartNow(), null, delay, Timeout.InfiniteTimeSpan);
        return delay;
    }

    /// <summary>The restart timer: bring dnsmasq back with the last desired configuration, if still wanted and still down.</summary>
    private void RestartNow()
    {
        lock (_sync)
        {
            if (_disposed || _process is not null || _desired is not { IsEmpty: false } config) return;
            try
            {
                _applied = null;
                var failures = Apply(config, drift: true, restartDue: true);
                Report(null);
                if (failures.Count > 0) LogRestartIncomplete(_logger, string.Join("; ", failures.Values));
            }
            catch (Exception e) when (e is NetlinkException or IOException or UnauthorizedAccessException or DnsmasqStartException)
            {
                Report(e.Message);
            }
        }
    }

    /// <summary>
    /// At the first reconcile (and at a resync when we hold none): a dnsmasq of ours started by a previous agent is
    /// kept if its command line is the desired one, and stopped otherwise (stale configuration, or nothing to serve).
    /// </summary>
    private void AdoptOrStop(DhcpConfiguration config)
    {
        foreach (var found in DnsmasqProcess.FindRunning(Files, _identity))
        {
            if (_process is null && !config.IsEmpty && found.Arguments.SequenceEqual(config.Arguments))
            {
                _process = found;
                _processSince = _time.GetUtcNow();
                _reloadPending = true;
                found.WatchExit(p => Exited(p, fromWatch: true));
                LogAdopted(_logger, found.Pid);
                continue;
            }
            LogStoppingStale(_logger, found.Pid, config.IsEmpty ? "no DHCP subnet is left" : "its command line is out of date");
            Stop(found);
        }
    }

    private void TearDown(bool drift)
    {
        _restartTimer?.Dispose();
        _restartTimer = null;
        _failedArguments = null;
        _applied = null;
        if (_tornDown && !drift) return;
        var writes = 0;
        if (_process is { } running)
        {
            LogStopping(_logger, running.Pid);
            Stop(running);
            writes++;
        }
        try
        {
            if (_interface.Remove()) writes++;
            if (Files.RemoveAll()) writes++;
            _tornDown = true;
        }
        catch (Exception e) when (e is NetlinkException or IOException or UnauthorizedAccessException)
        {
            LogTearDownFailed(_logger, e.Message);
        }
        Count("stop", writes, drift);
    }

    private void Stop(DnsmasqProcess process)
    {
        if (process == _process) _process = null;
        process.Stop(StopGrace);
        process.Dispose();
    }

    /// <summary>Per endpoint: what the configuration cannot serve, a failed gateway address, or a failure of DHCP as a whole.</summary>
    private DhcpResult Result(DhcpConfiguration config, string? global, Dictionary<string, string> addressFailures)
    {
        Report(global);
        foreach (var subnet in config.Ipv6Subnets.Where(_reportedIpv6.Add)) LogIpv6NotServed(_logger, subnet);
        var failures = new Dictionary<string, string>(config.EndpointProblems, StringComparer.Ordinal);
        foreach (var subnet in config.Subnets)
        {
            if (!config.EndpointsBySubnet.TryGetValue(subnet.SubnetId, out var endpoints)) continue;
            var reason = global ?? (addressFailures.TryGetValue(subnet.SubnetId, out var failed) ? failed : null);
            if (reason is null) continue;
            foreach (var endpoint in endpoints)
                failures[endpoint] = failures.TryGetValue(endpoint, out var earlier) ? $"{earlier}; {reason}" : reason;
        }
        foreach (var (endpoint, reason) in failures) _reported.Failed(endpoint, reason);
        _reported.RecoveredUnless(failures.ContainsKey);
        if (failures.Count > 0) DataplaneTelemetry.Failures.Add(failures.Count, DataplaneTelemetry.Kind("dhcp"));
        return new DhcpResult(failures, _process is not null);
    }

    /// <summary>A failure of DHCP as a whole is logged when it appears or changes, and once when it clears.</summary>
    private void Report(string? global)
    {
        if (global is null) _reportedGlobal.Recovered(Whole);
        else _reportedGlobal.Failed(Whole, global);
    }

    /// <summary>The key of a failure of DHCP as a whole.</summary>
    private const string Whole = "dhcp";

    /// <summary>The same words for every attempt of one failure, so it is logged (and reported) once, not at each retry.</summary>
    private static string Pausing(string? failure) => $"{failure}; it is started again after a pause (restart backoff)";

    private static Dictionary<string, (IPAddress Address, int PrefixLength)> Addresses(DhcpConfiguration config) =>
        config.Subnets.ToDictionary(s => s.SubnetId, s => (s.ServerAddress, s.Cidr.Length), StringComparer.Ordinal);

    private static bool SameAs(DhcpConfiguration a, DhcpConfiguration b) =>
        a.Arguments.SequenceEqual(b.Arguments) && a.HostsFile == b.HostsFile && a.OptionsFile == b.OptionsFile &&
        a.Subnets.Select(s => (s.SubnetId, s.ServerAddress, s.Cidr)).SequenceEqual(b.Subnets.Select(s => (s.SubnetId, s.ServerAddress, s.Cidr)));

    private static string Difference(IReadOnlyList<string> running, IReadOnlyList<string> wanted)
    {
        var added = wanted.Except(running).ToList();
        var removed = running.Except(wanted).ToList();
        return string.Join(", ", added.Select(a => "+" + a).Concat(removed.Select(r => "-" + r)));
    }

    private static void Count(string operation, int count, bool drift)
    {
        if (count == 0) return;
        DataplaneTelemetry.Operations.Add(count, DataplaneTelemetry.Kind("dhcp"), DataplaneTelemetry.Operation(operation));
        if (drift) DataplaneTelemetry.DriftRepairs.Add(count, DataplaneTelemetry.Kind("dhcp"));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started dnsmasq (pid {Pid}) serving {Subnets} DHCP subnets in {Namespace}")]
    private static partial void LogStarted(ILogger logger, int pid, int subnets, string @namespace);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adopted the running dnsmasq (pid {Pid}): its command line is the desired one")]
    private static partial void LogAdopted(ILogger logger, int pid);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sent SIGHUP to dnsmasq (pid {Pid}) to re-read its hosts and options files")]
    private static partial void LogReloaded(ILogger logger, int pid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Restarting dnsmasq (pid {Pid}): its command line changes ({Difference})")]
    private static partial void LogRestarting(ILogger logger, int pid, string difference);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping dnsmasq (pid {Pid}): no DHCP subnet is left")]
    private static partial void LogStopping(ILogger logger, int pid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping dnsmasq (pid {Pid}) left by a previous agent: {Reason}")]
    private static partial void LogStoppingStale(ILogger logger, int pid, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "dnsmasq {Exit} ({How}); starting it again in {Delay} s")]
    private static partial void LogExited(ILogger logger, string exit, double delay, string how);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP is not served: {Reason} (retried at every update, resync and restart; logged again only if the reason changes)")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "DHCP is served again")]
    private static partial void LogRecovered(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "dnsmasq is back, but: {Reason}")]
    private static partial void LogRestartIncomplete(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot remove DHCP state (retried at the next resync): {Reason}")]
    private static partial void LogTearDownFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "IPv6 subnet {Subnet} has DHCP enabled, but DHCPv6 and router advertisements are not implemented: its ports configure IPv6 themselves")]
    private static partial void LogIpv6NotServed(ILogger logger, string subnet);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP for endpoint {Endpoint}: {Reason} (logged again only if the reason changes)")]
    private static partial void LogEndpointFailed(ILogger logger, string endpoint, string reason);
}
