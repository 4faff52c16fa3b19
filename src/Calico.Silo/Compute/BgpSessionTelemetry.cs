using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Calico.Model;
using Calico.Model.Resources;

namespace Calico.Silo.Compute;

/// <summary>
/// <c>calico.bgp.sessions</c>: the BGP sessions of each host's BIRD by state and address family of the peer (tags
/// <c>host</c>, <c>state</c>, <c>family</c>: ipv4 or ipv6, so that a host's IPv6 sessions show apart), as its agent
/// last read them. One instrument for the process, whatever the number of agents in it; a host whose
/// BIRD could not be read (or runs none) is left out rather than reported with no sessions.
/// </summary>
public static class BgpSessionTelemetry
{
    private static readonly ConcurrentDictionary<string, IReadOnlyList<BgpSession>> Latest = new(StringComparer.Ordinal);

    private static readonly ObservableGauge<int> Sessions = CalicoTelemetry.Meter.CreateObservableGauge(
        "calico.bgp.sessions", Observe, unit: "{session}", description: "BGP sessions of the host's BIRD, by state");

    public static void Record(string host, IReadOnlyList<BgpSession>? sessions)
    {
        _ = Sessions;
        if (sessions is null) Latest.TryRemove(host, out _);
        else Latest[host] = sessions;
    }

    private static IEnumerable<Measurement<int>> Observe() =>
        Latest.SelectMany(kv => kv.Value.GroupBy(s => (s.State, Family: s.Peer.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "ipv6" : "ipv4"))
            .Select(g => new Measurement<int>(g.Count(), new TagList { { "host", kv.Key }, { "state", g.Key.State }, { "family", g.Key.Family } })));
}
