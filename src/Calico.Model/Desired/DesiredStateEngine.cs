using System.Net;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Model.Desired;

/// <summary>
/// Keeps the intent and turns each resource change into the per-host changes it causes, at a cost proportional to
/// what changes: never a recomputation of a whole host. Hosts a change does not concern get nothing, and no host is
/// told of a change that leaves its state as it was. <see cref="HostSpecCalculator.Compute"/> is the reference: after
/// every change, <see cref="Snapshot"/> (and what each host was told) equals it for every host (property-tested).
/// <para>
/// How: items that several sources may want under one key (routes, interfaces, floating NAT, DHCP) are <em>entries</em>
/// in a per-key table, ranked in the order the reference calculation adds them (first wins) and visible either to one
/// host (its local workload, its block's blackhole) or to every host but one (a route via that host). A source (an
/// endpoint, a block, a floating IP) recomputes only its own entries when it or what it depends on changes; each key
/// it touches is compared before and after, once for the hosts named by its entries and once for all the others.
/// Items that are a plain function of shared state (a group's policy, a remote group's members, the pools) are held
/// once and counted per host (how many of its ports use a group; how many of its used groups name a remote group), so
/// a member change reaches exactly the hosts that need that group.
/// </para>
/// <para>
/// An engine may be scoped to some hosts (a shard): it then holds local items only for those hosts and tells only
/// them, but keeps the whole intent, since any host's routes depend on every other host's ports and blocks.
/// Single-threaded: the owner serialises calls.
/// </para>
/// <para>
/// In BGP routing mode (<paramref name="routing"/>) no source has a route via another host; a registered host is a
/// source of its own instead, with two entries: its BGP identity (visible to itself) and its peer item (visible to every
/// host but itself), so a host registering or leaving reaches every other host once, with one peer item.
/// </para>
/// </summary>
public sealed class DesiredStateEngine(Func<string, bool>? inScope = null, ClusterRouting? routing = null)
{
    private static readonly StringComparer Ordinal = StringComparer.Ordinal;
    private readonly Func<string, bool> _inScope = inScope ?? (_ => true);
    private readonly ClusterRouting _routing = routing ?? ClusterRouting.Direct;
    // The configured routing with the stored BGP settings applied (AS number, mesh); changes with them.
    private ClusterRouting? _bgp;

    // Ranked entries, per key, and each source's entries (so that a source replaces exactly its own).
    private readonly Dictionary<DesiredKey, KeyEntries> _entries = [];
    private readonly Dictionary<(SourceKind, string), Entry[]> _sources = [];
    private readonly Dictionary<string, Dictionary<DesiredKey, int>> _ownedKeys = new(Ordinal);
    private readonly Dictionary<DesiredKey, int> _broadcastKeys = [];

    // Shared items, counted per host.
    private readonly Dictionary<string, SharedItem> _groupItems = new(Ordinal);
    private readonly Dictionary<string, Dictionary<string, int>> _usage = new(Ordinal);
    private readonly Dictionary<string, HashSet<string>> _usersOfGroup = new(Ordinal);
    private readonly Dictionary<string, Dictionary<string, int>> _needs = new(Ordinal);
    private readonly Dictionary<string, HashSet<string>> _needersOfGroup = new(Ordinal);
    private readonly Dictionary<string, MemberSet> _members = new(Ordinal);
    private readonly SortedDictionary<string, SharedItem> _poolItems = new(Ordinal);
    private readonly Dictionary<string, (Subnet Subnet, DhcpSubnetItem Item)> _dhcpSubnetItems = new(Ordinal);
    private readonly Dictionary<string, (QosPolicy Policy, WorkloadQos? Qos)> _qosItems = new(Ordinal);

    private readonly HashSet<string> _known = new(Ordinal);

    // Per change: each touched key's entries before it, and each touched shared (host, key)'s value before it.
    // Null outside Apply (a bulk load tells nobody).
    private Dictionary<DesiredKey, Before>? _journal;
    private Dictionary<string, Dictionary<DesiredKey, Pending>>? _before;

    public IntentModel Intent { get; } = new();

    /// <summary>The cluster's routing configuration this engine computes for.</summary>
    public ClusterRouting Routing => _routing;

    /// <summary>Whether routes via other hosts are computed (direct mode) or left to BIRD (BGP mode).</summary>
    private bool ViaHosts => !_routing.IsBgp;

    /// <summary>The hosts (in scope) that have a desired state: registered, with bound ports, or owning blocks.</summary>
    public IEnumerable<string> Hosts => _known;

    /// <summary>Items held once for all hosts (entries and shared items), for the benchmark and metrics.</summary>
    public int ItemsHeld => _entries.Values.Sum(e => e.Count) + _members.Values.Sum(m => m.Members) + _groupItems.Count + _poolItems.Count;

    /// <summary>
    /// Loads many stored resources at once into an empty engine (at start), telling nobody: watchers take snapshots.
    /// Cost: one pass over the resources.
    /// </summary>
    public void Load(IEnumerable<ResourceChange> changes)
    {
        if (Intent.ResourceCount != 0) throw new InvalidOperationException("Load is for an empty engine; apply changes to a loaded one");
        foreach (var change in changes) Intent.Apply(change, out _);
        foreach (var host in Intent.KnownHosts) if (_inScope(host)) _known.Add(host);
        foreach (var group in Intent.SecurityGroups()) _groupItems[group.Id] = PolicyItemOf(group);
        foreach (var pool in Intent.Pools()) _poolItems[pool.Name] = PoolItemOf(pool);
        foreach (var endpoint in Intent.Endpoints())
        {
            foreach (var (group, prefix) in MembershipsOf(endpoint)) ChangeMember(group, prefix, +1);
            foreach (var (host, group) in UsesOf(endpoint)) ChangeUsage(host, group, +1);
            if (endpoint.IsBound) Recompute(SourceKind.Endpoint, endpoint.Id);
        }
        foreach (var key in Intent.BlockKeys()) Recompute(SourceKind.Block, key);
        foreach (var floating in Intent.FloatingIps()) Recompute(SourceKind.Floating, floating.Id);
        if (_routing.IsBgp)
        {
            foreach (var host in Intent.HostNames()) Recompute(SourceKind.Host, host);
            foreach (var peer in Intent.BgpPeers()) Recompute(SourceKind.Peer, peer.Key);
        }
    }

