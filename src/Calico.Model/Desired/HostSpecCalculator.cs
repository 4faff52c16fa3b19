using System.Net;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Model.Desired;

/// <summary>
/// The pure per-host calculation: from the cluster's intent to the items one host's dataplane must hold.
/// No I/O and no clock, so the result depends only on the intent it is given.
/// Routes aggregate by IP block: a host holds a blackhole for each block it owns, one route per remote block via
/// the block's host, and a route of its own only for a remote workload address that its host borrowed (one not
/// inside a block affine to that host). Where two sources want the same route, the first in a fixed order wins
/// (local workloads, own blocks, remote workloads by id, remote blocks by key, then floating IPs by id), so the
/// answer does not depend on the order changes arrived in.
/// In BGP routing mode (<see cref="ClusterRouting"/>) no route via another host is computed at all — BIRD learns those
/// from its peers — and the host holds instead its BGP identity (<see cref="BgpNodeItem"/>) and one
/// <see cref="BgpPeerItem"/> per other registered host it peers with (the node-to-node mesh, or its route reflectors;
/// first host by name wins an address), then one per operator's peer that selects it (by address).
/// A live migration (<see cref="WorkloadEndpoint.MigrationTarget"/>) prepares the port on its target as a local port
/// (after the host's own ports), its routes to the tap on standby, and adds, last, the routes that carry its traffic
/// meanwhile: on the target the port's addresses via the source (normal priority), on the source via the target
/// (standby: what is left once the source's tap goes with the VM). Once the VM has arrived on the target the intent
/// holds the port as bound there (<see cref="WorkloadEndpoint.AsProgrammed"/>).
/// </summary>
public static class HostSpecCalculator
{
    public static Dictionary<DesiredKey, DesiredItem> Compute(IIntentView intent, string host, ClusterRouting? routing = null)
    {
        routing ??= ClusterRouting.Direct;
        var viaHosts = !routing.IsBgp;
        var items = new Dictionary<DesiredKey, DesiredItem>();
        var neededSets = new SortedSet<string>(StringComparer.Ordinal);

        foreach (var endpoint in intent.EndpointsOnHost(host))
            AddLocalEndpoint(intent, endpoint, items, neededSets);
        foreach (var endpoint in intent.EndpointsMigratingTo(host))
            AddLocalEndpoint(intent, endpoint, items, neededSets, standby: true);

        foreach (var block in intent.Blocks())
            if (block.AffinityHost == host) TryAdd(items, RouteItem.Blackhole(block.Cidr));

        foreach (var endpoint in viaHosts ? intent.BoundEndpoints() : [])
        {
            if (endpoint.Host == host || !endpoint.AdminStateUp) continue;
            if (intent.Host(endpoint.Host!) is not { } owner) continue;
            foreach (var address in endpoint.Addresses)
            {
                // Covered by the route to its host's block.
                if (intent.BlockContaining(address)?.AffinityHost == endpoint.Host) continue;
                AddRouteVia(items, IpPrefix.Host(address), owner);
            }
        }

        foreach (var block in viaHosts ? intent.Blocks() : [])
        {
            if (block.AffinityHost is not { } affinity || affinity == host) continue;
            if (intent.Host(affinity) is { } owner) AddRouteVia(items, block.Cidr, owner);
        }

        foreach (var floating in intent.AssociatedFloatingIps())
        {
            if (intent.Endpoint(floating.PortId!) is not { IsBound: true, AdminStateUp: true } port) continue;
            if (port.Host == host)
            {
                if (port.Addresses.Contains(floating.FixedIpAddress!))
                    TryAdd(items, new FloatingNatItem(floating.FloatingIpAddress, floating.FixedIpAddress!, port.InterfaceName, floating.Id));
            }
            else if (viaHosts && intent.Host(port.Host!) is { } owner)
            {
                AddRouteVia(items, IpPrefix.Host(floating.FloatingIpAddress), owner);
            }
        }

        foreach (var endpoint in intent.EndpointsMigratingTo(host))
            if (endpoint.AdminStateUp && intent.Host(endpoint.Host!) is { } source)
                foreach (var address in endpoint.Addresses) AddRouteVia(items, IpPrefix.Host(address), source);
        foreach (var endpoint in intent.EndpointsOnHost(host))
            if (endpoint.AdminStateUp && endpoint.MigrationTarget is { } target && intent.Host(target) is { } targetHost)
                foreach (var address in endpoint.Addresses) AddRouteVia(items, IpPrefix.Host(address), targetHost, standby: true);

        if (routing.IsBgp)
        {
            var bgp = routing.With(intent.BgpConfiguration());
            var self = intent.Host(host);
            if (self is not null && bgp.NodeOf(self) is { } node) TryAdd(items, node);
            foreach (var other in intent.Hosts())
                if (other.Name != host && bgp.HostPeer(self?.IsRouteReflector ?? false, other, intent.HasRouteReflectors) is { } peer)
                    TryAdd(items, peer);
            foreach (var peer in intent.BgpPeers())
                if (peer.Selects(host, self?.Labels ?? ValueMap.Empty)) TryAdd(items, BgpPeerItem.Of(peer));
        }

        // Every pool, on every host: the address space that floating-IP SNAT and outgoing NAT leave alone.
        foreach (var pool in intent.Pools())
            TryAdd(items, new IpPoolItem(pool.Name, pool.Cidr, pool.OutgoingNat));

        foreach (var groupId in neededSets)
        {
            var members = intent.EndpointsInGroup(groupId).SelectMany(member =>
                member.Addresses.Select(IpPrefix.Host).Concat(member.AllowedAddressPairs.Select(pair => pair.IpAddress)));
            foreach (var bucket in IpSetMembersItem.Split(groupId, members)) TryAdd(items, bucket);
        }
        return items;
    }

    private static void AddLocalEndpoint(IIntentView intent, WorkloadEndpoint endpoint,
        Dictionary<DesiredKey, DesiredItem> items, SortedSet<string> neededSets, bool standby = false)
    {
        var mtu = intent.Network(endpoint.NetworkId)?.Mtu ?? Network.DefaultMtu;
        var iface = WorkloadInterfaceItem.For(endpoint, mtu, WorkloadQos.For(intent, endpoint));
        var addresses = iface.Addresses;
        TryAdd(items, iface);

        if (endpoint.AdminStateUp)
            foreach (var prefix in addresses) TryAdd(items, RouteItem.Local(prefix, endpoint.InterfaceName, standby));

        foreach (var groupId in endpoint.SecurityGroupIds)
        {
            if (intent.SecurityGroup(groupId) is not { } group) continue;
            TryAdd(items, new SecurityGroupPolicyItem(group.Id, group.Rules, group.Stateful));
            foreach (var remote in group.RemoteGroupIds) neededSets.Add(remote);
        }

        foreach (var fixedIp in endpoint.FixedIps)
        {
            if (intent.Subnet(fixedIp.SubnetId) is not { EnableDhcp: true } subnet) continue;
            TryAdd(items, DhcpSubnetItem.For(subnet, mtu));
            TryAdd(items, DhcpHostItem.For(endpoint, fixedIp.Address, subnet.Id));
        }
    }

    private static void AddRouteVia(Dictionary<DesiredKey, DesiredItem> items, IpPrefix destination, HostSpec owner, bool standby = false)
    {
        if (owner.AddressFor(destination.Version) is { } gateway)
            TryAdd(items, RouteItem.Via(destination, gateway, owner.Name, standby));
    }

    private static void TryAdd(Dictionary<DesiredKey, DesiredItem> items, DesiredItem item) => items.TryAdd(item.Key, item);
}
