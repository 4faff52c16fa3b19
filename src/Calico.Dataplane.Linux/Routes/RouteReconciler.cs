using System.Net;
using Calico.Dataplane.Linux.Kernel;
using Calico.Netlink;
using Microsoft.Extensions.Logging;
using Polly;

namespace Calico.Dataplane.Linux.Routes;

/// <summary>
/// Makes the kernel hold exactly the desired routes of this host.
/// Owns: routes in <see cref="DataplaneOptions.RouteTable"/> whose protocol is <see cref="DataplaneOptions.RouteProtocol"/>.
/// Never touches: any route of another protocol or table, whatever its destination (a desired route whose key is
/// taken by someone else's route is reported as a failure, not forced: new keys are added with NLM_F_EXCL). A key held
/// by BIRD's route (`proto bird`, BGP routing mode: a peer still announces an address that is now local) is neither
/// forced nor reported: BIRD withdraws it once this host announces the address, and the next apply adds ours.
/// Keeps what it believes the kernel holds; a resync reads the kernel back, so drift (a route deleted or changed by
/// hand) is repaired and counted. Writes go in one batch: adds and replaces first (add before delete), then deletes.
/// </summary>
public sealed partial class RouteReconciler(INetlink kernel, RouteOptions options, ResiliencePipeline retry, ILogger logger)
{
    private readonly RouteProtocol _protocol = (RouteProtocol)options.RouteProtocol;
    private readonly ReportedFailures<RouteKey> _reported = new(
        (key, reason) => LogFailed(logger, key.ToString(), reason), key => LogRecovered(logger, key.ToString()));
    private Dictionary<RouteKey, Route>? _believed;

    /// <summary>Routes as the kernel holds them after our last read and writes (ours only).</summary>
    public IReadOnlyDictionary<RouteKey, Route> Believed => _believed ?? new Dictionary<RouteKey, Route>();

    /// <summary>Build a route of ours (protocol, table) for the reconciler to apply.</summary>
    public Route Via(IPNetwork destination, IPAddress gateway, uint priority = 0) =>
        Route.ViaGateway(destination, gateway, protocol: _protocol, table: options.RouteTable, priority: priority);

    public Route OnDevice(IPNetwork destination, int interfaceIndex, uint priority = 0) =>
        Route.OnDevice(destination, interfaceIndex, protocol: _protocol, table: options.RouteTable, priority: priority);

    public Route Blackhole(IPNetwork destination, uint priority = 0) =>
        Route.Blackhole(destination, protocol: _protocol, table: options.RouteTable, priority: priority);

    /// <summary>The key a route of ours to <paramref name="destination"/> has, whatever it points at.</summary>
    public RouteKey KeyOf(IPNetwork destination, uint priority = 0) => new(destination, options.RouteTable, priority);

    /// <summary>Forget what we believe; the next <see cref="Reconcile"/> reads the kernel and repairs drift.</summary>
    public void Invalidate() => _believed = null;

    /// <summary>Applies the difference between <paramref name="desired"/> and the kernel; returns what it did and what failed.</summary>
    public RouteReconcileResult Reconcile(IReadOnlyDictionary<RouteKey, Route> desired, bool countAsDrift = false)
    {
        var believed = _believed ??= ReadKernel();
        return Execute(believed, Diff(believed, desired), desired, countAsDrift, scope: null);
    }

    /// <summary>
    /// Reconciles only the keys in <paramref name="scope"/> (the local routes of interfaces that came, went, or went
    /// up or down), <paramref name="desired"/> being what they should be. What we believe of those keys on
    /// <paramref name="devices"/> is replaced by what the kernel holds there now, since the kernel changes routes of a
    /// device by itself: it deletes them with the device, and IPv4 ones when the device goes down. Every other route
    /// and belief is left alone. Costs one filtered dump per device (the kernel filters by device), not a full read.
    /// </summary>
    public RouteReconcileResult ReconcileDevices(IReadOnlyDictionary<RouteKey, Route> desired, IReadOnlySet<RouteKey> scope,
        IReadOnlyCollection<int> devices)
    {
        var believed = _believed ??= ReadKernel();
        foreach (var key in scope)
        {
            if (believed.TryGetValue(key, out var route) && devices.Contains(route.OutputInterface)) believed.Remove(key);
        }
        foreach (var device in devices)
        {
            foreach (var route in ReadDevice(device)) believed[route.Key] = route;
        }
        var operations = new List<RouteOperation>();
        foreach (var key in scope)
        {
            var wanted = desired.GetValueOrDefault(key);
            var held = believed.GetValueOrDefault(key);
            if (wanted is not null && held is null) operations.Add(RouteOperation.Add(wanted));
            else if (wanted is not null && !Matches(held!, wanted)) operations.Add(RouteOperation.Replace(wanted));
            else if (wanted is null && held is not null) operations.Add(RouteOperation.Delete(held));
        }
        return Execute(believed, operations, desired, countAsDrift: false, scope);
    }