    /// <summary>Applies many changes (a resync) one by one; returns what each host must be told, merged per key.</summary>
    public Dictionary<string, List<DesiredChange>> ApplyAll(IEnumerable<ResourceChange> changes)
    {
        var merged = new Dictionary<string, Dictionary<DesiredKey, DesiredChange>>(Ordinal);
        foreach (var change in changes)
            foreach (var (host, delta) in Apply(change))
            {
                if (!merged.TryGetValue(host, out var byKey)) merged[host] = byKey = [];
                foreach (var c in delta) byKey[c.Key] = c;
            }
        return merged.ToDictionary(kv => kv.Key, kv => Sorted([.. kv.Value.Values]), Ordinal);
    }

    /// <summary>Applies one stored resource change; returns the non-empty, effective per-host changes it causes.</summary>
    public Dictionary<string, List<DesiredChange>> Apply(ResourceChange change)
    {
        if (change.Revision <= Intent.RevisionOf(change.Kind, change.Key)) return [];

        // Hosts whose existence may change with this resource, and the state of any that might disappear.
        var candidates = HostsNamedBy(change);
        var knownBefore = candidates.Where(_known.Contains).ToHashSet(Ordinal);
        var leavingState = new Dictionary<string, Dictionary<DesiredKey, DesiredItem>>(Ordinal);
        foreach (var host in knownBefore)
            if (MayDisappear(host, change)) leavingState[host] = Snapshot(host);

        _journal = [];
        _before = new(Ordinal);
        try
        {
            Intent.Apply(change, out var previous);
            switch (change.Kind)
            {
                case ResourceKind.Host: HostChanged(change.Key, (HostSpec?)previous, (HostSpec?)change.Value); break;
                case ResourceKind.Network: NetworkChanged(change.Key, (Network?)previous, (Network?)change.Value); break;
                case ResourceKind.Subnet: SubnetChanged(change.Key, (Subnet?)previous, (Subnet?)change.Value); break;
                case ResourceKind.SecurityGroup: GroupChanged(change.Key, (SecurityGroup?)previous, (SecurityGroup?)change.Value); break;
                case ResourceKind.QosPolicy: QosPolicyChanged(change.Key, (QosPolicy?)previous, (QosPolicy?)change.Value); break;
                case ResourceKind.IpPool: PoolChanged(change.Key, (IpPool?)change.Value); break;
                // The intent holds the endpoint as the hosts program it (a migrated VM's port as bound to its target).
                case ResourceKind.Endpoint: EndpointChanged(change.Key, (WorkloadEndpoint?)previous, Intent.Endpoint(change.Key)); break;
                case ResourceKind.FloatingIp: Recompute(SourceKind.Floating, change.Key); break;
                case ResourceKind.IpBlock: BlockChanged(change.Key, (IpBlock?)previous, (IpBlock?)change.Value); break;
                case ResourceKind.BgpPeer: if (_routing.IsBgp) Recompute(SourceKind.Peer, change.Key); break;
                case ResourceKind.BgpConfiguration: BgpConfigurationChanged(); break;
            }

            var entering = new HashSet<string>(Ordinal);
            var leaving = new HashSet<string>(Ordinal);
            foreach (var host in candidates)
            {
                var now = _inScope(host) && Intent.IsKnownHost(host);
                if (now && _known.Add(host)) entering.Add(host);
                else if (!now && _known.Remove(host)) leaving.Add(host);
            }
            return Collect(entering, leaving, leavingState);
        }
        finally
        {
            _journal = null;
            _before = null;
        }
    }

    /// <summary>The host's whole desired state, built from the shared tables (cost: the size of that state).</summary>
    public Dictionary<DesiredKey, DesiredItem> Snapshot(string host) =>
        SnapshotChanges(host).ToDictionary(c => c.Key, c => c.Item!);

    /// <summary>
    /// The host's whole desired state as additions, in no particular order. The change instances are the engine's
    /// own, shared by every host that holds the same item, so a snapshot allocates little beyond its list.
    /// </summary>
    public List<DesiredChange> SnapshotChanges(string host)
    {
        var changes = new List<DesiredChange>();
        if (!_known.Contains(host)) return changes;
        _ownedKeys.TryGetValue(host, out var owned);
        if (owned is not null)
            foreach (var key in owned.Keys)
            {
                var entries = _entries[key];
                if (WinnerFor(entries.OwnedBy(host), entries.Shared, host) is { } entry) changes.Add(entry.Change);
            }
        foreach (var key in _broadcastKeys.Keys)
        {
            if (owned is not null && owned.ContainsKey(key)) continue;
            var entries = _entries[key];
            if (WinnerFor(entries.OwnedBy(host), entries.Shared, host) is { } entry) changes.Add(entry.Change);
        }
        if (_usage.TryGetValue(host, out var usage))
            foreach (var (group, count) in usage)
                if (count > 0 && _groupItems.TryGetValue(group, out var policy)) changes.Add(policy.Change);
        if (_needs.TryGetValue(host, out var needs))
            foreach (var (group, count) in needs)
                if (count > 0 && _members.TryGetValue(group, out var members))
                    foreach (var bucket in members.Buckets) changes.Add(bucket.Shared.Change);
        foreach (var pool in _poolItems.Values) changes.Add(pool.Change);
        return changes;
    }

    // ---- What each kind of change recomputes ----

    private void HostChanged(string name, HostSpec? previous, HostSpec? current)
    {
        // Its BGP identity and peer items (BGP mode): its IPv4 address, AS number, and whether it reflects routes.
        Recompute(SourceKind.Host, name);
        if (_routing.IsBgp)
        {
            // A reflector coming or going changes who peers with whom: every host's peer entries.
            if ((previous?.IsRouteReflector ?? false) != (current?.IsRouteReflector ?? false))
                foreach (var host in Intent.HostNames().ToList()) Recompute(SourceKind.Host, host);
            // Peers selecting hosts by label follow the host's labels.
            if ((previous is null) != (current is null) || previous?.Labels != current?.Labels)
                foreach (var peer in Intent.BgpPeers().Where(p => p.HostLabel is not null).ToList()) Recompute(SourceKind.Peer, peer.Key);
        }
        // Only the host's existence and addresses matter to anyone's routes.
        if (previous?.Ipv4Address == current?.Ipv4Address && previous?.Ipv6Address == current?.Ipv6Address
            && (previous is null) == (current is null)) return;
        foreach (var key in Intent.BlocksOfHost(name).ToList()) Recompute(SourceKind.Block, key);
        foreach (var endpoint in Intent.EndpointsOnHost(name).ToList())
        {
            Recompute(SourceKind.Endpoint, endpoint.Id);
            foreach (var floating in Intent.FloatingIpsOfPort(endpoint.Id)) Recompute(SourceKind.Floating, floating);
        }
        // Ports migrating here: their sources route them via this host on standby.
        foreach (var endpoint in Intent.EndpointsMigratingTo(name).ToList()) Recompute(SourceKind.Endpoint, endpoint.Id);
    }

