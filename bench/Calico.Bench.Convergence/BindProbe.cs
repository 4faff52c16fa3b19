using System.Diagnostics;
using System.Net;
using Calico.Topology;
using Calico.Topology.Api;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;

namespace Calico.Bench.Convergence;

/// <summary>How one other host came to route a port's address: the route, and when (0 when it did before the bind).</summary>
internal sealed record RemoteRoute(KernelRoute Route, double Milliseconds, bool AlreadyThere)
{
    /// <summary>A route found already there when the wait began counts from when its host got it, if after <paramref name="sent"/>.</summary>
    public static RemoteRoute From(RouteSeen seen, long sent)
    {
        var at = seen.AlreadyThere ? seen.RoutedSince : seen.SeenAt;
        return at <= sent ? new(seen.Route, 0, true) : new(seen.Route, BindProbe.Milliseconds(sent, at), false);
    }
}

/// <summary>When a VM's tap is plugged, relative to its port's bind call.</summary>
internal enum PlugOrder
{
    /// <summary>Nova's order: the bind call, and as soon as it returns the VIF plugged (the tap created).</summary>
    AfterBind,

    /// <summary>The tap is there before the bind call.</summary>
    Before,
}

/// <summary>When the plug started (its first command creates the tap) and ended (tap and eth0 up), in milliseconds from the bind call sent.</summary>
internal readonly record struct PlugTimes(double Started, double Done)
{
    public double Duration => Done - Started;
}

/// <summary>What one bind cost, in milliseconds from the moment the bind call was sent.</summary>
/// <param name="Floor">A GET of the same port just before, alone: one API round trip.</param>
/// <param name="Plug">When the tap was plugged, in Nova's order; null when it was there before the bind.</param>
/// <param name="Routes">How each other host came to route the address.</param>
/// <param name="Sent">When the bind call was sent (UTC), to find the bind in the silos' logs.</param>
internal sealed record BindSample(Workload Workload, DateTime Sent, double Floor, double Call, PlugTimes? Plug, double Active, IReadOnlyList<RemoteRoute> Routes)
{
    /// <summary>Until the last of the other hosts routes it.</summary>
    public double RoutesAll => Routes.Max(r => r.Milliseconds);

    /// <summary>Until the first of the other hosts routes it.</summary>
    public double RoutesFirst => Routes.Min(r => r.Milliseconds);

    /// <summary>From the start of the plug to ACTIVE read from the API (Nova's order only).</summary>
    public double PlugToActive => Active - (Plug ?? throw new InvalidOperationException($"{Workload} was plugged before its bind")).Started;

    /// <summary>When the plug started (UTC), to find it in the silos' logs.</summary>
    public DateTime PlugStarted => Sent.AddMilliseconds(Plug?.Started ?? 0);
}

/// <summary>
/// Times one bind (<c>PUT /v2.0/ports/{id}</c> with binding:host_id) three ways: the call's own latency; until the
/// API says ACTIVE (a GET every poll interval, started with the call, so ACTIVE is the arrival of the first answer
/// saying so); and until every other host routes the port's address via the port's host — the most specific route of
/// ours (protocol 80) covering it goes via that host's address, whether a /32 or its block — as read by an
/// <c>ip monitor route</c> running in each host (<see cref="RouteTable"/>), so the route is timed without polling.
/// In Nova's order the VM is plugged as soon as the call returns, and the plug is timed too.
/// </summary>
internal sealed class BindProbe(NamespaceTopology topology, IReadOnlyDictionary<ComputeHost, RouteTable> routes, TimeSpan pollInterval, TimeSpan deadline)
{
    private readonly NeutronClient _api = topology.Api;

