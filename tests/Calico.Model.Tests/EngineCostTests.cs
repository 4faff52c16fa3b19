using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Model.Tests;

/// <summary>
/// A change costs what it changes: each resource change reaches exactly the hosts whose state it changes, with only
/// the items that change (issue 11). Twenty hosts, each with its block and a port in it, two groups of which one
/// names the other as a remote group.
/// </summary>
public class EngineCostTests
{
    private const int Hosts = 20;

    private static string H(int i) => $"h{i:00}";

    private static ResourceChange Ch(object value, long revision = 1) =>
        new(ResourceChange.KindOf(value), CalculatorTests.KeyOf(value), revision, value);

    private static IpBlock Block(int i, string? host) => new(IpPrefix.Parse($"10.65.{i}.0/26"), "sub-1", host);

    private static WorkloadEndpoint Port(string id, int host, int last, params string[] groups) =>
        Sample.Endpoint(id, H(host), $"10.65.{host}.{last}") with { SecurityGroupIds = groups.ToValueList() };

    /// <summary>h00..h19, blocks 10.65.i.0/26 on hi, port pi on hi; ports on h00..h02 use sg-web (whose rule names sg-db).</summary>
    private static DesiredStateEngine Cluster(ClusterRouting? routing = null)
    {
        var engine = new DesiredStateEngine(routing: routing);
        var resources = new List<ResourceChange>
        {
            Ch(Sample.Network()), Ch(Sample.Subnet(cidr: "10.65.0.0/16")),
            Ch(Sample.Group("sg-web", Sample.Rule("r1", from: 5432, to: 5432, remoteGroup: "sg-db"))),
            Ch(Sample.Group("sg-db", Sample.Rule("r2", from: 22, to: 22))),
        };
        for (var i = 0; i < Hosts; i++)
        {
            resources.Add(Ch(Sample.Host(H(i), $"172.18.0.{i + 1}")));
            resources.Add(Ch(Block(i, H(i))));
            resources.Add(Ch(Port($"p{i:00}", i, 2, i < 3 ? "sg-web" : "sg-other")));
        }
        engine.Load(resources);
        return engine;
    }

    [Fact]
    public void A_port_inside_its_hosts_block_with_no_remote_group_membership_reaches_that_host_only()
    {
        var engine = Cluster();
        var created = engine.Apply(Ch(Port("new-port", 7, 9, "sg-other")));
        Assert.Equal([H(7)], created.Keys);
        // Its interface, its route and its DHCP host entry (h07 already serves the subnet): nothing else.
        Assert.Equal([DesiredKind.Interface, DesiredKind.Route, DesiredKind.DhcpHost],
            created[H(7)].Select(c => c.Key.Kind).Order());

        var deleted = engine.Apply(new ResourceChange(ResourceKind.Endpoint, "new-port", 2, null));
        Assert.Equal([H(7)], deleted.Keys);
        Assert.All(deleted[H(7)], c => Assert.True(c.IsRemoval));
    }

    [Fact]
    public void A_remote_group_member_change_reaches_exactly_the_hosts_using_a_rule_that_names_the_group()
    {
        var engine = Cluster();
        // A port joins sg-db on h10: h00..h02 (whose ports use sg-web, which names sg-db) learn its address; h10 gets the port.
        var joined = engine.Apply(Ch(Port("db-1", 10, 9, "sg-db")));
        Assert.Equal([H(0), H(1), H(2), H(10)], joined.Keys.Order(StringComparer.Ordinal));
        foreach (var host in new[] { H(0), H(1), H(2) })
        {
            // One bucket of sg-db's set, now holding the new address.
            var bucket = Assert.IsType<IpSetMembersItem>(Assert.Single(joined[host]).Item);
            Assert.Equal(("sg-db", MemberBuckets.Of(IpPrefix.Parse("10.65.10.9/32"))), (bucket.GroupId, bucket.Bucket));
            Assert.Contains(IpPrefix.Parse("10.65.10.9/32"), bucket.Members);
        }

        // Binding, unbinding and rebinding the member (same address, same groups) changes no member set.
        var unbound = engine.Apply(Ch(Port("db-1", 10, 9, "sg-db") with { Host = null }, 2));
        Assert.Equal([H(10)], unbound.Keys);

        // A rule change in a group used on h00..h02 reaches those hosts only, with that group's policy only.
        var rule = engine.Apply(Ch(Sample.Group("sg-web", Sample.Rule("r1", from: 5432, to: 5432, remoteGroup: "sg-db"), Sample.Rule("r3", from: 443, to: 443)), 2));
        Assert.Equal([H(0), H(1), H(2)], rule.Keys.Order(StringComparer.Ordinal));
        Assert.All(rule.Values, changes => Assert.Equal(DesiredKind.Policy, Assert.Single(changes).Key.Kind));
    }