    /// <summary>The cluster's AS number or mesh changed: every host's identity and peer entries (BGP mode).</summary>
    private void BgpConfigurationChanged()
    {
        _bgp = null;
        if (!_routing.IsBgp) return;
        foreach (var host in Intent.HostNames().ToList()) Recompute(SourceKind.Host, host);
    }

    private ClusterRouting Bgp => _bgp ??= _routing.With(Intent.BgpConfiguration());

    private void NetworkChanged(string id, Network? previous, Network? current)
    {
        if ((previous?.Mtu ?? Network.DefaultMtu) == (current?.Mtu ?? Network.DefaultMtu)
            && previous?.QosPolicyId == current?.QosPolicyId) return;
        foreach (var endpoint in Intent.BoundEndpointsOnNetwork(id).ToList()) Recompute(SourceKind.Endpoint, endpoint);
    }

    /// <summary>
    /// A QoS policy travels inside the interface items of the bound ports whose effective policy it is, so only
    /// those ports' interfaces are recomputed, and only their hosts hear of it.
    /// </summary>
    private void QosPolicyChanged(string id, QosPolicy? previous, QosPolicy? current)
    {
        if (current is null) _qosItems.Remove(id);
        if (Equals(WorkloadQos.Of(previous), WorkloadQos.Of(current))) return;
        foreach (var endpoint in Intent.BoundEndpointsWithQosPolicy(id).ToList()) Recompute(SourceKind.Endpoint, endpoint);
    }

    private void SubnetChanged(string id, Subnet? previous, Subnet? current)
    {
        if (Equals(previous, current)) return;
        if (current is null) _dhcpSubnetItems.Remove(id);
        foreach (var endpoint in Intent.BoundEndpointsOnSubnet(id).ToList()) Recompute(SourceKind.Endpoint, endpoint);
    }

    private void GroupChanged(string id, SecurityGroup? previous, SecurityGroup? current)
    {
        var users = _usersOfGroup.TryGetValue(id, out var set) ? set.ToList() : [];
        var policyKey = new DesiredKey(DesiredKind.Policy, id);
        foreach (var host in users) Record(host, policyKey, null);
        if (current is null) _groupItems.Remove(id);
        else _groupItems[id] = PolicyItemOf(current);

        string[] before = previous is null ? [] : [.. previous.RemoteGroupIds];
        string[] after = current is null ? [] : [.. current.RemoteGroupIds];
        if (before.SequenceEqual(after)) return;
        foreach (var host in users)
        {
            foreach (var remote in after) ChangeNeed(host, remote, +1);
            foreach (var remote in before) ChangeNeed(host, remote, -1);
        }
    }

    private void PoolChanged(string name, IpPool? current)
    {
        var key = new DesiredKey(DesiredKind.IpPool, name);
        foreach (var host in _known) Record(host, key, null);
        if (current is null) _poolItems.Remove(name);
        else _poolItems[name] = PoolItemOf(current);
    }

    private void EndpointChanged(string id, WorkloadEndpoint? previous, WorkloadEndpoint? current)
    {
        // Remote-group membership (bound or not) and group use on the port's host, changed by difference only, so
        // that a bind or an edit that keeps them reaches no other host.
        foreach (var ((group, prefix), delta) in Difference(MembershipsOf(previous), MembershipsOf(current)))
            ChangeMember(group, prefix, delta);
        foreach (var ((host, group), delta) in Difference(UsesOf(previous), UsesOf(current)))
            ChangeUsage(host, group, delta);
        Recompute(SourceKind.Endpoint, id);
        foreach (var floating in Intent.FloatingIpsOfPort(id)) Recompute(SourceKind.Floating, floating);
    }

    private void BlockChanged(string key, IpBlock? previous, IpBlock? current)
    {
        // A block's row is rewritten with every allocation in it; only its range and affinity matter here.
        if (previous?.Cidr == current?.Cidr && previous?.AffinityHost == current?.AffinityHost
            && (previous is null) == (current is null)) return;
        Recompute(SourceKind.Block, key);
        // Whether a port's address is covered by its host's block decides whether others need a /32 for it.
        var ranges = new[] { previous?.Cidr, current?.Cidr }.OfType<IpPrefix>().Distinct();
        foreach (var endpoint in ranges.SelectMany(Intent.BoundEndpointsWithAddressIn).Distinct(Ordinal).ToList())
            Recompute(SourceKind.Endpoint, endpoint);
    }

    // ---- Entries: what each source wants, ranked as the reference calculation adds them ----

    private Entry[] EntriesOf(SourceKind kind, string id) => kind switch
    {
        SourceKind.Endpoint => Intent.Endpoint(id) is { IsBound: true } endpoint ? EndpointEntries(endpoint) : [],
        SourceKind.Block => Intent.Block(id) is { } block ? BlockEntries(id, block) : [],
        SourceKind.Floating => Intent.FloatingIp(id) is { IsAssociated: true } floating ? FloatingEntries(floating) : [],
        SourceKind.Host => Intent.Host(id) is { } host ? HostEntries(host) : [],
        SourceKind.Peer => Intent.BgpPeer(id) is { } peer ? PeerEntries(peer) : [],
        _ => [],
    };