    /// <summary>Writes <paramref name="operations"/> in one batch, retrying transient failures, and keeps <paramref name="believed"/> up to date.</summary>
    private RouteReconcileResult Execute(Dictionary<RouteKey, Route> believed, List<RouteOperation> operations,
        IReadOnlyDictionary<RouteKey, Route> desired, bool countAsDrift, IReadOnlySet<RouteKey>? scope)
    {
        if (operations.Count == 0) return new RouteReconcileResult(0, 0, desired.Count, ReportFailures(desired, [], scope));

        var failures = new Dictionary<RouteKey, NetlinkException>();
        var transientErrors = new Dictionary<RouteKey, NetlinkException>();
        var pending = (IReadOnlyList<RouteOperation>)operations;
        try
        {
            retry.Execute(() =>
            {
                var results = kernel.Apply(pending);
                var transient = new List<RouteOperation>();
                NetlinkException? first = null;
                foreach (var (operation, error) in results)
                {
                    var key = operation.Route.Key;
                    if (error is null || (operation.Kind == RouteOperationKind.Delete && error.IsNotFound))
                    {
                        if (operation.Kind == RouteOperationKind.Delete) believed.Remove(key);
                        else believed[key] = operation.Route;
                        failures.Remove(key);
                        DataplaneTelemetry.Operations.Add(1, DataplaneTelemetry.Kind("route"), DataplaneTelemetry.Operation(operation.Kind.ToString().ToLowerInvariant()));
                        if (countAsDrift) DataplaneTelemetry.DriftRepairs.Add(1, DataplaneTelemetry.Kind("route"));
                    }
                    else if (error.IsTransient)
                    {
                        transient.Add(operation);
                        transientErrors[key] = error;
                        first ??= error;
                    }
                    else failures[key] = error.IsAlreadyExists && operation.Kind == RouteOperationKind.Add
                        ? new NetlinkException($"add route {key}: the destination is held by a route that is not ours", error.Errno)
                        : error;
                }
                pending = transient;
                if (transient.Count > 0) throw new TransientBatchException("route", transient.Count, first!);
            });
        }
        catch (TransientBatchException)
        {
            // Retries exhausted: what is still pending failed with its last transient error.
            foreach (var op in pending) failures[op.Route.Key] = transientErrors[op.Route.Key];
        }
        var heldByBird = HeldByBird(failures);
        foreach (var key in heldByBird) failures.Remove(key);
        var replaced = operations.Count(o => o.Kind != RouteOperationKind.Delete && !failures.ContainsKey(o.Route.Key) && !heldByBird.Contains(o.Route.Key));
        var deleted = operations.Count(o => o.Kind == RouteOperationKind.Delete && !failures.ContainsKey(o.Route.Key));
        return new RouteReconcileResult(replaced, deleted, desired.Count - replaced - heldByBird.Count, ReportFailures(desired, failures, scope, heldByBird))
        {
            LeftToBird = heldByBird,
        };
    }

    /// <summary>Of the keys refused because another route holds them, those held by BIRD's route (one filtered dump, only when there are any).</summary>
    private HashSet<RouteKey> HeldByBird(Dictionary<RouteKey, NetlinkException> failures)
    {
        var held = new HashSet<RouteKey>();
        if (!failures.Values.Any(e => e.IsAlreadyExists)) return held;
        var bird = retry.Execute(() => kernel.ListRoutes(new RouteFilter(Table: options.RouteTable, Protocol: RouteProtocol.Bird)))
            .Select(r => r.Key).ToHashSet();
        foreach (var (key, error) in failures)
            if (error.IsAlreadyExists && bird.Contains(key)) held.Add(key);
        if (held.Count > 0) LogLeftToBird(logger, held.Count, string.Join(", ", held.Take(3)));
        return held;
    }

