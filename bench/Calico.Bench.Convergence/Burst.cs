using System.Diagnostics;
using Calico.Topology.Api;

namespace Calico.Bench.Convergence;

/// <summary>Every port bound at once: per port, milliseconds from the moment the first call was sent; and when the last one got there.</summary>
internal sealed record BurstResult(Percentiles Call, Percentiles Active, Percentiles Routes, double LastCall, double LastActive, double LastRoutes,
    Percentiles ListRoundTrip);

/// <summary>
/// The last phase: the ports, unbound (their taps stay plugged; <see cref="BindProbe.UnbindAllAsync"/>), are all bound
/// again at once, the way a burst of VM boots would. ACTIVE is read by listing the ports (<c>GET /v2.0/ports?fields=id&amp;fields=status</c>)
/// over and over, so its resolution is one list round trip (reported); routes are timed by the hosts' route monitors.
/// </summary>
internal sealed class Burst(NeutronClient api, BindProbe probe, TimeSpan pollInterval, TimeSpan deadline)
{
    public async Task<BurstResult> BindAllAsync(IReadOnlyList<Workload> workloads, CancellationToken cancellationToken)
    {
        var remote = workloads.Select(w => Task.WhenAll(probe.RemoteRoutes(w, cancellationToken))).ToList();
        var sent = Stopwatch.GetTimestamp();
        var calls = workloads.Select(async w =>
        {
            await api.BindPortAsync(w.PortId, w.Host.Name, cancellationToken);
            return Stopwatch.GetTimestamp();
        }).ToList();

        var ids = workloads.Select(w => w.PortId).ToHashSet(StringComparer.Ordinal);
        var active = new Dictionary<string, long>(StringComparer.Ordinal);
        var lists = new List<double>();
        while (active.Count < ids.Count)
        {
            if (Stopwatch.GetElapsedTime(sent) > deadline)
                throw new TimeoutException($"only {active.Count} of {ids.Count} ports were ACTIVE {deadline.TotalSeconds:0} s after the burst");
            var asked = Stopwatch.GetTimestamp();
            var ports = await api.ListAsync("ports", "?fields=id&fields=status", cancellationToken);
            var answered = Stopwatch.GetTimestamp();
            lists.Add(BindProbe.Milliseconds(asked, answered));
            foreach (var port in ports.OfType<JsonObject>())
                if ((string?)port["status"] == "ACTIVE" && (string?)port["id"] is { } id && ids.Contains(id)) active.TryAdd(id, answered);
            if (active.Count < ids.Count) await Task.Delay(pollInterval, cancellationToken);
        }
        var answeredAt = await Task.WhenAll(calls).WaitAsync(deadline, cancellationToken);
        var seen = await Task.WhenAll(remote).WaitAsync(deadline, cancellationToken);

        var call = answeredAt.Select(t => BindProbe.Milliseconds(sent, t)).ToList();
        var activeMs = workloads.Select(w => BindProbe.Milliseconds(sent, active[w.PortId])).ToList();
        var routed = seen.Select(s => s.Max(r => RemoteRoute.From(r, sent).Milliseconds)).ToList();
        return new BurstResult(Percentiles.Of(call), Percentiles.Of(activeMs), Percentiles.Of(routed), call.Max(), activeMs.Max(), routed.Max(),
            Percentiles.Of(lists));
    }
}