    /// <summary>
    /// BGP mode: the host's identity, for itself; its peer item, for every other host (the mesh, or as a route
    /// reflector), or for each reflector only, as its `rr client` (a client once reflectors exist), or for nobody.
    /// </summary>
    private Entry[] HostEntries(HostSpec host)
    {
        var bgp = Bgp;
        var rank = new Rank(0, host.Name, 0);
        var entries = new List<Entry>(2);
        if (_inScope(host.Name) && bgp.NodeOf(host) is { } node) entries.Add(Entry.Owner(rank, host.Name, node));
        if (host.IsRouteReflector || (!Intent.HasRouteReflectors && bgp.NodeToNodeMesh))
        {
            if (bgp.PeerOf(host) is { } peer) entries.Add(Entry.AllBut(rank, host.Name, peer));
        }
        else if (Intent.HasRouteReflectors && bgp.PeerOf(host, routeReflectorClient: true) is { } client)
        {
            foreach (var reflector in Intent.RouteReflectors())
                if (reflector != host.Name && _inScope(reflector)) entries.Add(Entry.Owner(rank, reflector, client));
        }
        return [.. entries];
    }

    /// <summary>
    /// BGP mode: an operator's peer, one item for the hosts it selects: a global one as one entry seen by every host,
    /// a per-host one as an entry for each selected host (by label: found among the registered hosts).
    /// </summary>
    private Entry[] PeerEntries(BgpPeer peer)
    {
        var item = BgpPeerItem.Of(peer);
        var rank = new Rank(1, peer.Key, 0);
        if (peer.IsGlobal) return [Entry.AllBut(rank, "", item)];
        if (peer.Host is { } named) return _inScope(named) ? [Entry.Owner(rank, named, item)] : [];
        return [.. Intent.Hosts().Where(h => _inScope(h.Name) && peer.Selects(h.Name, h.Labels)).Select(h => Entry.Owner(rank, h.Name, item))];
    }

    private Entry[] EndpointEntries(WorkloadEndpoint endpoint)
    {
        var entries = new List<Entry>();
        var host = endpoint.Host!;
        if (_inScope(host))
        {
            var mtu = Intent.Network(endpoint.NetworkId)?.Mtu ?? Network.DefaultMtu;
            var iface = WorkloadInterfaceItem.For(endpoint, mtu, QosFor(endpoint));
            var addresses = iface.Addresses;
            entries.Add(Entry.Owner(new Rank(0, endpoint.Id, 0), host, iface));
            if (endpoint.AdminStateUp)
                for (var i = 0; i < addresses.Count; i++)
                    entries.Add(Entry.Owner(new Rank(RouteLocal, endpoint.Id, i), host, RouteItem.Local(addresses[i], endpoint.InterfaceName)));
            for (var i = 0; i < endpoint.FixedIps.Count; i++)
            {
                var fixedIp = endpoint.FixedIps[i];
                if (Intent.Subnet(fixedIp.SubnetId) is not { EnableDhcp: true } subnet) continue;
                var rank = new Rank(0, endpoint.Id, i);
                entries.Add(Entry.Owner(rank, host, DhcpSubnetItemFor(subnet, mtu)));
                entries.Add(Entry.Owner(rank, host, DhcpHostItem.For(endpoint, fixedIp.Address, subnet.Id)));
            }
        }
        if (endpoint.MigrationTarget is { } target) AddMigrationEntries(endpoint, target, entries);
        // Other hosts route an address its host borrowed (outside that host's blocks) to the host itself.
        if (ViaHosts && endpoint.AdminStateUp && Intent.Host(host) is { } owner)
        {
            var index = 0;
            foreach (var address in endpoint.Addresses)
            {
                var rank = new Rank(RouteRemoteWorkload, endpoint.Id, index++);
                if (Intent.BlockContaining(address)?.AffinityHost == host) continue;
                if (owner.AddressFor(address.Version()) is { } gateway)
                    entries.Add(Entry.AllBut(rank, host, RouteItem.Via(IpPrefix.Host(address), gateway, host)));
            }
        }
        return [.. entries];
    }

    /// <summary>
    /// A live migration's entries, ranked after the target's own ports (interface, DHCP) and after every other route
    /// (as the reference adds them): on the target the port as a local one with its routes to the tap on standby, and
    /// its addresses via the source; on the source its addresses via the target, on standby.
    /// </summary>
    private void AddMigrationEntries(WorkloadEndpoint endpoint, string target, List<Entry> entries)
    {
        var source = endpoint.Host!;
        if (_inScope(target))
        {
            var mtu = Intent.Network(endpoint.NetworkId)?.Mtu ?? Network.DefaultMtu;
            var iface = WorkloadInterfaceItem.For(endpoint, mtu, QosFor(endpoint));
            entries.Add(Entry.Owner(new Rank(MigrationLocal, endpoint.Id, 0), target, iface));
            if (endpoint.AdminStateUp)
                for (var i = 0; i < iface.Addresses.Count; i++)
                    entries.Add(Entry.Owner(new Rank(RouteLocal, endpoint.Id, i), target, RouteItem.Local(iface.Addresses[i], endpoint.InterfaceName, standby: true)));
            for (var i = 0; i < endpoint.FixedIps.Count; i++)
            {
                var fixedIp = endpoint.FixedIps[i];
                if (Intent.Subnet(fixedIp.SubnetId) is not { EnableDhcp: true } subnet) continue;
                var rank = new Rank(MigrationLocal, endpoint.Id, i);
                entries.Add(Entry.Owner(rank, target, DhcpSubnetItemFor(subnet, mtu)));
                entries.Add(Entry.Owner(rank, target, DhcpHostItem.For(endpoint, fixedIp.Address, subnet.Id)));
            }
        }
        if (!endpoint.AdminStateUp) return;
        var index = 0;
        foreach (var address in endpoint.Addresses)
        {
            var rank = new Rank(RouteMigration, endpoint.Id, index++);
            var prefix = IpPrefix.Host(address);
            if (_inScope(target) && Intent.Host(source)?.AddressFor(prefix.Version) is { } sourceGateway)
                entries.Add(Entry.Owner(rank, target, RouteItem.Via(prefix, sourceGateway, source)));
            if (_inScope(source) && Intent.Host(target)?.AddressFor(prefix.Version) is { } targetGateway)
                entries.Add(Entry.Owner(rank, source, RouteItem.Via(prefix, targetGateway, target, standby: true)));
        }
    }