    /// <summary>What <see cref="Reconcile"/> would write, read from the kernel, changing nothing.</summary>
    public IReadOnlyList<RouteOperation> Plan(IReadOnlyDictionary<RouteKey, Route> desired) => Diff(ReadKernel(), desired);

    private static List<RouteOperation> Diff(IReadOnlyDictionary<RouteKey, Route> believed, IReadOnlyDictionary<RouteKey, Route> desired)
    {
        var operations = new List<RouteOperation>();
        foreach (var (key, route) in desired)
        {
            // A key we do not hold is added exclusively: if another owner's route sits there, the kernel refuses
            // (EEXIST) and we report it instead of overwriting a route that is not ours.
            if (!believed.TryGetValue(key, out var current)) operations.Add(RouteOperation.Add(route));
            else if (!Matches(current, route)) operations.Add(RouteOperation.Replace(route));
        }
        foreach (var (key, route) in believed)
        {
            if (!desired.ContainsKey(key)) operations.Add(RouteOperation.Delete(route));
        }
        return operations;
    }

    private Dictionary<RouteKey, Route> ReadKernel() =>
        retry.Execute(() => kernel.ListRoutes(new RouteFilter(Table: options.RouteTable, Protocol: _protocol)))
            .GroupBy(r => r.Key).ToDictionary(g => g.Key, g => g.First());

    /// <summary>Our routes on one device; none when the device is gone (the kernel refuses the filter with ENODEV).</summary>
    private IReadOnlyList<Route> ReadDevice(int device)
    {
        try
        {
            return retry.Execute(() => kernel.ListRoutes(new RouteFilter(Table: options.RouteTable, Protocol: _protocol, OutputInterface: device)));
        }
        catch (NetlinkException gone) when (gone.IsNotFound)
        {
            return [];
        }
    }

    /// <summary>The kernel fills in what we leave to it (the device of a route via a gateway); compare only what we set.</summary>
    private static bool Matches(Route current, Route desired) =>
        current.Type == desired.Type &&
        Equals(current.Gateway, desired.Gateway) &&
        (desired.OutputInterface == 0 || current.OutputInterface == desired.OutputInterface) &&
        current.Protocol == desired.Protocol &&
        !current.IsMultipath;

    /// <summary>
    /// Logs each failure once, when it first appears or changes, and once when it clears. With a <paramref name="scope"/>,
    /// only failures of keys in it can clear: the others were not tried.
    /// </summary>
    private Dictionary<RouteKey, string> ReportFailures(IReadOnlyDictionary<RouteKey, Route> desired, Dictionary<RouteKey, NetlinkException> failures,
        IReadOnlySet<RouteKey>? scope, IReadOnlySet<RouteKey>? heldByBird = null)
    {
        var result = new Dictionary<RouteKey, string>();
        foreach (var (key, error) in failures)
        {
            result[key] = error.Message;
            DataplaneTelemetry.Failures.Add(1, DataplaneTelemetry.Kind("route"));
            _reported.Failed(key, error.Message);
        }
        // Still failing if it failed now, was not tried, or is wanted and still not there; else it recovered.
        _reported.RecoveredUnless(key => failures.ContainsKey(key) || (scope is not null && !scope.Contains(key)) || (heldByBird?.Contains(key) ?? false) ||
            (desired.ContainsKey(key) && !(_believed?.ContainsKey(key) ?? false)));
        return result;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot program route {Route}: {Reason} (retried at every update and resync; logged again only if the reason changes)")]
    private static partial void LogFailed(ILogger logger, string route, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Count} routes left to BIRD for now (its route holds the destination; ours goes in once it withdraws): {Routes}")]
    private static partial void LogLeftToBird(ILogger logger, int count, string routes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route {Route} is programmed again")]
    private static partial void LogRecovered(ILogger logger, string route);
}

/// <summary>What one reconcile did: routes written, removed, already right; and those that could not be programmed.</summary>
public sealed record RouteReconcileResult(int Written, int Deleted, int Unchanged, IReadOnlyDictionary<RouteKey, string> Failures)
{
    /// <summary>Desired keys held by BIRD's route (`proto bird`): not written, not failures; tried again at the next apply.</summary>
    public IReadOnlySet<RouteKey> LeftToBird { get; init; } = new HashSet<RouteKey>();
}
