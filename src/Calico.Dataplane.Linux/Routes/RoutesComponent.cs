using System.Net;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Interfaces;
using Calico.Dataplane.Linux.Kernel;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Netlink;
using Microsoft.Extensions.Logging;
using RouteKind = Calico.Model.Desired.RouteKind;

namespace Calico.Dataplane.Linux.Routes;

/// <summary>
/// Routes as a dataplane component (<see cref="RouteReconciler"/> owns the kernel objects): translates route items
/// into kernel terms — a local route needs its tap's index, from the interfaces component; without one (the interface
/// is not ready) it is left out and its endpoint reports why — and puts the endpoints some of whose local routes
/// failed in ERROR.
/// <para>
/// Live migration: a standby route (<see cref="RouteItem.Standby"/>) goes in at <see cref="RouteOptions.MigrationRouteMetric"/>.
/// On the target, the route its destination has until the VM arrives (via the source) goes in one metric higher still,
/// and the tap skips routes while it has no carrier (the interfaces component), so the kernel itself sends the VM's
/// traffic to the tap the moment the tap gets carrier. Once the tap is live (up, with carrier: the VM has arrived) the
/// standby route takes over here, without waiting for the control plane: it goes in at normal priority, the other two
/// go, and its endpoint reports ACTIVE with <c>Arrived</c>, which tells the control plane. Before that the endpoint is
/// DOWN, waiting for the VM.
/// </para>
/// <para>
/// A migration's route via the other host (the source's standby one, the target's until the VM arrives) is programmed
/// only when that host's address is on a network this host is connected to (one of its addresses' subnets): the kernel
/// refuses a gateway it cannot reach directly ("Nexthop has invalid gateway"), and in BGP mode across racks it cannot
/// be resolved through the fabric either (the fabric learns where the VM is from BGP only). There BGP carries the
/// traffic instead: the source's BIRD routes until the VM leaves, the target's /32 once it announces it.
/// </para>
/// </summary>
public sealed partial class RoutesComponent(RouteReconciler routes, INetlink netlink, uint migrationMetric, ILogger logger) : IDataplaneComponent
{
    public static DataplaneComponentRegistration Registration { get; } = new("routes", c =>
        new RoutesComponent(new RouteReconciler(c.Kernel.Netlink, c.Features.Get<RouteOptions>(), c.Retry, c.Loggers.CreateLogger<RouteReconciler>()),
            c.Kernel.Netlink, c.Features.Get<RouteOptions>().MigrationRouteMetric, c.Loggers.CreateLogger<RoutesComponent>()))
    {
        Options = FeatureOptionsBinding.For<RouteOptions, RouteOptionsValidator>(DataplaneOptions.Section),
    };

    private static readonly IReadOnlySet<DesiredKind> Kinds = new HashSet<DesiredKind> { DesiredKind.Route };

    /// <summary>Each interface's local routes (all of them, ready or not), by interface name.</summary>
    private IReadOnlyDictionary<string, List<RouteItem>> _localRoutes = new Dictionary<string, List<RouteItem>>();

    /// <summary>Interfaces some of whose local routes could not be programmed, and why.</summary>
    private IReadOnlyDictionary<string, string> _failures = new Dictionary<string, string>();

    /// <summary>
    /// A live migration's target: the route each destination of a standby local route has until the VM arrives (via the
    /// source, one metric above the standby route).
    /// </summary>
    private IReadOnlyDictionary<IPNetwork, Route> _untilArrival = new Dictionary<IPNetwork, Route>();

    /// <summary>Interfaces with standby local routes (a live migration's target), and whether their VM has arrived.</summary>
    private Dictionary<string, bool> _arrivals = new(StringComparer.Ordinal);

    public string Name => "routes";

    public int StatusPrecedence => 1;

    public IReadOnlySet<DesiredKind> Consumes => Kinds;

    public void Apply(DataplanePass pass)
    {
        var (desired, owners, localRoutes) = KernelRoutes(pass.Items<RouteItem>(), name =>
            pass.Interfaces.TryGetValue(name, out var iface) && iface.State == InterfaceState.Ready ? (iface.Index, iface.Live) : null);
        var result = routes.Reconcile(desired, pass.Drift);
        _localRoutes = localRoutes;
        _arrivals = localRoutes.Where(l => l.Value.Any(r => r.Standby))
            .ToDictionary(l => l.Key, l => pass.Interfaces.GetValueOrDefault(l.Key) is { State: InterfaceState.Ready, Live: true }, StringComparer.Ordinal);
        _failures = FailuresByInterface(result.Failures, owners);
        LogApplied(logger, pass.Drift ? "resync" : "apply", result.Written, result.Deleted, result.Failures.Count);
    }