    /// <summary>The port's effective QoS, one instance per policy version for all the ports using it.</summary>
    private WorkloadQos? QosFor(WorkloadEndpoint endpoint)
    {
        if (WorkloadQos.EffectivePolicyId(Intent, endpoint) is not { } id || Intent.QosPolicy(id) is not { } policy) return null;
        if (_qosItems.TryGetValue(id, out var cached) && ReferenceEquals(cached.Policy, policy)) return cached.Qos;
        var qos = WorkloadQos.Of(policy);
        _qosItems[id] = (policy, qos);
        return qos;
    }

    /// <summary>One instance per subnet (and MTU) for all the ports on it.</summary>
    private DhcpSubnetItem DhcpSubnetItemFor(Subnet subnet, int mtu)
    {
        if (_dhcpSubnetItems.TryGetValue(subnet.Id, out var cached) && ReferenceEquals(cached.Subnet, subnet) && cached.Item.Mtu == mtu)
            return cached.Item;
        var item = DhcpSubnetItem.For(subnet, mtu);
        _dhcpSubnetItems[subnet.Id] = (subnet, item);
        return item;
    }

    private Entry[] BlockEntries(string key, IpBlock block)
    {
        if (block.AffinityHost is not { } host) return [];
        var entries = new List<Entry>(2);
        if (_inScope(host)) entries.Add(Entry.Owner(new Rank(RouteOwnBlock, key, 0), host, RouteItem.Blackhole(block.Cidr)));
        if (ViaHosts && Intent.Host(host)?.AddressFor(block.Cidr.Version) is { } gateway)
            entries.Add(Entry.AllBut(new Rank(RouteRemoteBlock, key, 0), host, RouteItem.Via(block.Cidr, gateway, host)));
        return [.. entries];
    }

    private Entry[] FloatingEntries(FloatingIp floating)
    {
        if (Intent.Endpoint(floating.PortId!) is not { IsBound: true, AdminStateUp: true } port) return [];
        var host = port.Host!;
        var entries = new List<Entry>(2);
        if (_inScope(host) && port.Addresses.Contains(floating.FixedIpAddress!))
            entries.Add(Entry.Owner(new Rank(0, floating.Id, 0), host,
                new FloatingNatItem(floating.FloatingIpAddress, floating.FixedIpAddress!, port.InterfaceName, floating.Id)));
        if (ViaHosts && Intent.Host(host)?.AddressFor(floating.FloatingIpAddress.Version()) is { } gateway)
            entries.Add(Entry.AllBut(new Rank(RouteFloating, floating.Id, 0), host,
                RouteItem.Via(IpPrefix.Host(floating.FloatingIpAddress), gateway, host)));
        return [.. entries];
    }

    // Route ranks: the order in which the reference calculation adds routes (the first wins a key).
    private const int RouteLocal = 1, RouteOwnBlock = 2, RouteRemoteWorkload = 3, RouteRemoteBlock = 4, RouteFloating = 5, RouteMigration = 6;

    // Interfaces and DHCP: a host's own ports (class 0) before the ports migrating to it.
    private const int MigrationLocal = 1;

    private void Recompute(SourceKind kind, string id)
    {
        var source = (kind, id);
        var previous = _sources.GetValueOrDefault(source) ?? [];
        var next = EntriesOf(kind, id);
        if (previous.Length == next.Length && previous.Zip(next).All(p => p.First.SameAs(p.Second))) return;
        foreach (var entry in previous) RemoveEntry(entry);
        foreach (var entry in next) AddEntry(entry);
        if (next.Length == 0) _sources.Remove(source);
        else _sources[source] = next;
    }

    private void AddEntry(Entry entry)
    {
        Journal(entry);
        if (!_entries.TryGetValue(entry.Key, out var entries)) _entries[entry.Key] = entries = new KeyEntries();
        entries.Add(entry);
        if (entry.IsAllBut) Count(_broadcastKeys, entry.Key, +1);
        else
        {
            if (!_ownedKeys.TryGetValue(entry.Host, out var owned)) _ownedKeys[entry.Host] = owned = [];
            Count(owned, entry.Key, +1);
        }
    }

    private void RemoveEntry(Entry entry)
    {
        Journal(entry);
        var entries = _entries[entry.Key];
        entries.Remove(entry);
        if (entries.Count == 0) _entries.Remove(entry.Key);
        if (entry.IsAllBut) Count(_broadcastKeys, entry.Key, -1);
        else
        {
            var owned = _ownedKeys[entry.Host];
            Count(owned, entry.Key, -1);
            if (owned.Count == 0) _ownedKeys.Remove(entry.Host);
        }
    }

    /// <summary>Keeps what the part of the key's entries that <paramref name="entry"/> changes held before the change.</summary>
    private void Journal(Entry entry)
    {
        if (_journal is null) return;
        if (!_journal.TryGetValue(entry.Key, out var before)) _journal[entry.Key] = before = new Before();
        var current = _entries.GetValueOrDefault(entry.Key);
        if (entry.IsAllBut) before.Shared ??= current is null ? [] : [.. current.Shared];
        else
        {
            before.Owned ??= new(Ordinal);
            if (!before.Owned.ContainsKey(entry.Host)) before.Owned[entry.Host] = current is null ? [] : [.. current.OwnedBy(entry.Host)];
        }
    }

    /// <summary>The first entry in rank order that the host sees: its own, or a shared one that is not via itself.</summary>
    private static Entry? WinnerFor(IReadOnlyList<Entry> owned, IReadOnlyList<Entry> shared, string host)
    {
        var own = owned.Count > 0 ? owned[0] : null;
        foreach (var entry in shared)
        {
            if (own is not null && own.Rank.CompareTo(entry.Rank) < 0) break;
            if (entry.Host != host) return entry;
        }
        return own;
    }

    /// <summary>What a host named by none of the entries sees: the first route via another host.</summary>
    private static Entry? GenericWinner(IReadOnlyList<Entry> shared) => shared.Count > 0 ? shared[0] : null;

    // ---- Shared items counted per host ----

    private static IEnumerable<(string Group, IpPrefix Prefix)> MembershipsOf(WorkloadEndpoint? endpoint)
    {
        if (endpoint is null) yield break;
        foreach (var group in endpoint.SecurityGroupIds.Distinct(Ordinal))
        {
            foreach (var address in endpoint.Addresses) yield return (group, IpPrefix.Host(address));
            foreach (var pair in endpoint.AllowedAddressPairs) yield return (group, pair.IpAddress);
        }
    }

