using System.Net;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Model.Desired;

/// <summary>Read access to the cluster's intent, as the per-host calculation needs it.</summary>
public interface IIntentView
{
    HostSpec? Host(string name);
    /// <summary>Every registered host, in ordinal name order.</summary>
    IEnumerable<HostSpec> Hosts();
    Network? Network(string id);
    Subnet? Subnet(string id);
    SecurityGroup? SecurityGroup(string id);
    QosPolicy? QosPolicy(string id);
    IEnumerable<WorkloadEndpoint> EndpointsOnHost(string host);
    /// <summary>Bound endpoints whose live migration prepares them on <paramref name="host"/> (<see cref="WorkloadEndpoint.MigrationTarget"/>), in ordinal id order.</summary>
    IEnumerable<WorkloadEndpoint> EndpointsMigratingTo(string host);
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
    /// <summary>The operators' BGP peers, in ordinal key order.</summary>
    IEnumerable<BgpPeer> BgpPeers();
    /// <summary>The stored cluster BGP settings, or null (configuration alone).</summary>
    BgpConfiguration? BgpConfiguration();
    /// <summary>Whether any registered host is a route reflector.</summary>
    bool HasRouteReflectors { get; }
}

/// <summary>
/// The cluster's intent held in memory with the indexes the calculations need. Single-threaded: the owner (a
/// desired-state shard, or a test) serialises calls. Applying the same final set of resources in any order yields
/// the same model, because each resource is replaced whole and stale revisions are ignored. Resource records are
/// immutable and held by reference, so several models fed the same records share them. An endpoint is held as the hosts
/// program it (<see cref="WorkloadEndpoint.AsProgrammed"/>): once its VM has arrived on its migration target, as bound
/// there.
/// </summary>
public sealed class IntentModel : IIntentView
{
    private static readonly StringComparer Ordinal = StringComparer.Ordinal;