    public void Invalidate() => routes.Invalidate();

    /// <summary>
    /// The local routes of the affected interfaces only, against what the kernel holds on their old and new devices
    /// (one dump filtered by device each: the kernel deleted those routes with a device, and IPv4 ones when it went
    /// down) — never a read of every route. The other interfaces keep the outcome of the last apply or resync.
    /// </summary>
    public void ReconcileLinks(LinkChangePass pass)
    {
        var desired = new Dictionary<RouteKey, Route>();
        var owners = new Dictionary<RouteKey, string>();
        var devices = new HashSet<int>();
        foreach (var name in pass.Affected)
        {
            var now = pass.After[name];
            if (pass.Before.GetValueOrDefault(name) is { Index: > 0 } was) devices.Add(was.Index);
            if (now.Index > 0) devices.Add(now.Index);
            var ready = now.State == InterfaceState.Ready;
            foreach (var item in _localRoutes.GetValueOrDefault(name) ?? [])
            {
                var destination = Destination(item);
                var key = routes.KeyOf(destination);
                owners[key] = name;
                if (!item.Standby)
                {
                    if (ready) desired[key] = routes.OnDevice(destination, now.Index);
                    continue;
                }
                // A live migration's target: the tap live takes over at normal priority; otherwise the route stays on
                // standby and the destination keeps its route via the source.
                var standbyKey = routes.KeyOf(destination, migrationMetric);
                var untilArrivalKey = routes.KeyOf(destination, migrationMetric + 1);
                owners[standbyKey] = owners[untilArrivalKey] = name;
                if (ready && now.Live) desired[key] = routes.OnDevice(destination, now.Index);
                else
                {
                    if (ready) desired[standbyKey] = routes.OnDevice(destination, now.Index, migrationMetric);
                    if (_untilArrival.GetValueOrDefault(destination) is { } untilArrival) desired[untilArrivalKey] = untilArrival;
                }
            }
            if (_arrivals.ContainsKey(name)) _arrivals[name] = ready && now.Live;
        }
        var result = routes.ReconcileDevices(desired, owners.Keys.ToHashSet(), devices);

        var failures = _failures.Where(f => !pass.Affected.Contains(f.Key)).ToDictionary(StringComparer.Ordinal);
        foreach (var (name, reason) in FailuresByInterface(result.Failures, owners)) failures[name] = reason;
        _failures = failures;
        LogLinksReconciled(logger, pass.Affected.Count, result.Written, result.Deleted, result.Failures.Count);
    }

    /// <summary>The same translation as an apply, with the indexes the kernel's link listing gives now.</summary>
    public IEnumerable<string> Plan(PlanPass pass)
    {
        var links = netlink.ListLinks();
        var byName = links.ToDictionary(l => l.Name, l => l.Index, StringComparer.Ordinal);
        var live = links.Where(WorkloadLinkWatch.IsLive).Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        var (desired, _, _) = KernelRoutes(pass.Items<RouteItem>(), name => byName.TryGetValue(name, out var index) ? (index, live.Contains(name)) : null, applying: false);
        var names = links.ToDictionary(l => l.Index, l => l.Name);
        return routes.Plan(desired).Select(op => Describe(op, names)).ToList();
    }

    public void ReportStatuses(EndpointStatuses statuses)
    {
        foreach (var item in statuses.Endpoints)
        {
            if (_failures.TryGetValue(item.Name, out var reason)) statuses.Fail(item.EndpointId, EndpointStatusKind.Error, reason);
            if (!_arrivals.TryGetValue(item.Name, out var arrived)) continue;
            if (arrived) statuses.MarkArrived(item.EndpointId);
            else statuses.Fail(item.EndpointId, EndpointStatusKind.Down, $"live migration to this host: waiting for the VM (tap {item.Name} not live yet)");
        }
    }

    public void Dispose()
    {
    }