    private IEnumerable<(string Host, string Group)> UsesOf(WorkloadEndpoint? endpoint)
    {
        if (endpoint is not { IsBound: true }) yield break;
        // A port migrating to a host uses its groups there too (the target polices it before the VM arrives).
        foreach (var host in new[] { endpoint.Host!, endpoint.MigrationTarget })
            if (host is not null && _inScope(host))
                foreach (var group in endpoint.SecurityGroupIds.Distinct(Ordinal)) yield return (host, group);
    }

    private static Dictionary<T, int> Difference<T>(IEnumerable<T> before, IEnumerable<T> after) where T : notnull
    {
        var delta = new Dictionary<T, int>();
        foreach (var item in before) delta[item] = delta.GetValueOrDefault(item) - 1;
        foreach (var item in after) delta[item] = delta.GetValueOrDefault(item) + 1;
        foreach (var unchanged in delta.Where(kv => kv.Value == 0).Select(kv => kv.Key).ToList()) delta.Remove(unchanged);
        return delta;
    }

    /// <summary>
    /// Counts one more (or one fewer) port naming the prefix as a member of the group. Only a prefix that appears
    /// or goes changes the group's set, and then only its bucket, which the hosts needing the group are told of.
    /// </summary>
    private void ChangeMember(string group, IpPrefix prefix, int delta)
    {
        if (!_members.TryGetValue(group, out var members)) _members[group] = members = new MemberSet(group);
        var bucket = members.Bucket(MemberBuckets.Of(prefix));
        var before = bucket.CountOf(prefix);
        var after = before + delta;
        if (before > 0 == after > 0)
        {
            bucket.SetCount(prefix, after);
            return;
        }
        RecordNeeders(bucket);
        bucket.SetCount(prefix, after);
        members.Changed(bucket);
        if (members.IsEmpty) _members.Remove(group);
    }

    private void RecordNeeders(MemberBucket bucket)
    {
        if (_before is null || !_needersOfGroup.TryGetValue(bucket.Group, out var hosts)) return;
        foreach (var host in hosts) Record(host, bucket.Key, bucket);
    }

    private void ChangeUsage(string host, string group, int delta)
    {
        if (!_usage.TryGetValue(host, out var usage)) _usage[host] = usage = new(Ordinal);
        var before = usage.GetValueOrDefault(group);
        var after = before + delta;
        if (before > 0 != after > 0)
        {
            Record(host, new DesiredKey(DesiredKind.Policy, group), null);
            // The remote groups a used group names are the member sets this host needs.
            if (Intent.SecurityGroup(group) is { } used)
                foreach (var remote in used.RemoteGroupIds) ChangeNeed(host, remote, after > 0 ? +1 : -1);
            if (after > 0) Bucket(_usersOfGroup, group).Add(host);
            else RemoveFromBucket(_usersOfGroup, group, host);
        }
        if (after > 0) usage[group] = after;
        else if (usage.Remove(group) && usage.Count == 0) _usage.Remove(host);
    }

    private void ChangeNeed(string host, string group, int delta)
    {
        if (!_needs.TryGetValue(host, out var needs)) _needs[host] = needs = new(Ordinal);
        var before = needs.GetValueOrDefault(group);
        var after = before + delta;
        if (before > 0 != after > 0)
        {
            if (_before is not null && _members.TryGetValue(group, out var members))
                foreach (var bucket in members.Buckets) Record(host, bucket.Key, bucket);
            if (after > 0) Bucket(_needersOfGroup, group).Add(host);
            else RemoveFromBucket(_needersOfGroup, group, host);
        }
        if (after > 0) needs[group] = after;
        else if (needs.Remove(group) && needs.Count == 0) _needs.Remove(host);
    }

    /// <summary>Notes a shared item's value for the host before the first change that may alter it.</summary>
    private void Record(string host, DesiredKey key, MemberBucket? member)
    {
        if (_before is null || !_known.Contains(host)) return;
        if (!_before.TryGetValue(host, out var pending)) _before[host] = pending = [];
        if (!pending.ContainsKey(key)) pending[key] = new Pending(SharedValue(host, key, member), member);
    }

    private DesiredItem? SharedValue(string host, DesiredKey key, MemberBucket? member) => key.Kind switch
    {
        DesiredKind.Policy => _usage.TryGetValue(host, out var usage) && usage.GetValueOrDefault(key.Id) > 0
            ? _groupItems.GetValueOrDefault(key.Id)?.Item : null,
        DesiredKind.IpSetMember => _needs.TryGetValue(host, out var needs) && needs.GetValueOrDefault(member!.Group) > 0
            && !member.IsEmpty ? member.Shared.Item : null,
        DesiredKind.IpPool => _poolItems.GetValueOrDefault(key.Id)?.Item,
        _ => throw new InvalidOperationException($"{key.Kind} is not a shared item"),
    };

    // ---- Turning the journal into per-host changes ----

