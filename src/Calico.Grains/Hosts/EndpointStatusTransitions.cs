using Calico.Model.Resources;

namespace Calico.Grains.Hosts;

public enum EndpointTransitionKind
{
    /// <summary>The port became ACTIVE on the host (its host programmed it: tap up, routes, policy).</summary>
    Plugged,

    /// <summary>The port was ACTIVE on the host and is not any more (DOWN, ERROR, or gone from the host).</summary>
    Unplugged,
}

/// <summary>
/// A port's status changed on a host, as its host's reports show it. <see cref="Replayed"/>: seen in the first report
/// after the host grain's activation, which cannot tell a port that just became ACTIVE from one that was ACTIVE
/// before (statuses are held in memory only); listeners decide what such a transition is worth.
/// </summary>
public sealed record EndpointTransition(string PortId, string Host, EndpointTransitionKind Kind, bool Replayed);

/// <summary>
/// Told of port status transitions by <see cref="HostGrain"/>, within the grain's turn: an implementation must not
/// block or call back into grains there (queue the work and do it elsewhere). Registered in the silo's services; a
/// silo without any has no one to tell.
/// </summary>
public interface IEndpointTransitionListener
{
    void OnTransitions(IReadOnlyList<EndpointTransition> transitions);
}

public static class EndpointTransitions
{
    /// <summary>
    /// The ports whose live-migration VM the report says arrived on the host (ACTIVE there with
    /// <see cref="EndpointStatus.Arrived"/>) that the host had not reported so before.
    /// </summary>
    public static List<string> Arrivals(string host, IReadOnlyDictionary<string, EndpointStatus> before, EndpointStatusReport report) =>
        [.. report.Statuses
            .Where(s => s.Value is { Arrived: true, Status: EndpointStatusKind.Active } status && status.Host == host
                && !(before.TryGetValue(s.Key, out var was) && was is { Arrived: true, Status: EndpointStatusKind.Active }))
            .Select(s => s.Key)];

    /// <summary>
    /// What a report changes against what the host reported before: ports that became ACTIVE, and ports that were
    /// ACTIVE and are no longer (DOWN or ERROR, listed as gone, or left out of a complete report). Statuses naming
    /// another host are ignored, as the host grain ignores them.
    /// </summary>
    public static List<EndpointTransition> Of(string host, IReadOnlyDictionary<string, EndpointStatus> before,
        EndpointStatusReport report, bool firstReport)
    {
        var transitions = new List<EndpointTransition>();
        var active = new Func<string, bool>(id => before.TryGetValue(id, out var s) && s.Status == EndpointStatusKind.Active);
        foreach (var (id, status) in report.Statuses)
        {
            if (status.Host != host) continue;
            var now = status.Status == EndpointStatusKind.Active;
            if (now && !active(id)) transitions.Add(new(id, host, EndpointTransitionKind.Plugged, firstReport));
            else if (!now && active(id)) transitions.Add(new(id, host, EndpointTransitionKind.Unplugged, firstReport));
        }
        var gone = new HashSet<string>(report.Gone, StringComparer.Ordinal);
        if (report.Complete)
            foreach (var id in before.Keys)
                if (!report.Statuses.TryGetValue(id, out var s) || s.Host != host) gone.Add(id);
        foreach (var id in gone.Order(StringComparer.Ordinal))
            if (active(id) && !(report.Statuses.TryGetValue(id, out var s) && s.Host == host))
                transitions.Add(new(id, host, EndpointTransitionKind.Unplugged, firstReport));
        return transitions;
    }
}