    private readonly Dictionary<string, HostSpec> _hosts = new(Ordinal);
    private readonly Dictionary<string, Network> _networks = new(Ordinal);
    private readonly Dictionary<string, Subnet> _subnets = new(Ordinal);
    private readonly Dictionary<string, SecurityGroup> _groups = new(Ordinal);
    private readonly Dictionary<string, QosPolicy> _qosPolicies = new(Ordinal);
    private readonly Dictionary<string, HashSet<string>> _boundEndpointsByQosPolicy = new(Ordinal);
    private readonly Dictionary<string, HashSet<string>> _networksByQosPolicy = new(Ordinal);
    private readonly Dictionary<string, FloatingIp> _floatingIps = new(Ordinal);
    private readonly SortedDictionary<string, IpPool> _pools = new(Ordinal);
    private readonly Dictionary<string, WorkloadEndpoint> _endpoints = new(Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _endpointsByHost = new(Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _endpointsByMigrationTarget = new(Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _endpointsByGroup = new(Ordinal);
    private readonly Dictionary<string, HashSet<string>> _boundEndpointsByNetwork = new(Ordinal);
    private readonly Dictionary<string, HashSet<string>> _boundEndpointsBySubnet = new(Ordinal);
    private readonly Dictionary<string, SortedSet<string>> _floatingIpsByPort = new(Ordinal);
    private readonly SortedSet<AddressOwner> _boundAddresses = new(AddressOwner.Order);
    private readonly SortedDictionary<string, IpBlock> _blocks = new(Ordinal);
    private readonly Dictionary<IpPrefix, SortedSet<string>> _blocksByCidr = [];
    private readonly Dictionary<(int Version, int Length), int> _blockLengths = [];
    private (int Version, int Length)[] _blockLengthsMostSpecificFirst = [];
    private readonly Dictionary<string, SortedSet<string>> _blocksByAffinity = new(Ordinal);
    private readonly Dictionary<(ResourceKind, string), long> _revisions = [];
    private readonly SortedDictionary<string, BgpPeer> _bgpPeers = new(Ordinal);
    private readonly SortedSet<string> _routeReflectors = new(Ordinal);
    private BgpConfiguration? _bgpConfiguration;

    /// <summary>
    /// Every host that is registered, has bound endpoints (or endpoints migrating to it) or owns blocks: the hosts that
    /// have a desired state.
    /// </summary>
    public IEnumerable<string> KnownHosts =>
        _hosts.Keys.Union(_endpointsByHost.Keys, Ordinal).Union(_endpointsByMigrationTarget.Keys, Ordinal).Union(_blocksByAffinity.Keys, Ordinal);

    public bool IsKnownHost(string host) =>
        _hosts.ContainsKey(host) || _endpointsByHost.ContainsKey(host) || _endpointsByMigrationTarget.ContainsKey(host)
        || _blocksByAffinity.ContainsKey(host);

    public int ResourceCount =>
        _hosts.Count + _networks.Count + _subnets.Count + _groups.Count + _floatingIps.Count + _pools.Count + _endpoints.Count + _blocks.Count
        + _qosPolicies.Count + _bgpPeers.Count + (_bgpConfiguration is null ? 0 : 1);

    public long RevisionOf(ResourceKind kind, string key) => _revisions.GetValueOrDefault((kind, key));

    /// <summary>
    /// Applies a stored resource (or its deletion) and returns the value it replaces (null when it is new). Returns
    /// false, changing nothing, when the change is not newer than what the model holds.
    /// </summary>
    public bool Apply(ResourceChange change, out object? previous)
    {
        previous = null;
        if (change.Revision <= RevisionOf(change.Kind, change.Key)) return false;
        _revisions[(change.Kind, change.Key)] = change.Revision;
        previous = change.Kind switch
        {
            ResourceKind.Host => ApplyHost(change),
            ResourceKind.BgpPeer => Replace(_bgpPeers, change),
            ResourceKind.BgpConfiguration => ApplyBgpConfiguration(change),
            ResourceKind.Network => ApplyNetwork(change),
            ResourceKind.QosPolicy => Replace(_qosPolicies, change),
            // Subnet pools only matter to the API (subnet allocation), never to a host.
            ResourceKind.SubnetPool => null,
            ResourceKind.Subnet => Replace(_subnets, change),
            ResourceKind.SecurityGroup => Replace(_groups, change),
            ResourceKind.IpPool => Replace(_pools, change),
            ResourceKind.FloatingIp => ApplyFloatingIp(change.Key, (FloatingIp?)change.Value),
            ResourceKind.Endpoint => ApplyEndpoint(change.Key, (WorkloadEndpoint?)change.Value),
            ResourceKind.IpBlock => ApplyBlock(change.Key, (IpBlock?)change.Value),
            _ => throw new ArgumentOutOfRangeException(nameof(change), change.Kind, "unknown resource kind"),
        };
        return true;
    }

    /// <summary>Applies a stored resource (or its deletion); false, changing nothing, when it is not newer.</summary>
    public bool Apply(ResourceChange change) => Apply(change, out _);

    private static T? Replace<T>(IDictionary<string, T> map, ResourceChange change) where T : class
    {
        map.TryGetValue(change.Key, out var old);
        if (change.Value is T value) map[change.Key] = value;
        else map.Remove(change.Key);
        return old;
    }

    private HostSpec? ApplyHost(ResourceChange change)
    {
        var old = Replace(_hosts, change);
        _routeReflectors.Remove(change.Key);
        if (change.Value is HostSpec { IsRouteReflector: true }) _routeReflectors.Add(change.Key);
        return old;
    }

    private BgpConfiguration? ApplyBgpConfiguration(ResourceChange change)
    {
        var old = _bgpConfiguration;
        _bgpConfiguration = change.Value as BgpConfiguration;
        return old;
    }

    private Network? ApplyNetwork(ResourceChange change)
    {
        var old = Replace(_networks, change);
        if (old?.QosPolicyId is { } before) RemoveFromHashBucket(_networksByQosPolicy, before, change.Key);
        if ((change.Value as Network)?.QosPolicyId is { } after) HashBucket(_networksByQosPolicy, after).Add(change.Key);
        return old;
    }

    private FloatingIp? ApplyFloatingIp(string id, FloatingIp? value)
    {
        _floatingIps.TryGetValue(id, out var old);
        if (old?.PortId is { } oldPort) RemoveFromBucket(_floatingIpsByPort, oldPort, id);
        if (value is null) _floatingIps.Remove(id);
        else
        {
            _floatingIps[id] = value;
            if (value.PortId is { } port) Bucket(_floatingIpsByPort, port).Add(id);
        }
        return old;
    }

    private WorkloadEndpoint? ApplyEndpoint(string id, WorkloadEndpoint? value)
    {
        _endpoints.TryGetValue(id, out var old);
        if (old is not null) Unindex(old);
        if (value is null) _endpoints.Remove(id);
        else
        {
            value = value.AsProgrammed();
            _endpoints[id] = value;
            Index(value);
        }
        return old;
    }

    private IpBlock? ApplyBlock(string key, IpBlock? value)
    {
        _blocks.TryGetValue(key, out var old);
        if (old is not null)
        {
            _blocks.Remove(key);
            RemoveFromBucket(_blocksByCidr, old.Cidr, key);
            CountBlockLength(old.Cidr, -1);
            if (old.AffinityHost is { } oldHost) RemoveFromBucket(_blocksByAffinity, oldHost, key);
        }
        if (value is not null)
        {
            _blocks[key] = value;
            Bucket(_blocksByCidr, value.Cidr).Add(key);
            CountBlockLength(value.Cidr, +1);
            if (value.AffinityHost is { } host) Bucket(_blocksByAffinity, host).Add(key);
        }
        return old;
    }

    private void CountBlockLength(IpPrefix cidr, int delta)
    {
        var length = (cidr.Version, cidr.Length);
        var count = _blockLengths.GetValueOrDefault(length) + delta;
        if (count > 0 == _blockLengths.ContainsKey(length))
        {
            _blockLengths[length] = count;
            return;
        }
        if (count > 0) _blockLengths[length] = count;
        else _blockLengths.Remove(length);
        _blockLengthsMostSpecificFirst = [.. _blockLengths.Keys.OrderByDescending(l => l.Length)];
    }

    private void Index(WorkloadEndpoint e)
    {
        foreach (var g in e.SecurityGroupIds) Bucket(_endpointsByGroup, g).Add(e.Id);
        if (!e.IsBound) return;
        Bucket(_endpointsByHost, e.Host!).Add(e.Id);
        if (e.MigrationTarget is { } target) Bucket(_endpointsByMigrationTarget, target).Add(e.Id);
        HashBucket(_boundEndpointsByNetwork, e.NetworkId).Add(e.Id);
        if (e.QosPolicyId is { } qos) HashBucket(_boundEndpointsByQosPolicy, qos).Add(e.Id);
        foreach (var f in e.FixedIps)
        {
            HashBucket(_boundEndpointsBySubnet, f.SubnetId).Add(e.Id);
            _boundAddresses.Add(new AddressOwner(f.Address, e.Id));
        }
    }

    private void Unindex(WorkloadEndpoint e)
    {
        foreach (var g in e.SecurityGroupIds) RemoveFromBucket(_endpointsByGroup, g, e.Id);
        if (!e.IsBound) return;
        RemoveFromBucket(_endpointsByHost, e.Host!, e.Id);
        if (e.MigrationTarget is { } target) RemoveFromBucket(_endpointsByMigrationTarget, target, e.Id);
        RemoveFromHashBucket(_boundEndpointsByNetwork, e.NetworkId, e.Id);
        if (e.QosPolicyId is { } qos) RemoveFromHashBucket(_boundEndpointsByQosPolicy, qos, e.Id);
        foreach (var f in e.FixedIps)
        {
            RemoveFromHashBucket(_boundEndpointsBySubnet, f.SubnetId, e.Id);
            _boundAddresses.Remove(new AddressOwner(f.Address, e.Id));
        }
    }

    private static SortedSet<string> Bucket<TKey>(Dictionary<TKey, SortedSet<string>> index, TKey key) where TKey : notnull
    {
        if (!index.TryGetValue(key, out var set)) index[key] = set = new SortedSet<string>(Ordinal);
        return set;
    }

    private static void RemoveFromBucket<TKey>(Dictionary<TKey, SortedSet<string>> index, TKey key, string id) where TKey : notnull
    {
        if (index.TryGetValue(key, out var set) && set.Remove(id) && set.Count == 0) index.Remove(key);
    }

    private static HashSet<string> HashBucket(Dictionary<string, HashSet<string>> index, string key)
    {
        if (!index.TryGetValue(key, out var set)) index[key] = set = new HashSet<string>(Ordinal);
        return set;
    }

    private static void RemoveFromHashBucket(Dictionary<string, HashSet<string>> index, string key, string id)
    {
        if (index.TryGetValue(key, out var set) && set.Remove(id) && set.Count == 0) index.Remove(key);
    }

    public HostSpec? Host(string name) => _hosts.GetValueOrDefault(name);

    public IEnumerable<HostSpec> Hosts() => _hosts.Values.OrderBy(h => h.Name, Ordinal);

    /// <summary>Every registered host (any order).</summary>
    public IEnumerable<string> HostNames() => _hosts.Keys;

    public Network? Network(string id) => _networks.GetValueOrDefault(id);

    public Subnet? Subnet(string id) => _subnets.GetValueOrDefault(id);

    public SecurityGroup? SecurityGroup(string id) => _groups.GetValueOrDefault(id);

    public QosPolicy? QosPolicy(string id) => _qosPolicies.GetValueOrDefault(id);

    /// <summary>
    /// Bound endpoints whose effective QoS policy is <paramref name="policyId"/>: those naming it, and those of the
    /// networks naming it that name none of their own (any order, each once). Cost: what it returns, plus the
    /// bound ports of those networks.
    /// </summary>
    public IEnumerable<string> BoundEndpointsWithQosPolicy(string policyId)
    {
        var own = _boundEndpointsByQosPolicy.TryGetValue(policyId, out var ids) ? ids : [];
        var viaNetwork = _networksByQosPolicy.TryGetValue(policyId, out var networks)
            ? networks.SelectMany(BoundEndpointsOnNetwork).Where(id => _endpoints[id].QosPolicyId is null)
            : [];
        return own.Concat(viaNetwork);
    }

    public WorkloadEndpoint? Endpoint(string id) => _endpoints.GetValueOrDefault(id);

    public FloatingIp? FloatingIp(string id) => _floatingIps.GetValueOrDefault(id);

    public IpBlock? Block(string key) => _blocks.GetValueOrDefault(key);

    public IEnumerable<WorkloadEndpoint> EndpointsOnHost(string host) =>
        _endpointsByHost.TryGetValue(host, out var ids) ? ids.Select(id => _endpoints[id]) : [];

    public IEnumerable<WorkloadEndpoint> EndpointsMigratingTo(string host) =>
        _endpointsByMigrationTarget.TryGetValue(host, out var ids) ? ids.Select(id => _endpoints[id]) : [];

    public int CountEndpointsMigratingTo(string host) => _endpointsByMigrationTarget.TryGetValue(host, out var ids) ? ids.Count : 0;

    public IEnumerable<WorkloadEndpoint> BoundEndpoints() =>
        _endpointsByHost.Values.SelectMany(ids => ids).Order(Ordinal).Select(id => _endpoints[id]);

    /// <summary>Every endpoint, bound or not (any order).</summary>
    public IEnumerable<WorkloadEndpoint> Endpoints() => _endpoints.Values;

    /// <summary>Every floating IP, associated or not (any order).</summary>
    public IEnumerable<FloatingIp> FloatingIps() => _floatingIps.Values;

    public int CountEndpointsOnHost(string host) => _endpointsByHost.TryGetValue(host, out var ids) ? ids.Count : 0;

    public int CountBlocksOfHost(string host) => _blocksByAffinity.TryGetValue(host, out var keys) ? keys.Count : 0;

    public IEnumerable<WorkloadEndpoint> EndpointsInGroup(string groupId) =>
        _endpointsByGroup.TryGetValue(groupId, out var ids) ? ids.Select(id => _endpoints[id]) : [];

    /// <summary>Bound endpoints on the network (any order).</summary>
    public IEnumerable<string> BoundEndpointsOnNetwork(string networkId) =>
        _boundEndpointsByNetwork.TryGetValue(networkId, out var ids) ? ids : [];

    /// <summary>Bound endpoints with a fixed IP on the subnet (any order).</summary>
    public IEnumerable<string> BoundEndpointsOnSubnet(string subnetId) =>
        _boundEndpointsBySubnet.TryGetValue(subnetId, out var ids) ? ids : [];

    /// <summary>Bound endpoints with an address inside <paramref name="prefix"/>, each once.</summary>
    public IEnumerable<string> BoundEndpointsWithAddressIn(IpPrefix prefix)
    {
        var (first, last) = (prefix.First(), prefix.Last());
        var view = _boundAddresses.GetViewBetween(
            new AddressOwner(prefix.Version, first, ""), new AddressOwner(prefix.Version, last, null));
        return view.Select(a => a.EndpointId!).Distinct(Ordinal).ToList();
    }

    /// <summary>Ids of the floating IPs that name the port (associated or not).</summary>
    public IEnumerable<string> FloatingIpsOfPort(string portId) =>
        _floatingIpsByPort.TryGetValue(portId, out var ids) ? ids : [];

    /// <summary>Keys of the blocks affine to the host.</summary>
    public IEnumerable<string> BlocksOfHost(string host) =>
        _blocksByAffinity.TryGetValue(host, out var keys) ? keys : [];

    public IEnumerable<SecurityGroup> SecurityGroups() => _groups.Values;

    public IEnumerable<FloatingIp> AssociatedFloatingIps() =>
        _floatingIps.Values.Where(f => f.IsAssociated).OrderBy(f => f.Id, Ordinal);

    public IEnumerable<IpBlock> Blocks() => _blocks.Values;

    /// <summary>The keys blocks are held under, in ordinal order.</summary>
    public IEnumerable<string> BlockKeys() => _blocks.Keys;

    public IEnumerable<IpPool> Pools() => _pools.Values;

    public IEnumerable<BgpPeer> BgpPeers() => _bgpPeers.Values;

    public BgpPeer? BgpPeer(string key) => _bgpPeers.GetValueOrDefault(key);

    public BgpConfiguration? BgpConfiguration() => _bgpConfiguration;

    public bool HasRouteReflectors => _routeReflectors.Count > 0;

    /// <summary>The registered hosts that are route reflectors, in ordinal name order.</summary>
    public IEnumerable<string> RouteReflectors() => _routeReflectors;

    public IpBlock? BlockContaining(IPAddress address)
    {
        var version = address.Version();
        // Most specific first; a subnet's blocks all have one length, so this is one or two lookups.
        foreach (var (v, length) in _blockLengthsMostSpecificFirst)
        {
            if (v != version) continue;
            if (_blocksByCidr.TryGetValue(new IpPrefix(IpPrefix.Mask(address, length), length), out var keys))
                return _blocks[keys.Min!];
        }
        return null;
    }

    /// <summary>A bound endpoint's address, ordered by family and number so that a prefix is one range.</summary>
    private readonly record struct AddressOwner(int Version, UInt128 Number, string? EndpointId)
    {
        public AddressOwner(IPAddress address, string endpointId) : this(address.Version(), address.ToNumber(), endpointId) { }

        /// <summary>Null sorts after every id, so (v, n, "") .. (v, n', null) spans all owners of n .. n'.</summary>
        public static readonly IComparer<AddressOwner> Order = Comparer<AddressOwner>.Create((a, b) =>
        {
            var c = a.Version.CompareTo(b.Version);
            if (c != 0) return c;
            c = a.Number.CompareTo(b.Number);
            if (c != 0) return c;
            if (a.EndpointId is null) return b.EndpointId is null ? 0 : 1;
            return b.EndpointId is null ? -1 : string.CompareOrdinal(a.EndpointId, b.EndpointId);
        });
    }
}