    private Dictionary<string, List<DesiredChange>> Collect(
        HashSet<string> entering, HashSet<string> leaving, Dictionary<string, Dictionary<DesiredKey, DesiredItem>> leavingState)
    {
        var output = new Dictionary<string, List<DesiredChange>>(Ordinal);
        void Emit(string host, DesiredChange change)
        {
            if (!output.TryGetValue(host, out var list)) output[host] = list = [];
            list.Add(change);
        }
        bool Steady(string host) => _known.Contains(host) && !entering.Contains(host);
        // One change instance per key and value, whichever hosts it goes to.
        var made = new Dictionary<DesiredKey, DesiredChange>();
        DesiredChange ChangeOf(DesiredKey key, DesiredItem? item)
        {
            if (made.TryGetValue(key, out var change) && ReferenceEquals(change.Item, item)) return change;
            return made[key] = new DesiredChange(key, item);
        }

        foreach (var host in entering) output[host] = SnapshotChanges(host);
        foreach (var host in leaving)
            if (leavingState.TryGetValue(host, out var state) && state.Count > 0)
                output[host] = [.. state.Keys.Select(k => ChangeOf(k, null))];

        foreach (var (key, before) in _journal!)
        {
            var current = _entries.GetValueOrDefault(key);
            IReadOnlyList<Entry> sharedAfter = current?.Shared ?? [];
            IReadOnlyList<Entry> sharedBefore = before.Shared ?? sharedAfter;
            IReadOnlyList<Entry> OwnedAfter(string host) => current?.OwnedBy(host) ?? [];
            IReadOnlyList<Entry> OwnedBefore(string host) =>
                before.Owned is not null && before.Owned.TryGetValue(host, out var list) ? list : OwnedAfter(host);

            // Hosts whose answer may differ from everyone else's: those named by an entry, before or after.
            var named = new HashSet<string>(Ordinal);
            if (before.Owned is not null) named.UnionWith(before.Owned.Keys);
            if (before.Shared is not null)
            {
                foreach (var entry in sharedBefore) named.Add(entry.Host);
                foreach (var entry in sharedAfter) named.Add(entry.Host);
                if (current is not null) named.UnionWith(current.Owners);
                var genericBefore = GenericWinner(sharedBefore);
                var genericAfter = GenericWinner(sharedAfter);
                if (!Same(genericBefore?.Item, genericAfter?.Item))
                {
                    var change = genericAfter?.Change ?? ChangeOf(key, null);
                    foreach (var host in _known)
                        if (!named.Contains(host) && !entering.Contains(host)) Emit(host, change);
                }
            }
            foreach (var host in named)
            {
                if (!Steady(host)) continue;
                var was = WinnerFor(OwnedBefore(host), sharedBefore, host)?.Item;
                var now = WinnerFor(OwnedAfter(host), sharedAfter, host);
                if (!Same(was, now?.Item)) Emit(host, now?.Change ?? ChangeOf(key, null));
            }
        }

        foreach (var (host, pending) in _before!)
        {
            if (!Steady(host)) continue;
            foreach (var (key, (was, member)) in pending)
            {
                var now = SharedValue(host, key, member);
                if (!Same(was, now)) Emit(host, ChangeOf(key, now));
            }
        }

        foreach (var list in output.Values) Sort(list);
        foreach (var empty in output.Where(kv => kv.Value.Count == 0).Select(kv => kv.Key).ToList()) output.Remove(empty);
        return output;
    }

    private static bool Same(DesiredItem? a, DesiredItem? b) => ReferenceEquals(a, b) || (a is not null && a.Equals(b));

    /// <summary>Removals first, then by key: the order <see cref="DesiredDiff.Between"/> gives.</summary>
    private static List<DesiredChange> Sorted(List<DesiredChange> changes)
    {
        Sort(changes);
        return changes;
    }

    private static void Sort(List<DesiredChange> changes) => changes.Sort((a, b) => (a.IsRemoval, b.IsRemoval) switch
    {
        (true, false) => -1,
        (false, true) => 1,
        _ => a.Key.CompareTo(b.Key),
    });

    // ---- Hosts appearing and disappearing ----

    private List<string> HostsNamedBy(ResourceChange change)
    {
        var hosts = new List<string>(2);
        void Add(string? host)
        {
            if (host is not null && !hosts.Contains(host)) hosts.Add(host);
        }
        switch (change.Kind)
        {
            case ResourceKind.Host:
                Add(change.Key);
                break;
            case ResourceKind.Endpoint:
                var before = Intent.Endpoint(change.Key);
                var after = (change.Value as WorkloadEndpoint)?.AsProgrammed();
                Add(before?.Host);
                Add(before?.MigrationTarget);
                Add(after?.Host);
                Add(after?.MigrationTarget);
                break;
            case ResourceKind.IpBlock:
                Add(Intent.Block(change.Key)?.AffinityHost);
                Add((change.Value as IpBlock)?.AffinityHost);
                break;
        }
        hosts.RemoveAll(h => h.Length == 0);
        return hosts;
    }

    /// <summary>
    /// Whether the change might leave the host with no registration, no bound port and no block (so that its state
    /// must be taken now, to tell it to remove everything). Conservative: true also for some that stay.
    /// </summary>
    private bool MayDisappear(string host, ResourceChange change)
    {
        var deregistered = change.Kind == ResourceKind.Host && change.Key == host && change.Value is null;
        if (Intent.Host(host) is not null && !deregistered) return false;
        var endpoints = Intent.CountEndpointsOnHost(host) + Intent.CountEndpointsMigratingTo(host) - (change.Kind == ResourceKind.Endpoint ? 1 : 0);
        var blocks = Intent.CountBlocksOfHost(host) - (change.Kind == ResourceKind.IpBlock ? 1 : 0);
        return endpoints <= 0 && blocks <= 0;
    }

    // ---- Small helpers ----

    private static SharedItem PolicyItemOf(SecurityGroup group) => new(new SecurityGroupPolicyItem(group.Id, group.Rules, group.Stateful));

    private static SharedItem PoolItemOf(IpPool pool) => new(new IpPoolItem(pool.Name, pool.Cidr, pool.OutgoingNat));

    private static void Count<TKey>(Dictionary<TKey, int> counts, TKey key, int delta) where TKey : notnull
    {
        var count = counts.GetValueOrDefault(key) + delta;
        if (count > 0) counts[key] = count;
        else counts.Remove(key);
    }

    private static HashSet<string> Bucket(Dictionary<string, HashSet<string>> index, string key)
    {
        if (!index.TryGetValue(key, out var set)) index[key] = set = new HashSet<string>(Ordinal);
        return set;
    }

    private static void RemoveFromBucket(Dictionary<string, HashSet<string>> index, string key, string value)
    {
        if (index.TryGetValue(key, out var set) && set.Remove(value) && set.Count == 0) index.Remove(key);
    }

    private enum SourceKind : byte { Endpoint, Block, Floating, Host, Peer }

    /// <summary>Where an entry stands among others for its key: class (route kind), then source id, then index.</summary>
    private readonly record struct Rank(int Class, string Id, int Index) : IComparable<Rank>
    {
        public int CompareTo(Rank other)
        {
            var c = Class.CompareTo(other.Class);
            if (c != 0) return c;
            c = string.CompareOrdinal(Id, other.Id);
            return c != 0 ? c : Index.CompareTo(other.Index);
        }
    }

