using Calico.Model.Resources;

namespace Calico.Model.Desired;

/// <summary>Read access to the cluster's intent, as the per-host calculation needs it.</summary>
public interface IIntentView
{
    HostSpec? Host(string name);
    Network? Network(string id);
    Subnet? Subnet(string id);
    SecurityGroup? SecurityGroup(string id);
    IEnumerable<WorkloadEndpoint> EndpointsOnHost(string host);
    /// <summary>Every bound endpoint, in ordinal id order.</summary>
    IEnumerable<WorkloadEndpoint> BoundEndpoints();
    /// <summary>Endpoints (bound or not) that are members of the group, in ordinal id order.</summary>
    IEnumerable<WorkloadEndpoint> EndpointsInGroup(string groupId);
    WorkloadEndpoint? Endpoint(string id);
    /// <summary>Associated floating IPs, in ordinal id order.</summary>
    IEnumerable<FloatingIp> AssociatedFloatingIps();
}

/// <summary>Which hosts a change may concern.</summary>
public sealed record AffectedHosts(bool All, IReadOnlySet<string> Hosts)
{
    public static readonly AffectedHosts None = new(false, new HashSet<string>());
    public static readonly AffectedHosts Everyone = new(true, new HashSet<string>());
}

/// <summary>
/// The cluster's intent held in memory with the indexes the calculation needs. Single-threaded: the owner
/// (the calculator grain, or a test) serialises calls. Applying the same final set of resources in any order
/// yields the same model, because each resource is replaced whole and stale revisions are ignored.
/// </summary>
public sealed class IntentModel : IIntentView
{
    private readonly Dictionary<string, HostSpec> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Network> _networks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Subnet> _subnets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SecurityGroup> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FloatingIp> _floatingIps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IpPool> _pools = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, WorkloadEndpoint> _endpoints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _endpointsByHost = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _endpointsByGroup = new(StringComparer.Ordinal);
    private readonly Dictionary<(ResourceKind, string), long> _revisions = [];

    /// <summary>Every host that is registered or has endpoints: the hosts that have a desired state.</summary>
    public IEnumerable<string> KnownHosts => _hosts.Keys.Union(_endpointsByHost.Keys).Distinct(StringComparer.Ordinal);

    public int ResourceCount => _hosts.Count + _networks.Count + _subnets.Count + _groups.Count + _floatingIps.Count + _pools.Count + _endpoints.Count;

    public long RevisionOf(ResourceKind kind, string key) => _revisions.GetValueOrDefault((kind, key));

    /// <summary>
    /// Applies a stored resource (or its deletion). Returns the hosts whose desired state may have changed,
    /// or <see cref="AffectedHosts.None"/> when the change is older than what the model already holds.
    /// </summary>
    public AffectedHosts Apply(ResourceChange change)
    {
        if (change.Revision <= RevisionOf(change.Kind, change.Key)) return AffectedHosts.None;
        _revisions[(change.Kind, change.Key)] = change.Revision;
        return change.Kind switch
        {
            ResourceKind.Host => Replace(_hosts, change, _ => AffectedHosts.Everyone),
            ResourceKind.IpPool => Replace(_pools, change, _ => AffectedHosts.Everyone),
            ResourceKind.FloatingIp => Replace(_floatingIps, change, _ => AffectedHosts.Everyone),
            ResourceKind.Network => Replace(_networks, change, _ => HostsWhere(e => e.NetworkId == change.Key)),
            ResourceKind.Subnet => Replace(_subnets, change, _ => HostsWhere(e => e.FixedIps.Any(f => f.SubnetId == change.Key))),
            ResourceKind.SecurityGroup => Replace(_groups, change, _ => HostsOfGroups([change.Key])),
            ResourceKind.Endpoint => ApplyEndpoint(change.Key, (WorkloadEndpoint?)change.Value),
            _ => throw new ArgumentOutOfRangeException(nameof(change), change.Kind, "unknown resource kind"),
        };
    }

    private static AffectedHosts Replace<T>(Dictionary<string, T> map, ResourceChange change, Func<T?, AffectedHosts> affected)
        where T : class
    {
        map.TryGetValue(change.Key, out var old);
        if (change.Value is T value) map[change.Key] = value;
        else map.Remove(change.Key);
        return affected(old);
    }