    /// <summary>
    /// Our routes in kernel terms, which interface each local route is on (by key), and each interface's local routes
    /// (all of them, ready or not). <paramref name="interfaceOf"/>: a ready interface's index and whether it is live.
    /// A standby local route whose tap is live has taken over: it goes in at normal priority instead of the route its
    /// destination has until then (kept in <see cref="_untilArrival"/> for the link reconcile).
    /// </summary>
    private (Dictionary<RouteKey, Route> Routes, Dictionary<RouteKey, string> Owners, Dictionary<string, List<RouteItem>> LocalRoutes) KernelRoutes(
        List<RouteItem> items, Func<string, (int Index, bool Live)?> interfaceOf, bool applying = true)
    {
        var desired = new Dictionary<RouteKey, Route>();
        var owners = new Dictionary<RouteKey, string>();
        var localRoutes = new Dictionary<string, List<RouteItem>>(StringComparer.Ordinal);
        var standby = new HashSet<IPNetwork>();
        var arrived = new HashSet<IPNetwork>();
        foreach (var item in items)
        {
            if (item is not { Kind: RouteKind.Local, Standby: true }) continue;
            standby.Add(Destination(item));
            if (interfaceOf(item.InterfaceName!) is { Live: true }) arrived.Add(Destination(item));
        }
        var untilArrival = new Dictionary<IPNetwork, Route>();
        List<IPNetwork>? connected = null;
        foreach (var item in items)
        {
            var destination = Destination(item);
            Route route;
            if (item.Kind == RouteKind.Local)
            {
                var name = item.InterfaceName!;
                if (!localRoutes.TryGetValue(name, out var onInterface)) localRoutes[name] = onInterface = [];
                onInterface.Add(item);
                if (interfaceOf(name) is not { } iface) continue;
                route = routes.OnDevice(destination, iface.Index, item.Standby && !iface.Live ? migrationMetric : 0);
                owners[route.Key] = name;
            }
            else
            {
                var untilArrivalHere = !item.Standby && standby.Contains(destination);
                if (item.Kind == RouteKind.ViaHost && (item.Standby || untilArrivalHere))
                {
                    connected ??= ConnectedNetworks();
                    if (!connected.Any(n => n.Contains(item.Gateway!))) continue;
                }
                var metric = item.Standby ? migrationMetric : untilArrivalHere ? migrationMetric + 1 : 0;
                route = item.Kind == RouteKind.ViaHost ? routes.Via(destination, item.Gateway!, metric) : routes.Blackhole(destination, metric);
                if (untilArrivalHere)
                {
                    untilArrival[destination] = route;
                    if (arrived.Contains(destination)) continue;
                }
            }
            desired[route.Key] = route;
        }
        if (applying) _untilArrival = untilArrival;
        return (desired, owners, localRoutes);
    }

    private static IPNetwork Destination(RouteItem item) => item.Destination.ToNetwork();

    /// <summary>The subnets of this host's own addresses (global and link scope): the gateways it reaches directly.</summary>
    private List<IPNetwork> ConnectedNetworks() => [.. netlink.ListAddresses().Where(a => a.Scope != RouteScope.Host).Select(a => a.Subnet)];

    private static Dictionary<string, string> FailuresByInterface(IReadOnlyDictionary<RouteKey, string> failures,
        IReadOnlyDictionary<RouteKey, string> owners) =>
        failures.Where(f => owners.ContainsKey(f.Key))
            .GroupBy(f => owners[f.Key])
            .ToDictionary(g => g.Key, g => string.Join("; ", g.Select(f => f.Value)), StringComparer.Ordinal);

    private static string Describe(RouteOperation op, Dictionary<int, string> names)
    {
        var verb = op.Kind switch { RouteOperationKind.Add => "add   ", RouteOperationKind.Delete => "remove", _ => "change" };
        var route = op.Route;
        var target = route.Type == RouteType.Blackhole ? "blackhole" : route.Gateway is not null ? $"via {route.Gateway}" : $"dev {names.GetValueOrDefault(route.OutputInterface, $"if{route.OutputInterface}")}";
        var metric = route.Key.Priority is 0 || (route.Family == System.Net.Sockets.AddressFamily.InterNetworkV6 && route.Key.Priority == RouteKey.DefaultIPv6Priority)
            ? "" : $" metric {route.Key.Priority}";
        return $"{verb} route {route.Destination} {target} proto {(byte)route.Protocol}{metric}";
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Routes ({Kind}): {Written} written, {Deleted} removed, {Failed} failing")]
    private static partial void LogApplied(ILogger logger, string kind, int written, int deleted, int failed);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dataplane link change: {Interfaces} workload interfaces reconciled, {Written} routes written, {Deleted} removed, {Failed} failing")]
    private static partial void LogLinksReconciled(ILogger logger, int interfaces, int written, int deleted, int failed);
}