    /// <summary>One source's wish for one key: visible to <see cref="Host"/> only, or (AllBut) to every host but it.</summary>
    private sealed class Entry(Rank rank, string host, bool allBut, DesiredItem item)
    {
        public DesiredKey Key { get; } = item.Key;
        public Rank Rank { get; } = rank;
        public string Host { get; } = host;
        public bool IsAllBut { get; } = allBut;
        public DesiredItem Item { get; } = item;

        private DesiredChange? _change;

        /// <summary>This entry's item as an addition: one instance for every host that is told of it.</summary>
        public DesiredChange Change => _change ??= new DesiredChange(Key, Item);

        public static Entry Owner(Rank rank, string host, DesiredItem item) => new(rank, host, false, item);

        public static Entry AllBut(Rank rank, string host, DesiredItem item) => new(rank, host, true, item);

        public bool SameAs(Entry other) =>
            Rank.Equals(other.Rank) && Host == other.Host && IsAllBut == other.IsAllBut && Same(Item, other.Item);
    }

    /// <summary>
    /// The entries under one key: those shared by all hosts but one (ranked), and each host's own (ranked), apart,
    /// so that a key many hosts hold each for themselves (a subnet's DHCP options) costs one host's entries per change.
    /// </summary>
    private sealed class KeyEntries
    {
        private static readonly List<Entry> None = [];
        private string? _firstHost;
        private List<Entry>? _firstOwned;
        private Dictionary<string, List<Entry>>? _moreOwned;

        public List<Entry> Shared { get; private set; } = None;

        public int Count { get; private set; }

        public IEnumerable<string> Owners
        {
            get
            {
                if (_firstHost is not null) yield return _firstHost;
                if (_moreOwned is not null) foreach (var host in _moreOwned.Keys) yield return host;
            }
        }

        public IReadOnlyList<Entry> OwnedBy(string host) =>
            host == _firstHost ? _firstOwned! : _moreOwned is not null && _moreOwned.TryGetValue(host, out var list) ? list : None;

        public void Add(Entry entry)
        {
            Count++;
            if (entry.IsAllBut)
            {
                if (ReferenceEquals(Shared, None)) Shared = new List<Entry>(1);
                Insert(Shared, entry);
            }
            else if (_firstHost is null || _firstHost == entry.Host)
            {
                _firstHost = entry.Host;
                Insert(_firstOwned ??= new List<Entry>(1), entry);
            }
            else
            {
                _moreOwned ??= new(Ordinal);
                if (!_moreOwned.TryGetValue(entry.Host, out var list)) _moreOwned[entry.Host] = list = new List<Entry>(1);
                Insert(list, entry);
            }
        }

        public void Remove(Entry entry)
        {
            Count--;
            if (entry.IsAllBut) Shared.Remove(entry);
            else if (entry.Host == _firstHost)
            {
                _firstOwned!.Remove(entry);
                if (_firstOwned.Count > 0) return;
                (_firstHost, _firstOwned) = (null, null);
                // Promote another owner so that the first slot is used whenever there is one.
                if (_moreOwned is { Count: > 0 })
                {
                    var (host, list) = _moreOwned.First();
                    _moreOwned.Remove(host);
                    (_firstHost, _firstOwned) = (host, list);
                }
            }
            else if (_moreOwned!.TryGetValue(entry.Host, out var list) && list.Remove(entry) && list.Count == 0)
                _moreOwned.Remove(entry.Host);
        }

        private static void Insert(List<Entry> list, Entry entry)
        {
            var at = list.Count;
            while (at > 0 && list[at - 1].Rank.CompareTo(entry.Rank) > 0) at--;
            list.Insert(at, entry);
        }
    }

    /// <summary>A key's entries before the change: the shared ones if they changed, each changed host's own.</summary>
    private sealed class Before
    {
        public Entry[]? Shared;
        public Dictionary<string, Entry[]>? Owned;
    }

    /// <summary>A group's members (anywhere in the cluster, counted by the ports naming them), in buckets.</summary>
    private sealed class MemberSet(string group)
    {
        private readonly MemberBucket?[] _buckets = new MemberBucket?[MemberBuckets.Count];
        private readonly List<MemberBucket> _nonEmpty = [];

        /// <summary>Distinct members (for the benchmark's count of items held).</summary>
        public int Members => _nonEmpty.Sum(b => b.Members);

        public bool IsEmpty => _nonEmpty.Count == 0;

        /// <summary>The buckets holding at least one member.</summary>
        public IReadOnlyList<MemberBucket> Buckets => _nonEmpty;

        public MemberBucket Bucket(int index) => _buckets[index] ??= new MemberBucket(group, index);

        /// <summary>Keeps the list of non-empty buckets after a member came or went.</summary>
        public void Changed(MemberBucket bucket)
        {
            var listed = _nonEmpty.Contains(bucket);
            if (!bucket.IsEmpty && !listed) _nonEmpty.Add(bucket);
            else if (bucket.IsEmpty && listed) _nonEmpty.Remove(bucket);
        }
    }

    /// <summary>One bucket of a group's members; its item (and addition) is built when first asked for after a change.</summary>
    private sealed class MemberBucket(string group, int index)
    {
        private readonly Dictionary<IpPrefix, int> _counts = [];
        private SharedItem? _shared;

        public string Group { get; } = group;
        public DesiredKey Key { get; } = MemberBuckets.KeyOf(group, index);
        public bool IsEmpty => _counts.Count == 0;
        public int Members => _counts.Count;

        public int CountOf(IpPrefix prefix) => _counts.GetValueOrDefault(prefix);

        public void SetCount(IpPrefix prefix, int count)
        {
            if (count > 0)
            {
                if (_counts.TryAdd(prefix, count)) _shared = null;
                else _counts[prefix] = count;
            }
            else if (_counts.Remove(prefix)) _shared = null;
        }

        public SharedItem Shared => _shared ??= new SharedItem(
            new IpSetMembersItem(Group, index, _counts.Keys.Order(MemberBuckets.Comparer).ToValueList()));
    }

    /// <summary>An item held once for every host (a group's policy, a pool), with its addition.</summary>
    private sealed class SharedItem(DesiredItem item)
    {
        public DesiredItem Item { get; } = item;
        public DesiredChange Change { get; } = new(item.Key, item);
    }

    private readonly record struct Pending(DesiredItem? Before, MemberBucket? Member);
}