    private AffectedHosts ApplyEndpoint(string id, WorkloadEndpoint? value)
    {
        _endpoints.TryGetValue(id, out var old);
        if (old is not null) Unindex(old);
        if (value is null) _endpoints.Remove(id);
        else
        {
            _endpoints[id] = value;
            Index(value);
        }
        if (old is null && value is null) return AffectedHosts.None;
        // Anything that moves an address changes other hosts' routes.
        if (old is null || value is null || old.Host != value.Host || old.FixedIps != value.FixedIps || old.AdminStateUp != value.AdminStateUp)
            return AffectedHosts.Everyone;
        var hosts = new HashSet<string>(StringComparer.Ordinal);
        if (value.IsBound) hosts.Add(value.Host!);
        if (old.SecurityGroupIds != value.SecurityGroupIds || old.AllowedAddressPairs != value.AllowedAddressPairs)
        {
            // Member sets of these groups live on every host whose local endpoints have rules referencing them.
            var changedGroups = old.SecurityGroupIds.Union(value.SecurityGroupIds).ToHashSet(StringComparer.Ordinal);
            var referencing = _groups.Values.Where(g => g.RemoteGroupIds.Any(changedGroups.Contains)).Select(g => g.Id);
            hosts.UnionWith(HostsOfGroups(referencing).Hosts);
        }
        return new AffectedHosts(false, hosts);
    }

    private void Index(WorkloadEndpoint e)
    {
        if (e.IsBound) Bucket(_endpointsByHost, e.Host!).Add(e.Id);
        foreach (var g in e.SecurityGroupIds) Bucket(_endpointsByGroup, g).Add(e.Id);
    }

    private void Unindex(WorkloadEndpoint e)
    {
        if (e.IsBound) RemoveFromBucket(_endpointsByHost, e.Host!, e.Id);
        foreach (var g in e.SecurityGroupIds) RemoveFromBucket(_endpointsByGroup, g, e.Id);
    }

    private static SortedSet<string> Bucket(Dictionary<string, SortedSet<string>> index, string key)
    {
        if (!index.TryGetValue(key, out var set)) index[key] = set = new SortedSet<string>(StringComparer.Ordinal);
        return set;
    }

    private static void RemoveFromBucket(Dictionary<string, SortedSet<string>> index, string key, string id)
    {
        if (index.TryGetValue(key, out var set) && set.Remove(id) && set.Count == 0) index.Remove(key);
    }

    private AffectedHosts HostsWhere(Func<WorkloadEndpoint, bool> predicate) =>
        new(false, _endpoints.Values.Where(e => e.IsBound && predicate(e)).Select(e => e.Host!).ToHashSet(StringComparer.Ordinal));

    private AffectedHosts HostsOfGroups(IEnumerable<string> groupIds) =>
        new(false, groupIds.SelectMany(EndpointsInGroup).Where(e => e.IsBound).Select(e => e.Host!).ToHashSet(StringComparer.Ordinal));

    public HostSpec? Host(string name) => _hosts.GetValueOrDefault(name);

    public Network? Network(string id) => _networks.GetValueOrDefault(id);

    public Subnet? Subnet(string id) => _subnets.GetValueOrDefault(id);

    public SecurityGroup? SecurityGroup(string id) => _groups.GetValueOrDefault(id);

    public WorkloadEndpoint? Endpoint(string id) => _endpoints.GetValueOrDefault(id);

    public IEnumerable<WorkloadEndpoint> EndpointsOnHost(string host) =>
        _endpointsByHost.TryGetValue(host, out var ids) ? ids.Select(id => _endpoints[id]) : [];

    public IEnumerable<WorkloadEndpoint> BoundEndpoints() => _endpoints.Values.Where(e => e.IsBound);

    public IEnumerable<WorkloadEndpoint> EndpointsInGroup(string groupId) =>
        _endpointsByGroup.TryGetValue(groupId, out var ids) ? ids.Select(id => _endpoints[id]) : [];

    public IEnumerable<FloatingIp> AssociatedFloatingIps() =>
        _floatingIps.Values.Where(f => f.IsAssociated).OrderBy(f => f.Id, StringComparer.Ordinal);
}