    [Fact]
    public void A_block_claimed_or_released_reaches_every_host_once_with_one_route_each()
    {
        var engine = Cluster();
        var claimed = engine.Apply(Ch(Block(40, H(5))));
        Assert.Equal(Enumerable.Range(0, Hosts).Select(H), claimed.Keys.Order(StringComparer.Ordinal));
        foreach (var (host, changes) in claimed)
        {
            var route = Assert.IsType<RouteItem>(Assert.Single(changes).Item);
            Assert.Equal(host == H(5) ? RouteKind.Blackhole : RouteKind.ViaHost, route.Kind);
        }

        var released = engine.Apply(new ResourceChange(ResourceKind.IpBlock, Block(40, H(5)).Key, 2, null));
        Assert.Equal(Hosts, released.Count);
        Assert.All(released.Values, changes => Assert.True(Assert.Single(changes).IsRemoval));
    }

    [Fact]
    public void Items_a_host_shares_with_others_are_one_instance()
    {
        var engine = Cluster();
        engine.Apply(Ch(Port("db-1", 10, 9, "sg-db")));
        var key = MemberBuckets.KeyOf("sg-db", MemberBuckets.Of(IpPrefix.Parse("10.65.10.9/32")));
        Assert.Same(engine.Snapshot(H(0))[key], engine.Snapshot(H(1))[key]);
        var route = new DesiredKey(DesiredKind.Route, "10.65.3.0/26");
        Assert.Same(engine.Snapshot(H(0))[route], engine.Snapshot(H(9))[route]);
    }

    // ---- BGP mode: BIRD distributes the routes, the control plane only tells each host its identity and peers ----

    [Fact]
    public void In_bgp_mode_a_block_claimed_reaches_its_host_only_and_no_host_holds_a_route_via_another()
    {
        var engine = Cluster(ClusterRouting.Bgp);
        foreach (var host in engine.Hosts)
        {
            var snapshot = engine.Snapshot(host);
            Assert.DoesNotContain(snapshot.Values, i => i is RouteItem { Kind: RouteKind.ViaHost });
            // Its identity, and the 19 others as peers.
            var node = Assert.IsType<BgpNodeItem>(snapshot[BgpNodeItem.NodeKey]);
            Assert.Equal(ClusterRouting.DefaultAsNumber, node.AsNumber);
            Assert.Equal($"172.18.0.{int.Parse(host[1..]) + 1}", node.RouterId.ToString());
            Assert.Equal(Hosts - 1, snapshot.Values.OfType<BgpPeerItem>().Count());
        }

        var claimed = engine.Apply(Ch(Block(40, H(5))));
        Assert.Equal([H(5)], claimed.Keys);
        Assert.Equal(RouteKind.Blackhole, Assert.IsType<RouteItem>(Assert.Single(claimed[H(5)]).Item).Kind);

        // A borrowed address (outside its host's block) and a floating IP: the host only, for its BIRD to export.
        var borrowed = engine.Apply(Ch(Sample.Endpoint("borrower", H(3), "10.65.7.40")));
        Assert.Equal([H(3)], borrowed.Keys);
        var floating = engine.Apply(Ch(new FloatingIp("fip-1", "ext", System.Net.IPAddress.Parse("172.24.4.10"), "proj", "borrower",
            System.Net.IPAddress.Parse("10.65.7.40"))));
        Assert.Equal([H(3)], floating.Keys);
    }

