using System.Diagnostics;
using Calico.Topology.Api;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;

namespace Calico.Bench.Convergence;

/// <summary>How one other host came to route a port's address: the route, and when (0 when it did before the bind).</summary>
internal sealed record RemoteRoute(KernelRoute Route, double Milliseconds, bool AlreadyThere)
{
    public static RemoteRoute From(RouteSeen seen, long sent) =>
        new(seen.Route, seen.AlreadyThere ? 0 : BindProbe.Milliseconds(sent, seen.SeenAt), seen.AlreadyThere);
}

/// <summary>What one bind cost, in milliseconds from the moment the bind call was sent.</summary>
/// <param name="Floor">A GET of the same port just before, alone: one API round trip.</param>
/// <param name="Routes">How each other host came to route the address.</param>
/// <param name="Sent">When the bind call was sent (UTC), to find the bind in the silos' logs.</param>
internal sealed record BindSample(Workload Workload, DateTime Sent, double Create, double Floor, double Call, double Active, IReadOnlyList<RemoteRoute> Routes)
{
    /// <summary>Until the last of the other hosts routes it.</summary>
    public double RoutesAll => Routes.Max(r => r.Milliseconds);

    /// <summary>Until the first of the other hosts routes it.</summary>
    public double RoutesFirst => Routes.Min(r => r.Milliseconds);
}

/// <summary>
/// Times one bind (<c>PUT /v2.0/ports/{id}</c> with binding:host_id) three ways: the call's own latency; until the
/// API says ACTIVE (a GET every poll interval, started with the call, so ACTIVE is the arrival of the first answer
/// saying so); and until every other host routes the port's address via the port's host — the most specific route of
/// ours (protocol 80) covering it goes via that host's address, whether a /32 or its block — as read by an
/// <c>ip monitor route</c> running in each host (<see cref="RouteTable"/>), so the route is timed without polling.
/// </summary>
internal sealed class BindProbe(NeutronClient api, IReadOnlyDictionary<ComputeHost, RouteTable> routes, TimeSpan pollInterval, TimeSpan deadline)
{
    public async Task<BindSample> BindAsync(Workload workload, double create, CancellationToken cancellationToken)
    {
        var floorStart = Stopwatch.GetTimestamp();
        await api.PortStatusAsync(workload.PortId, cancellationToken);
        var floor = Stopwatch.GetElapsedTime(floorStart).TotalMilliseconds;

        using var stopPolling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var remote = RemoteRoutes(workload, stopPolling.Token);
        var sentUtc = DateTime.UtcNow;
        var sent = Stopwatch.GetTimestamp();
        var active = FirstActiveAsync(workload.PortId, stopPolling.Token);
        try
        {
            await api.BindPortAsync(workload.PortId, workload.Host.Name, cancellationToken);
            var call = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
            var activeAt = await active.WaitAsync(deadline, cancellationToken);
            var seen = await Task.WhenAll(remote).WaitAsync(deadline, cancellationToken);
            return new BindSample(workload, sentUtc, create, floor, call, Milliseconds(sent, activeAt), [.. seen.Select(r => RemoteRoute.From(r, sent))]);
        }
        catch (TimeoutException)
        {
            var missing = routes.Where(r => r.Key != workload.Host)
                .Select(r => $"{r.Key.Name}: {r.Value.Lookup(workload.Address)?.ToString() ?? "no route"}");
            throw new TimeoutException($"{workload} bound to {workload.Host.Name} did not converge within {deadline.TotalSeconds:0} s: " +
                                       $"status {(active.IsCompletedSuccessfully ? "ACTIVE" : "not ACTIVE")}; other hosts route it: {string.Join(", ", missing)}");
        }
        finally
        {
            await stopPolling.CancelAsync();
        }
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

    /// <summary>Waits until no host holds a route of ours to any of the workloads' addresses.</summary>
    public Task UntilUnroutedAsync(IReadOnlyCollection<Workload> workloads, TimeSpan within) =>
        Eventually.UntilAsync("every host to remove its routes to the unbound ports",
            () => Task.FromResult(workloads.Count(w => routes.Values.Any(t => t.Lookup(w.Address) is not null))), routed => routed == 0, within);

    private async Task<long> FirstActiveAsync(string portId, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (await api.PortStatusAsync(portId, cancellationToken) == "ACTIVE") return Stopwatch.GetTimestamp();
            await Task.Delay(pollInterval, cancellationToken);
        }
    }

    public static double Milliseconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
