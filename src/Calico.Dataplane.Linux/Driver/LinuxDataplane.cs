using System.Diagnostics;
using System.Net;
using Calico.Dataplane.Linux.Dhcp;
using Calico.Dataplane.Linux.Interfaces;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Namespaces;
using Calico.Dataplane.Linux.Netlink;
using Calico.Dataplane.Linux.Nftables;
using Calico.Dataplane.Linux.Policy;
using Calico.Dataplane.Linux.Routes;
using Calico.Model;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using RouteKind = Calico.Model.Desired.RouteKind;

namespace Calico.Dataplane.Linux.Driver;

/// <summary>
/// The host's dataplane on Linux: hands each part of the desired state to the reconciler that owns that kind of
/// kernel object, in dependency order (interfaces first, since local routes need their index; then policy, so a
/// workload is policed before a route makes it reachable; then routes; DHCP last, as dnsmasq answers on the taps),
/// and turns the outcome into per-endpoint statuses. Calls are serialised; the kernel work runs off the caller's thread.
/// Between calls it listens to the kernel's link notices, and reconciles a workload interface that came, went, or went
/// up or down as soon as it is asked (LinuxDataplane.LinkChanges.cs). Touches only what its reconcilers own (see their headers); with nothing desired it writes nothing at all.
/// </summary>
public sealed partial class LinuxDataplane : IDataplane, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly InterfaceReconciler _interfaces;
    private readonly RouteReconciler _routes;
    private readonly DhcpReconciler? _dhcp;
    private readonly WorkloadPolicy? _policy;
    private readonly WorkloadLinkWatch? _linkWatch;
    private readonly DataplaneOptions _options;
    private readonly ILogger _logger;
    private readonly IDisposable? _owned;
    private IReadOnlyDictionary<DesiredKey, DesiredItem> _desired = new Dictionary<DesiredKey, DesiredItem>();
    private Programmed _programmed = Programmed.Nothing;
    private long _sequence;

    public LinuxDataplane(IOptions<DataplaneOptions> options, ILoggerFactory loggers)
        : this(OpenKernel(options.Value, loggers), options.Value, loggers)
    {
    }

    private LinuxDataplane(KernelParts kernel, DataplaneOptions options, ILoggerFactory loggers)
        : this(kernel.Netlink, kernel.Sysctls, options, loggers, TransientRetry.Create(options), kernel.Dhcp(loggers),
            kernel.Nftables, kernel.Links)
        => _owned = kernel.Owned;

    /// <summary>
    /// On any kernel: the real one (<see cref="NetlinkKernel"/>) or a fake in tests. Without <paramref name="dhcp"/>
    /// (unit tests on a fake kernel) DHCP items are left aside: no DHCP is served; without <paramref name="nftables"/>,
    /// no nftables table is programmed (policy off). Every reconciler retries transient kernel errors through
    /// <paramref name="retry"/>; without <paramref name="links"/>, workload interfaces that appear or go are
    /// found by the next apply or resync only. Link notifications are started here, once subscribed to.
    /// </summary>
    public LinuxDataplane(INetlink netlink, ISysctlWriter sysctls, DataplaneOptions options, ILoggerFactory loggers, ResiliencePipeline retry,
        DhcpReconciler? dhcp = null, INftables? nftables = null, ILinkNotifications? links = null)
    {
        _options = options;
        _dhcp = dhcp;
        _policy = nftables is null ? null
            : new WorkloadPolicy(nftables, PolicySettings.From(options), retry, loggers.CreateLogger<WorkloadPolicy>());
        _logger = loggers.CreateLogger<LinuxDataplane>();
        _interfaces = new InterfaceReconciler(netlink, sysctls, options, retry, loggers.CreateLogger<InterfaceReconciler>());
        _routes = new RouteReconciler(netlink, options, retry, loggers.CreateLogger<RouteReconciler>());
        _links = () => netlink.ListLinks().ToDictionary(l => l.Name, l => l.Index, StringComparer.Ordinal);
        _describe = op =>
        {
            var names = netlink.ListLinks().ToDictionary(l => l.Index, l => l.Name);
            var verb = op.Kind switch { RouteOperationKind.Add => "add   ", RouteOperationKind.Delete => "remove", _ => "change" };
            var route = op.Route;
            var target = route.Type == RouteType.Blackhole ? "blackhole" : route.Gateway is not null ? $"via {route.Gateway}" : $"dev {names.GetValueOrDefault(route.OutputInterface, $"if{route.OutputInterface}")}";
            return $"{verb} route {route.Destination} {target} proto {(byte)route.Protocol}";
        };
        if (links is not null)
        {
            _linkWatch = new WorkloadLinkWatch(links, options.WorkloadInterfacePrefix, loggers.CreateLogger<WorkloadLinkWatch>());
            links.Start();
        }
    }

    private readonly Func<Dictionary<string, int>> _links;
    private readonly Func<RouteOperation, string> _describe;

    public TimeSpan ResyncInterval => _options.RouteResyncInterval;

    /// <summary>What <see cref="OpenKernel"/> found: the kernel's facilities, and what to dispose with the dataplane.</summary>
    private sealed record KernelParts(INetlink Netlink, ISysctlWriter Sysctls, IDisposable? Owned,
        Func<ILoggerFactory, DhcpReconciler> Dhcp, INftables? Nftables, ILinkNotifications? Links);

    private static KernelParts OpenKernel(DataplaneOptions options, ILoggerFactory loggers)
    {
        // DHCP shares the rtnetlink client (thread-safe) and starts dnsmasq inside the namespace.
        Func<ILoggerFactory, DhcpReconciler> Dhcp(NetlinkRouteClient client, NetworkNamespace? ns) => loggers =>
            new DhcpReconciler(client, ns, options, TransientRetry.Create(options), loggers.CreateLogger<DhcpReconciler>());
        var ns = options.NetworkNamespace is { Length: > 0 } name ? NetworkNamespace.Open(name) : null;
        var client = ns is null ? NetlinkRouteClient.Open() : NetlinkRouteClient.Open(ns);
        var kernel = new NetlinkKernel(client);
        var nftables = !options.PolicyEnabled ? null : ns is null ? NftablesKernel.Open() : NftablesKernel.Open(ns);
        var links = options.WatchLinks ? OpenLinkNotifications(ns, loggers) : null;
        // Disposed in this order: notifications first (no handler runs after), the namespace handle last.
        IDisposable?[] owned = [links, nftables, kernel, ns];
        return new KernelParts(kernel, new ProcSysctls(ns is null ? new Sysctls() : new Sysctls(ns)),
            new Owned([.. owned.OfType<IDisposable>()]), Dhcp(client, ns), nftables, links);
    }

    /// <summary>The link monitor; without it (a kernel that refuses) new taps are found by applies and resyncs only.</summary>
    private static NetlinkLinkNotifications? OpenLinkNotifications(NetworkNamespace? ns, ILoggerFactory loggers)
    {
        try
        {
            return new NetlinkLinkNotifications(NetlinkLinkMonitor.Open(ns));
        }
        catch (NetlinkException e)
        {
            LogNoLinkWatch(loggers.CreateLogger<LinuxDataplane>(), e.Message);
            return null;
        }
    }

    public async Task<DataplaneResult> ApplyAsync(IReadOnlyDictionary<DesiredKey, DesiredItem> desired,
        IReadOnlyList<DesiredChange> changes, bool isSnapshot, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var sw = Stopwatch.StartNew();
            var result = await Task.Run(() => Reconcile(desired, drift: false, changes, isSnapshot), cancellationToken);
            _desired = desired;
            DataplaneTelemetry.ApplyDuration.Record(sw.Elapsed.TotalMilliseconds);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<DataplaneResult> ResyncAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await ResyncLockedAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forgets every belief and reads the kernel back; called with the gate held.</summary>
    private async Task<DataplaneResult> ResyncLockedAsync(CancellationToken cancellationToken)
    {
        using var activity = CalicoTelemetry.Source.StartActivity("dataplane.resync");
        var sw = Stopwatch.StartNew();
        _routes.Invalidate();
        _interfaces.Invalidate();
        _dhcp?.Invalidate();
        var result = await Task.Run(() => Reconcile(_desired, drift: true), cancellationToken);
        DataplaneTelemetry.ResyncDuration.Record(sw.Elapsed.TotalMilliseconds);
        return result;
    }

    private DataplaneResult Reconcile(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, bool drift,
        IReadOnlyList<DesiredChange>? changes = null, bool isSnapshot = true)
    {
        var interfaces = desired.Values.OfType<WorkloadInterfaceItem>().ToList();
        var interfaceResults = _interfaces.Reconcile(interfaces);
        ReconcilePolicy(desired, drift, changes, isSnapshot);

        var (routes, routeOwners, localRoutes) = KernelRoutes(desired, name =>
            interfaceResults.TryGetValue(name, out var iface) && iface.State == InterfaceState.Ready ? iface.Index : null);
        var routeResult = _routes.Reconcile(routes, drift);
        var dhcp = ReconcileDhcp(desired, drift);
        _programmed = new Programmed(interfaces, localRoutes, interfaceResults,
            FailuresByInterface(routeResult.Failures, routeOwners), dhcp.Failures);
        LogApplied(_logger, drift ? "resync" : "apply", routeResult.Written, routeResult.Deleted, routeResult.Failures.Count, interfaces.Count);
        return Statuses(_programmed);
    }

    /// <summary>
    /// What the last reconcile left, by workload interface: enough to reconcile a few interfaces again without
    /// going through the whole desired state, and to say how every endpoint stands.
    /// </summary>
    /// <param name="Interfaces">The desired workload interfaces.</param>
    /// <param name="LocalRoutes">Each interface's local routes (those on its tap), by interface name.</param>
    /// <param name="InterfaceStates">How each interface stood.</param>
    /// <param name="RouteFailures">Interfaces some of whose local routes could not be programmed, and why.</param>
    /// <param name="DhcpFailures">Endpoints (port ids) whose DHCP is not served, and why.</param>
    private sealed record Programmed(
        IReadOnlyList<WorkloadInterfaceItem> Interfaces,
        IReadOnlyDictionary<string, List<RouteItem>> LocalRoutes,
        IReadOnlyDictionary<string, InterfaceResult> InterfaceStates,
        IReadOnlyDictionary<string, string> RouteFailures,
        IReadOnlyDictionary<string, string> DhcpFailures)
    {
        public static readonly Programmed Nothing = new([], new Dictionary<string, List<RouteItem>>(),
            new Dictionary<string, InterfaceResult>(), new Dictionary<string, string>(), new Dictionary<string, string>());
    }

    private static Dictionary<string, string> FailuresByInterface(IReadOnlyDictionary<RouteKey, string> failures,
        IReadOnlyDictionary<RouteKey, string> owners) =>
        failures.Where(f => owners.ContainsKey(f.Key))
            .GroupBy(f => owners[f.Key])
            .ToDictionary(g => g.Key, g => string.Join("; ", g.Select(f => f.Value)), StringComparer.Ordinal);

    /// <summary>Every endpoint's status from what the reconcilers left; numbered, as results are computed under the gate.</summary>
    private DataplaneResult Statuses(Programmed programmed)
    {
        var endpoints = new Dictionary<string, EndpointProgramming>(StringComparer.Ordinal);
        foreach (var item in programmed.Interfaces)
        {
            var state = programmed.InterfaceStates[item.Name];
            endpoints[item.EndpointId] = state.State switch
            {
                InterfaceState.Missing => new EndpointProgramming(EndpointStatusKind.Down, state.Reason),
                InterfaceState.Failed => new EndpointProgramming(EndpointStatusKind.Error, state.Reason),
                _ when programmed.RouteFailures.TryGetValue(item.Name, out var reason) => new EndpointProgramming(EndpointStatusKind.Error, reason),
                _ when _policy?.ProblemOf(item) is { } problem => new EndpointProgramming(EndpointStatusKind.Error, "policy: " + problem),
                _ when !item.AdminUp => new EndpointProgramming(EndpointStatusKind.Down, "administratively down"),
                _ => new EndpointProgramming(EndpointStatusKind.Active, null),
            };
            if (programmed.DhcpFailures.TryGetValue(item.EndpointId, out var dhcpFailure))
                endpoints[item.EndpointId] = WithDhcpFailure(endpoints[item.EndpointId], dhcpFailure);
        }
        return new DataplaneResult(endpoints) { Sequence = ++_sequence };
    }

    // ---- Policy (Policy/WorkloadPolicy: security groups, anti-spoofing, NAT in table inet calico) ----

    /// <summary>
    /// A refused table concerns every endpoint: it is logged and shows in their statuses (<see cref="WorkloadPolicy.ProblemOf"/>),
    /// and the next apply or resync compiles from scratch and tries again. Routes and DHCP are programmed regardless.
    /// </summary>
    private void ReconcilePolicy(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, bool drift, IReadOnlyList<DesiredChange>? changes, bool isSnapshot)
    {
        if (_policy is null) return;
        try
        {
            if (drift) _policy.Resync(desired);
            else _policy.Apply(desired, changes, isSnapshot);
        }
        catch (Exception e) when (e is NftablesException or ArgumentException or InvalidOperationException or KeyNotFoundException)
        {
            LogPolicyFailed(_logger, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workload policy (nftables table inet calico) not programmed: {Reason}")]
    private static partial void LogPolicyFailed(ILogger logger, string reason);

    // ---- DHCP (Dhcp/DhcpReconciler) ----

    private DhcpResult ReconcileDhcp(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, bool drift) =>
        _dhcp?.Reconcile(desired.Values.OfType<DhcpSubnetItem>().ToList(), desired.Values.OfType<DhcpHostItem>().ToList(), drift)
        ?? DhcpResult.None;

    /// <summary>A port whose DHCP is not served is in error, unless it is already down or in error for another reason.</summary>
    private static EndpointProgramming WithDhcpFailure(EndpointProgramming status, string reason) => status.Status switch
    {
        EndpointStatusKind.Active => new EndpointProgramming(EndpointStatusKind.Error, "DHCP: " + reason),
        EndpointStatusKind.Error => status with { Message = $"{status.Message}; DHCP: {reason}" },
        _ => status,
    };

    /// <summary>
    /// Our routes in kernel terms. A local route needs its interface's index; without one (the interface is not
    /// ready) it is left out, and its endpoint reports why. Also: which interface each local route is on (by key),
    /// and each interface's local routes (all of them, ready or not).
    /// </summary>
    private (Dictionary<RouteKey, Route> Routes, Dictionary<RouteKey, string> Owners, Dictionary<string, List<RouteItem>> LocalRoutes) KernelRoutes(
        IReadOnlyDictionary<DesiredKey, DesiredItem> desired, Func<string, int?> indexOf)
    {
        var routes = new Dictionary<RouteKey, Route>();
        var owners = new Dictionary<RouteKey, string>();
        var localRoutes = new Dictionary<string, List<RouteItem>>(StringComparer.Ordinal);
        foreach (var item in desired.Values.OfType<RouteItem>())
        {
            var destination = Destination(item);
            Route route;
            if (item.Kind == RouteKind.Local)
            {
                var name = item.InterfaceName!;
                if (!localRoutes.TryGetValue(name, out var onInterface)) localRoutes[name] = onInterface = [];
                onInterface.Add(item);
                if (indexOf(name) is not { } index) continue;
                route = _routes.OnDevice(destination, index);
                owners[route.Key] = name;
            }
            else route = item.Kind == RouteKind.ViaHost ? _routes.Via(destination, item.Gateway!) : _routes.Blackhole(destination);
            routes[route.Key] = route;
        }
        return (routes, owners, localRoutes);
    }

    private static IPNetwork Destination(RouteItem item) => new(item.Destination.Address, item.Destination.Length);

    /// <summary>
    /// What applying <paramref name="desired"/> would change, one line each ("add route ...", "change sysctl ..."),
    /// read from the kernel; nothing is written. The same reconcilers and translation as an apply.
    /// </summary>
    public async Task<IReadOnlyList<string>> PlanAsync(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await Task.Run(() =>
            {
                var interfaces = desired.Values.OfType<WorkloadInterfaceItem>().ToList();
                var plan = _interfaces.Plan(interfaces);
                var links = _links();
                var (routes, _, _) = KernelRoutes(desired, name => links.TryGetValue(name, out var index) ? index : null);
                plan.AddRange(_routes.Plan(routes).Select(op => _describe(op)));
                if (_policy is not null) plan.AddRange(_policy.Plan(desired));
                if (_dhcp is not null)
                    plan.AddRange(_dhcp.Plan(desired.Values.OfType<DhcpSubnetItem>().ToList(), desired.Values.OfType<DhcpHostItem>().ToList()));
                return (IReadOnlyList<string>)plan;
            }, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _dhcp?.Dispose(); // stops watching dnsmasq; dnsmasq keeps serving (fail-static), the next agent adopts it
        _owned?.Dispose();
        _gate.Dispose();
    }

    private sealed class Owned(params IDisposable[] parts) : IDisposable
    {
        public void Dispose()
        {
            foreach (var part in parts) part.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dataplane {Kind}: {Written} routes written, {Deleted} removed, {Failed} failing; {Interfaces} workload interfaces")]
    private static partial void LogApplied(ILogger logger, string kind, int written, int deleted, int failed, int interfaces);
}