    [Fact]
    public void In_bgp_mode_a_host_registering_or_leaving_reaches_every_other_host_once_with_one_peer_item()
    {
        var engine = Cluster(ClusterRouting.Bgp);
        var joined = engine.Apply(Ch(Sample.Host("h99", "172.18.1.99")));
        // Every host once: the others with one peer item, the new one with its whole state.
        Assert.Equal(Enumerable.Range(0, Hosts).Select(H).Append("h99"), joined.Keys.Order(StringComparer.Ordinal));
        foreach (var (host, changes) in joined.Where(kv => kv.Key != "h99"))
            Assert.Equal(new BgpPeerItem(System.Net.IPAddress.Parse("172.18.1.99"), ClusterRouting.DefaultAsNumber, "h99"), Assert.Single(changes).Item);
        Assert.Equal(Hosts, joined["h99"].Count(c => c.Item is BgpPeerItem));
        Assert.Single(joined["h99"], c => c.Item is BgpNodeItem);

        // The same peer item instance for every host.
        var key = new DesiredKey(DesiredKind.BgpPeer, "172.18.1.99");
        Assert.Same(engine.Snapshot(H(0))[key], engine.Snapshot(H(9))[key]);

        // Its own AS number: one changed peer item for the others, its identity for itself.
        var renumbered = engine.Apply(Ch(Sample.Host("h99", "172.18.1.99") with { AsNumber = 65099 }, 2));
        Assert.Equal(Hosts + 1, renumbered.Count);
        Assert.Equal(65099u, Assert.IsType<BgpNodeItem>(Assert.Single(renumbered["h99"]).Item).AsNumber);
        Assert.All(renumbered.Where(kv => kv.Key != "h99"), kv => Assert.Equal(65099u, Assert.IsType<BgpPeerItem>(Assert.Single(kv.Value).Item).AsNumber));

        var left = engine.Apply(new ResourceChange(ResourceKind.Host, "h99", 3, null));
        Assert.Equal(Hosts + 1, left.Count);
        foreach (var (host, changes) in left.Where(kv => kv.Key != "h99"))
            Assert.Equal(key, Assert.Single(changes, c => c.IsRemoval).Key);
        Assert.All(left["h99"], c => Assert.True(c.IsRemoval));
    }

    [Fact]
    public void In_bgp_mode_a_port_created_anywhere_reaches_its_host_only()
    {
        var engine = Cluster(ClusterRouting.Bgp);
        var created = engine.Apply(Ch(Port("new-port", 7, 9, "sg-other")));
        Assert.Equal([H(7)], created.Keys);
        Assert.Equal([DesiredKind.Interface, DesiredKind.Route, DesiredKind.DhcpHost], created[H(7)].Select(c => c.Key.Kind).Order());
    }

    private static readonly System.Net.IPAddress Tor = System.Net.IPAddress.Parse("172.18.9.1");

    private static DesiredKey PeerKey(System.Net.IPAddress address) => new(DesiredKind.BgpPeer, address.ToString());

    [Fact]
    public void A_global_peer_reaches_every_host_once_with_one_shared_item()
    {
        var engine = Cluster(ClusterRouting.Bgp);
        var added = engine.Apply(Ch(new BgpPeer(Tor, 65001, "s3cret")));
        Assert.Equal(Enumerable.Range(0, Hosts).Select(H), added.Keys.Order(StringComparer.Ordinal));
        var item = Assert.IsType<BgpPeerItem>(Assert.Single(added[H(0)]).Item);
        Assert.Equal((65001u, BgpPeerSource.Global, "s3cret"), (item.AsNumber, item.Source, item.Password));
        Assert.All(added.Values, changes => Assert.Same(item, Assert.Single(changes).Item));
        // Printed (as in a debug log), an item shows whether a password is set, never the password.
        Assert.DoesNotContain("s3cret", item.ToString());
        Assert.Contains("Password = set", item.ToString());

        var deleted = engine.Apply(new ResourceChange(ResourceKind.BgpPeer, Tor.ToString(), 2, null));
        Assert.Equal(Hosts, deleted.Count);
        Assert.All(deleted.Values, changes => Assert.True(Assert.Single(changes).IsRemoval));
    }

