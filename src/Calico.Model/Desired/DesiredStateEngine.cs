namespace Calico.Model.Desired;

/// <summary>
/// Keeps the intent and every host's computed desired state, and turns each resource change into the
/// per-host changes it causes. Hosts a change does not concern get nothing, so their watchers are not woken.
/// Single-threaded, like <see cref="IntentModel"/>.
/// </summary>
public sealed class DesiredStateEngine
{
    private readonly Dictionary<string, Dictionary<DesiredKey, DesiredItem>> _specs = new(StringComparer.Ordinal);

    public IntentModel Intent { get; } = new();

    public IEnumerable<string> Hosts => _specs.Keys;

    /// <summary>The host's current desired state (empty for a host with none).</summary>
    public IReadOnlyDictionary<DesiredKey, DesiredItem> SpecOf(string host) =>
        _specs.TryGetValue(host, out var spec) ? spec : new Dictionary<DesiredKey, DesiredItem>();

    /// <summary>Applies one stored resource change; returns the non-empty per-host changes it causes.</summary>
    public Dictionary<string, List<DesiredChange>> Apply(ResourceChange change)
    {
        var affected = Intent.Apply(change);
        if (affected == AffectedHosts.None) return [];
        IEnumerable<string> hosts = affected.All
            ? Intent.KnownHosts.Union(_specs.Keys, StringComparer.Ordinal).ToList()
            : affected.Hosts;
        return Recompute(hosts);
    }

    /// <summary>Applies many changes (a load at start, or a resync) and recomputes every host once.</summary>
    public Dictionary<string, List<DesiredChange>> ApplyAll(IEnumerable<ResourceChange> changes)
    {
        foreach (var change in changes) Intent.Apply(change);
        return Recompute(Intent.KnownHosts.Union(_specs.Keys, StringComparer.Ordinal).ToList());
    }

    private Dictionary<string, List<DesiredChange>> Recompute(IEnumerable<string> hosts)
    {
        var result = new Dictionary<string, List<DesiredChange>>(StringComparer.Ordinal);
        foreach (var host in hosts)
        {
            var next = HostSpecCalculator.Compute(Intent, host);
            var changes = DesiredDiff.Between(SpecOf(host), next);
            if (next.Count == 0) _specs.Remove(host);
            else _specs[host] = next;
            if (changes.Count > 0) result[host] = changes;
        }
        return result;
    }
}