    public async Task<BindSample> BindAsync(Workload workload, PlugOrder order, CancellationToken cancellationToken)
    {
        var floorStart = Stopwatch.GetTimestamp();
        await _api.PortStatusAsync(workload.PortId, cancellationToken);
        var floor = Stopwatch.GetElapsedTime(floorStart).TotalMilliseconds;

        using var stopPolling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var remote = new List<Task<RouteSeen>>();
        var sentUtc = DateTime.UtcNow;
        var sent = Stopwatch.GetTimestamp();
        var active = FirstActiveAsync(workload.PortId, stopPolling.Token);
        PlugTimes? plug = null;
        try
        {
            var port = await _api.BindPortAsync(workload.PortId, workload.Host.Name, cancellationToken);
            var call = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
            // The first bind may move the address into the host's block (Ipam:ReassignOnFirstBind): the answer says
            // where it is. Routes the hosts got during the call count from when they got them (RouteSeen.RoutedSince).
            workload = workload with { Address = IPAddress.Parse((string)port["fixed_ips"]![0]!["ip_address"]!) };
            remote = RemoteRoutes(workload, stopPolling.Token);
            if (order == PlugOrder.AfterBind)
            {
                var plugStart = Stopwatch.GetTimestamp();
                await topology.PlugVmAsync(workload.Vm);
                plug = new PlugTimes(Milliseconds(sent, plugStart), Milliseconds(sent, Stopwatch.GetTimestamp()));
            }
            var activeAt = await active.WaitAsync(deadline, cancellationToken);
            var seen = await Task.WhenAll(remote).WaitAsync(deadline, cancellationToken);
            return new BindSample(workload, sentUtc, floor, call, plug, Milliseconds(sent, activeAt), [.. seen.Select(r => RemoteRoute.From(r, sent))]);
        }
        catch (TimeoutException)
        {
            var missing = routes.Where(r => r.Key != workload.Host)
                .Select(r => $"{r.Key.Name}: {r.Value.Lookup(workload.Address)?.ToString() ?? "no route"}");
            var tap = order == PlugOrder.Before ? "tap plugged before the bind" : plug is null ? "tap not plugged" : "tap plugged after the bind";
            throw new TimeoutException($"{workload} bound to {workload.Host.Name} did not converge within {deadline.TotalSeconds:0} s ({tap}): " +
                                       $"status {(active.IsCompletedSuccessfully ? "ACTIVE" : "not ACTIVE")}; other hosts route it: {string.Join(", ", missing)}");
        }
        finally
        {
            await stopPolling.CancelAsync();
        }
    }

    /// <summary>Unbinds the ports one after another (their taps stay) and waits until no host routes them on their own.</summary>
    public async Task UnbindAllAsync(IReadOnlyCollection<Workload> workloads, CancellationToken cancellationToken)
    {
        foreach (var workload in workloads) await _api.BindPortAsync(workload.PortId, "", cancellationToken);
        await UntilUnroutedAsync(workloads, deadline);
    }

    /// <summary>For each other host: when its most specific route of ours to the address goes via the port's host.</summary>
    public List<Task<RouteSeen>> RemoteRoutes(Workload workload, CancellationToken cancellationToken)
    {
        var via = workload.Host.Address.ToString();
        return
        [
            .. routes.Where(r => r.Key != workload.Host)
                .Select(r => r.Value.WaitForAsync(workload.Address, route => route.Type == "unicast" && route.Gateway == via, cancellationToken)),
        ];
    }

    /// <summary>
    /// Waits until no host holds a /32 of ours to any of the workloads' addresses (the port's host its local route, the
    /// others theirs via it). Block routes stay: an unbound port keeps its address, so its block stays claimed.
    /// </summary>
    public Task UntilUnroutedAsync(IReadOnlyCollection<Workload> workloads, TimeSpan within) =>
        Eventually.UntilAsync("every host to remove its routes to the unbound ports",
            () => Task.FromResult(workloads.Count(w => routes.Values.Any(t => t.Lookup(w.Address) is { IsHostRoute: true }))), routed => routed == 0, within);

    /// <summary>Per host, the /32 routes of ours via another host (workloads routed on their own, not by a block).</summary>
    public IReadOnlyList<(string Host, int HostRoutes, int BlockRoutes)> RemoteRouteCounts() =>
        [.. routes.Select(r => (r.Key.Name,
            r.Value.Snapshot().Count(k => k.Type == "unicast" && k.Gateway is not null && k.IsHostRoute),
            r.Value.Snapshot().Count(k => k.Type == "unicast" && k.Gateway is not null && !k.IsHostRoute)))
            .OrderBy(c => c.Name, StringComparer.Ordinal)];

    private async Task<long> FirstActiveAsync(string portId, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (await _api.PortStatusAsync(portId, cancellationToken) == "ACTIVE") return Stopwatch.GetTimestamp();
            await Task.Delay(pollInterval, cancellationToken);
        }
    }

    public static double Milliseconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
