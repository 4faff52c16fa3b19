using System.Net;
using Calico.Model.Net;
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
    /// <summary>Every IP block, in ordinal key order.</summary>
    IEnumerable<IpBlock> Blocks();
    /// <summary>
    /// The block that holds <paramref name="address"/>: the most specific one, and of blocks with the same CIDR
    /// (overlapping subnets) the one with the lowest key. Null when no block holds it.
    /// </summary>
    IpBlock? BlockContaining(IPAddress address);
    /// <summary>Every IP pool, in ordinal name order.</summary>
    IEnumerable<IpPool> Pools();
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
    private readonly SortedDictionary<string, IpBlock> _blocks = new(StringComparer.Ordinal);
    private readonly Dictionary<IpPrefix, SortedSet<string>> _blocksByCidr = [];
    private readonly SortedSet<(int Version, int Length)> _blockLengths = [];
    private readonly Dictionary<string, int> _blockCountByHost = new(StringComparer.Ordinal);
    private readonly Dictionary<(ResourceKind, string), long> _revisions = [];

    /// <summary>Every host that is registered, has endpoints or owns blocks: the hosts that have a desired state.</summary>
    public IEnumerable<string> KnownHosts =>
        _hosts.Keys.Union(_endpointsByHost.Keys).Union(_blockCountByHost.Keys).Distinct(StringComparer.Ordinal);

    public int ResourceCount =>
        _hosts.Count + _networks.Count + _subnets.Count + _groups.Count + _floatingIps.Count + _pools.Count + _endpoints.Count + _blocks.Count;

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
            ResourceKind.IpBlock => ApplyBlock(change.Key, (IpBlock?)change.Value),
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

    /// <summary>
    /// A block's affinity decides every host's routes to it (and whether its addresses need routes of their own), so
    /// a real change concerns everyone. The store re-sends unchanged blocks (their row's revision also counts
    /// allocations): those wake nobody.
    /// </summary>
    private AffectedHosts ApplyBlock(string key, IpBlock? value)
    {
        _blocks.TryGetValue(key, out var old);
        if (Equals(old, value)) return AffectedHosts.None;
        if (old is not null)
        {
            _blocks.Remove(key);
            RemoveFromBucket(_blocksByCidr, old.Cidr, key);
            if (!_blocksByCidr.Keys.Any(c => c.Version == old.Cidr.Version && c.Length == old.Cidr.Length))
                _blockLengths.Remove((old.Cidr.Version, old.Cidr.Length));
            if (old.AffinityHost is { } oldHost && --_blockCountByHost[oldHost] == 0) _blockCountByHost.Remove(oldHost);
        }
        if (value is not null)
        {
            _blocks[key] = value;
            if (!_blocksByCidr.TryGetValue(value.Cidr, out var keys)) _blocksByCidr[value.Cidr] = keys = new SortedSet<string>(StringComparer.Ordinal);
            keys.Add(key);
            _blockLengths.Add((value.Cidr.Version, value.Cidr.Length));
            if (value.AffinityHost is { } host) _blockCountByHost[host] = _blockCountByHost.GetValueOrDefault(host) + 1;
        }
        return AffectedHosts.Everyone;
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

    private static void RemoveFromBucket<TKey>(Dictionary<TKey, SortedSet<string>> index, TKey key, string id) where TKey : notnull
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

    public IEnumerable<IpBlock> Blocks() => _blocks.Values;

    public IEnumerable<IpPool> Pools() => _pools.Values.OrderBy(p => p.Name, StringComparer.Ordinal);

    public IpBlock? BlockContaining(IPAddress address)
    {
        var version = address.Version();
        // Most specific first; a subnet's blocks all have one length, so this is one or two lookups.
        foreach (var (v, length) in _blockLengths.Reverse())
        {
            if (v != version) continue;
            if (_blocksByCidr.TryGetValue(new IpPrefix(IpPrefix.Mask(address, length), length), out var keys))
                return _blocks[keys.Min!];
        }
        return null;
    }
}
