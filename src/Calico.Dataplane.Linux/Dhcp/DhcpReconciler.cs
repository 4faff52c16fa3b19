using System.Net;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Processes;
using Calico.Model.Desired;
using Calico.Netlink;
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
    private readonly Lock _sync = new();
    private readonly DhcpInterface _interface;
    private readonly IProcessHost _processes;
    private readonly DhcpOptions _options;
    private readonly ILogger _logger;
    private readonly ProcessSupervisor _dnsmasq;
    private readonly ReportedFailures<string> _reported;
    private readonly ReportedFailures<string> _reportedGlobal;
    private readonly HashSet<string> _reportedIpv6 = new(StringComparer.Ordinal);

    private DhcpConfiguration? _desired;
    private DhcpConfiguration? _applied;
    private bool _tornDown;
    private string? _executable;
    private bool _disposed;

    /// <param name="netlink">rtnetlink in the namespace to serve (ns-dhcp and its addresses).</param>
    /// <param name="processes">Where dnsmasq runs: the same namespace (<see cref="LinuxProcessHost"/>).</param>
    /// <param name="networkNamespace">Dataplane:NetworkNamespace, which names the directory of our files.</param>
    public DhcpReconciler(INetlink netlink, IProcessHost processes, DhcpOptions options, string? networkNamespace, ResiliencePipeline retry,
        ILogger logger, TimeProvider? time = null)
    {
        _interface = new DhcpInterface(netlink, retry);
        _processes = processes;
        _options = options;
        _logger = logger;
        _reported = new ReportedFailures<string>((endpoint, reason) => LogEndpointFailed(logger, endpoint, reason), comparer: StringComparer.Ordinal);
        _reportedGlobal = new ReportedFailures<string>((_, reason) => LogFailed(logger, reason), _ => LogRecovered(logger));
        Files = DnsmasqFiles.For(options, networkNamespace, processes.AgentNamespace);
        var program = new SupervisedProgram("dnsmasq", Files.PidFile, DnsmasqFiles.PidFileArgument(Files.PidFile), "dhcp",
            // Per-request lines (dnsmasq-dhcp[pid]: DHCPACK(ns-dhcp) ...) are chatty; the rest is start-up, reloads, errors.
            line => line.StartsWith("dnsmasq-dhcp", StringComparison.Ordinal));
        _dnsmasq = new ProcessSupervisor(program, processes, options.DhcpRestartDelay, options.DhcpMaxRestartDelay,
            _sync, RestartDue, logger, time);
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
            _dnsmasq.Invalidate();
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
                _dnsmasq.AdoptOrStop(config.IsEmpty ? null : config.Arguments, "no DHCP subnet is left");
                if (config.IsEmpty) TearDown(drift);
                else addressFailures = Apply(config, drift);
            }
            catch (Exception e) when (e is NetlinkException or IOException or UnauthorizedAccessException or ProcessStartException)
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
            var held = _dnsmasq.Running;
            var found = _dnsmasq.FindUnheld();
            try
            {
                var running = held ?? found.FirstOrDefault(p => p.Arguments.SequenceEqual(config.Arguments)) ?? found.FirstOrDefault();
                if (config.IsEmpty)
                {
                    plan.AddRange(found.Select(p => $"stop   dnsmasq pid {p.Pid} (no DHCP subnet left)"));
                    if (held is not null) plan.Add($"stop   dnsmasq pid {held.Pid} (no DHCP subnet left)");
                    plan.AddRange(_interface.Plan(null));
                    plan.AddRange(Files.All.Where(File.Exists).Select(f => $"remove file {f}"));
                    return plan;
                }
                if (_processes.ResolveExecutable(_options.DnsmasqPath) is null)
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
                if (running is null || running.HasExited)
                {
                    plan.Add($"start  dnsmasq serving {config.Subnets.Count} subnets");
                    plan.AddRange(config.RouterAdvertisements.Select(ra => $"serve  {ra}"));
                }
                else if (!running.Arguments.SequenceEqual(config.Arguments))
                {
                    plan.Add($"restart dnsmasq pid {running.Pid} (its command line changes: {ProcessSupervisor.Difference(running.Arguments, config.Arguments)})");
                    plan.AddRange(config.RouterAdvertisements.Select(ra => $"serve  {ra}"));
                }
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
            _dnsmasq.Dispose();
        }
    }

    /// <summary>Link and addresses, files, process — in that order, since dnsmasq looks for the gateways at start.</summary>
    private Dictionary<string, string> Apply(DhcpConfiguration config, bool drift, bool restartDue = false)
    {
        _tornDown = false;
        _dnsmasq.CheckExited();
        if (!drift && _applied is not null && SameAs(_applied, config) && _dnsmasq.Settled) return [];

        _executable ??= _processes.ResolveExecutable(_options.DnsmasqPath)
            ?? throw new ProcessStartException($"dnsmasq is not installed: '{_options.DnsmasqPath}' is not on PATH, /usr/sbin or /sbin " +
                "(install the dnsmasq package, or set Dataplane:DnsmasqPath)");

        var addressFailures = _interface.Ensure(Addresses(config));
        var writes = _interface.Writes;
        Files.EnsureDirectory();
        var filesChanged = DnsmasqFiles.WriteIfChanged(Files.HostsFile, config.HostsFile);
        filesChanged |= DnsmasqFiles.WriteIfChanged(Files.OptionsFile, config.OptionsFile);
        if (filesChanged) writes++;
        Count("write", writes, drift);

        _dnsmasq.Ensure(_executable, config.Arguments, reload: filesChanged, restartDue);
        _applied = addressFailures.Count == 0 ? config : null;
        return addressFailures;
    }

    /// <summary>
    /// The restart pause is over (called by the supervisor, under the lock, with no dnsmasq held): bring dnsmasq back
    /// with the last desired configuration, if still wanted.
    /// </summary>
    private void RestartDue()
    {
        if (_disposed || _desired is not { IsEmpty: false } config) return;
        try
        {
            _applied = null;
            var failures = Apply(config, drift: true, restartDue: true);
            Report(null);
            if (failures.Count > 0) LogRestartIncomplete(_logger, string.Join("; ", failures.Values));
        }
        catch (Exception e) when (e is NetlinkException or IOException or UnauthorizedAccessException or ProcessStartException)
        {
            Report(e.Message);
        }
    }

    private void TearDown(bool drift)
    {
        _dnsmasq.CancelRestart();
        _applied = null;
        if (_tornDown && !drift) return;
        var writes = 0;
        if (_dnsmasq.StopRunning("no DHCP subnet is left")) writes++;
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

    /// <summary>Per endpoint: what the configuration cannot serve, a failed gateway address, or a failure of DHCP as a whole.</summary>
    private DhcpResult Result(DhcpConfiguration config, string? global, Dictionary<string, string> addressFailures)
    {
        Report(global);
        foreach (var subnet in config.Ipv6Subnets.Where(_reportedIpv6.Add)) LogIpv6NotServed(_logger, subnet);
        var failures = new Dictionary<string, string>(config.EndpointProblems, StringComparer.Ordinal);
        foreach (var subnet in config.Subnets)
        {
            if (!config.EndpointsBySubnet.TryGetValue(subnet.SubnetId, out var endpoints)) continue;
            var reason = global ?? (addressFailures.TryGetValue(subnet.SubnetId, out var failed) ? failed
                : subnet.IsIpv6 && addressFailures.TryGetValue(LinkLocalKey, out var linkLocal) ? $"no router advertisements: {linkLocal}" : null);
            if (reason is null) continue;
            foreach (var endpoint in endpoints)
                failures[endpoint] = failures.TryGetValue(endpoint, out var earlier) ? $"{earlier}; {reason}" : reason;
        }
        foreach (var (endpoint, reason) in failures) _reported.Failed(endpoint, reason);
        _reported.RecoveredUnless(failures.ContainsKey);
        if (failures.Count > 0) DataplaneTelemetry.Failures.Add(failures.Count, DataplaneTelemetry.Kind("dhcp"));
        return new DhcpResult(failures, _dnsmasq.Running is not null);
    }

    /// <summary>A failure of DHCP as a whole is logged when it appears or changes, and once when it clears.</summary>
    private void Report(string? global)
    {
        if (global is null) _reportedGlobal.Recovered(Whole);
        else _reportedGlobal.Failed(Whole, global);
    }

    /// <summary>The key of a failure of DHCP as a whole.</summary>
    private const string Whole = "dhcp";

    /// <summary>The key of ns-dhcp's link-local address among the subnets' addresses (no subnet id has a space).</summary>
    private const string LinkLocalKey = "link local";

    private static Dictionary<string, (IPAddress Address, int PrefixLength)> Addresses(DhcpConfiguration config)
    {
        var addresses = config.Subnets.ToDictionary(s => s.SubnetId, s => (s.ServerAddress, s.Cidr.Length), StringComparer.Ordinal);
        if (config.Subnets.Any(s => s.IsIpv6)) addresses[LinkLocalKey] = (DhcpConfiguration.LinkLocal, 64);
        return addresses;
    }

    private static bool SameAs(DhcpConfiguration a, DhcpConfiguration b) =>
        a.Arguments.SequenceEqual(b.Arguments) && a.HostsFile == b.HostsFile && a.OptionsFile == b.OptionsFile &&
        a.Subnets.Select(s => (s.SubnetId, s.ServerAddress, s.Cidr)).SequenceEqual(b.Subnets.Select(s => (s.SubnetId, s.ServerAddress, s.Cidr)));

    private static void Count(string operation, int count, bool drift) => DataplaneTelemetry.Count("dhcp", operation, count, drift);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP is not served: {Reason} (retried at every update, resync and restart; logged again only if the reason changes)")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "DHCP is served again")]
    private static partial void LogRecovered(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "dnsmasq is back, but: {Reason}")]
    private static partial void LogRestartIncomplete(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot remove DHCP state (retried at the next resync): {Reason}")]
    private static partial void LogTearDownFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "IPv6 subnet {Subnet} has DHCP enabled but no ipv6_address_mode or ipv6_ra_mode: no router advertisements or DHCPv6 for it, its ports configure IPv6 themselves")]
    private static partial void LogIpv6NotServed(ILogger logger, string subnet);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DHCP for endpoint {Endpoint}: {Reason} (logged again only if the reason changes)")]
    private static partial void LogEndpointFailed(ILogger logger, string endpoint, string reason);
}