    [Fact]
    public void A_per_host_peer_reaches_exactly_the_hosts_it_selects_and_follows_their_labels()
    {
        var engine = Cluster(ClusterRouting.Bgp);
        Assert.Equal([H(4)], engine.Apply(Ch(new BgpPeer(Tor, 65001, Host: H(4)))).Keys);

        // By label: none labelled yet, so nobody; then hosts joining the rack get it, and only they.
        var rackTor = System.Net.IPAddress.Parse("172.18.9.2");
        Assert.Empty(engine.Apply(Ch(new BgpPeer(rackTor, 65002, HostLabel: "rack=r1"))));
        var labelled = engine.Apply(Ch(Sample.Host(H(6), "172.18.0.7") with { Labels = new ValueMap([new("rack", "r1")]) }, 2));
        Assert.Equal([H(6)], labelled.Keys);
        Assert.Equal(PeerKey(rackTor), Assert.Single(labelled[H(6)]).Key);
        var moved = engine.Apply(Ch(Sample.Host(H(6), "172.18.0.7") with { Labels = new ValueMap([new("rack", "r2")]) }, 3));
        Assert.Equal([H(6)], moved.Keys);
        Assert.True(Assert.Single(moved[H(6)]).IsRemoval);

        // A peer's password changed: the hosts that peer with it, one item each.
        var changed = engine.Apply(Ch(new BgpPeer(Tor, 65001, "new", Host: H(4)), 2));
        Assert.Equal([H(4)], changed.Keys);
    }

    [Fact]
    public void Mesh_off_leaves_only_the_operators_peers_and_route_reflectors_replace_the_mesh()
    {
        var engine = Cluster(ClusterRouting.Bgp);
        engine.Apply(Ch(new BgpPeer(Tor, 65001)));
        var off = engine.Apply(Ch(new BgpConfiguration(NodeToNodeMesh: false, AsNumber: 64600)));
        Assert.Equal(Hosts, off.Count);
        foreach (var host in Enumerable.Range(0, Hosts).Select(H))
        {
            var peers = engine.Snapshot(host).Values.OfType<BgpPeerItem>().ToList();
            Assert.Equal(Tor, Assert.Single(peers).Address);
            Assert.Equal(64600u, Assert.IsType<BgpNodeItem>(engine.Snapshot(host)[BgpNodeItem.NodeKey]).AsNumber);
        }

        // Mesh on again, then h00 and h01 become route reflectors: clients peer with the two reflectors only, each
        // reflector with every other host, its clients as `rr client`.
        engine.Apply(Ch(new BgpConfiguration(), 2));
        engine.Apply(Ch(Sample.Host(H(0), "172.18.0.1") with { RouteReflectorClusterId = System.Net.IPAddress.Parse("224.0.0.1") }, 2));
        var second = engine.Apply(Ch(Sample.Host(H(1), "172.18.0.2") with { RouteReflectorClusterId = System.Net.IPAddress.Parse("224.0.0.1") }, 2));
        Assert.Equal(Hosts, second.Count);
        var client = engine.Snapshot(H(7)).Values.OfType<BgpPeerItem>().Where(p => p.Source == BgpPeerSource.Mesh).ToList();
        Assert.Equal(["h00", "h01"], client.Select(p => p.Host).Order(StringComparer.Ordinal));
        Assert.All(client, p => Assert.False(p.RouteReflectorClient));
        var reflector = engine.Snapshot(H(0));
        Assert.Equal(System.Net.IPAddress.Parse("224.0.0.1"), Assert.IsType<BgpNodeItem>(reflector[BgpNodeItem.NodeKey]).RouteReflectorClusterId);
        var reflectorPeers = reflector.Values.OfType<BgpPeerItem>().Where(p => p.Source == BgpPeerSource.Mesh).ToList();
        Assert.Equal(Hosts - 1, reflectorPeers.Count);
        Assert.False(reflectorPeers.Single(p => p.Host == H(1)).RouteReflectorClient);
        Assert.Equal(Hosts - 2, reflectorPeers.Count(p => p.RouteReflectorClient));

        // A client joining reaches the reflectors (one rr-client item each) and itself, nobody else.
        var joined = engine.Apply(Ch(Sample.Host("h99", "172.18.1.99")));
        Assert.Equal(["h00", "h01", "h99"], joined.Keys.Order(StringComparer.Ordinal));
        Assert.True(Assert.IsType<BgpPeerItem>(Assert.Single(joined[H(0)]).Item).RouteReflectorClient);
    }
}
