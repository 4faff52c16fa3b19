using System.Net;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Model.Tests;

public class CalculatorTests
{
    private static IntentModel Model(params object[] resources)
    {
        var model = new IntentModel();
        foreach (var r in resources) model.Apply(Change(r, 1));
        return model;
    }

    private static ResourceChange Change(object value, long revision) =>
        new(ResourceChange.KindOf(value), KeyOf(value), revision, value);

    internal static string KeyOf(object value) => value switch
    {
        HostSpec h => h.Name,
        IpPool p => p.Name,
        IpBlock b => b.Key,
        BgpPeer peer => peer.Key,
        BgpConfiguration => BgpConfiguration.DefaultKey,
        _ => (string)value.GetType().GetProperty("Id")!.GetValue(value)!,
    };

    private static readonly object[] SeedTopology =
    [
        Sample.Host("h31", "172.18.203.31"),
        Sample.Host("h44", "172.18.203.44"),
        Sample.Network(),
        Sample.Subnet(),
        Sample.Group("sg-default", Sample.Rule("r-ssh"), Sample.Rule("r-peers", protocol: null, from: null, to: null, remoteGroup: "sg-default")),
        Sample.Endpoint("84637efa-0000", "h31", "10.65.0.2"),
        Sample.Endpoint("12345abc-0000", "h44", "10.65.0.3"),
    ];

    [Fact]
    public void Seed_data_path_routes()
    {
        var model = Model(SeedTopology);
        var dest = HostSpecCalculator.Compute(model, "h44");
        var source = HostSpecCalculator.Compute(model, "h31");

        // Destination host: 10.65.0.3/32 dev tap12345abc-00
        var local = Assert.IsType<RouteItem>(dest[new DesiredKey(DesiredKind.Route, "10.65.0.3/32")]);
        Assert.Equal(RouteKind.Local, local.Kind);
        Assert.Equal("tap12345abc-00", local.InterfaceName);
        // Source host: 10.65.0.3/32 via 172.18.203.44
        var remote = Assert.IsType<RouteItem>(source[new DesiredKey(DesiredKind.Route, "10.65.0.3/32")]);
        Assert.Equal(RouteKind.ViaHost, remote.Kind);
        Assert.Equal(IPAddress.Parse("172.18.203.44"), remote.Gateway);
        Assert.Equal("h44", remote.ViaHost);

        var iface = Assert.IsType<WorkloadInterfaceItem>(dest[new DesiredKey(DesiredKind.Interface, "tap12345abc-00")]);
        Assert.Equal([IpPrefix.Parse("10.65.0.3/32")], iface.Addresses);
        Assert.True(iface.AdminUp);
        Assert.Contains(new DesiredKey(DesiredKind.Policy, "sg-default"), dest.Keys);
        // The remote group's member set holds members on both hosts.
        var members = dest.Values.OfType<IpSetMembersItem>().Where(b => b.GroupId == "sg-default").SelectMany(b => b.Members);
        Assert.Equal([IpPrefix.Parse("10.65.0.2/32"), IpPrefix.Parse("10.65.0.3/32")], members.Order(MemberBuckets.Comparer));
        var dhcp = Assert.IsType<DhcpHostItem>(dest[new DesiredKey(DesiredKind.DhcpHost, "12345abc-0000|10.65.0.3")]);
        Assert.Equal("host-10-65-0-3", dhcp.Hostname);
        Assert.Contains(new DesiredKey(DesiredKind.DhcpSubnet, "sub-1"), dest.Keys);
        // Nothing of h44's own workloads as DHCP or interfaces on h31.
        Assert.DoesNotContain(new DesiredKey(DesiredKind.Interface, "tap12345abc-00"), source.Keys);
    }

    [Fact]
    public void A_port_without_port_security_says_so_on_its_interface()
    {
        var open = Sample.Endpoint("p1", "h44", "10.65.0.3") with { PortSecurityOff = true, SecurityGroupIds = ValueList<string>.Empty };
        var model = Model(Sample.Host("h44", "172.18.203.44"), open);
        Assert.False(Assert.IsType<WorkloadInterfaceItem>(HostSpecCalculator.Compute(model, "h44")[new DesiredKey(DesiredKind.Interface, open.InterfaceName)]).PortSecurity);
        Assert.Equal("needs port_security_enabled: a port without port security has no security groups",
            Assert.Single((open with { SecurityGroupIds = ValueList.Create("sg-1") }).Validate()).Reason);
    }

    [Fact]
    public void Admin_down_endpoint_keeps_its_interface_but_gets_no_routes()
    {
        var down = Sample.Endpoint("p1", "h44", "10.65.0.3") with { AdminStateUp = false };
        var model = Model(Sample.Host("h31", "172.18.203.31"), Sample.Host("h44", "172.18.203.44"), down);
        var dest = HostSpecCalculator.Compute(model, "h44");
        Assert.False(Assert.IsType<WorkloadInterfaceItem>(dest[new DesiredKey(DesiredKind.Interface, down.InterfaceName)]).AdminUp);
        Assert.DoesNotContain(dest.Values, i => i is RouteItem);
        Assert.DoesNotContain(HostSpecCalculator.Compute(model, "h31").Values, i => i is RouteItem);
    }

    [Fact]
    public void Floating_ip_is_natted_on_its_host_and_routed_from_the_others()
    {
        var fip = new FloatingIp("fip-1", "ext", IPAddress.Parse("172.24.4.10"), "proj", "p1", IPAddress.Parse("10.65.0.3"));
        var model = Model(Sample.Host("h31", "172.18.203.31"), Sample.Host("h44", "172.18.203.44"),
            Sample.Endpoint("p1", "h44", "10.65.0.3"), fip);
        var nat = Assert.IsType<FloatingNatItem>(HostSpecCalculator.Compute(model, "h44")[new DesiredKey(DesiredKind.FloatingNat, "172.24.4.10")]);
        Assert.Equal(IPAddress.Parse("10.65.0.3"), nat.FixedAddress);
        var route = Assert.IsType<RouteItem>(HostSpecCalculator.Compute(model, "h31")[new DesiredKey(DesiredKind.Route, "172.24.4.10/32")]);
        Assert.Equal(IPAddress.Parse("172.18.203.44"), route.Gateway);
    }

    [Fact]
    public void Ipv6_routes_go_via_the_hosts_ipv6_address()
    {
        var model = Model(Sample.Host("h31", "172.18.203.31", "fd00:18::31"), Sample.Host("h44", "172.18.203.44", "fd00:18::44"),
            Sample.Endpoint("p1", "h44", "10.65.0.3", "fd00:65::3"));
        var route = Assert.IsType<RouteItem>(HostSpecCalculator.Compute(model, "h31")[new DesiredKey(DesiredKind.Route, "fd00:65::3/128")]);
        Assert.Equal(IPAddress.Parse("fd00:18::44"), route.Gateway);
    }

    [Fact]
    public void Stale_revisions_are_ignored()
    {
        var model = new IntentModel();
        var v2 = Sample.Endpoint("p1", "h44", "10.65.0.4");
        model.Apply(new ResourceChange(ResourceKind.Endpoint, "p1", 2, v2));
        Assert.False(model.Apply(new ResourceChange(ResourceKind.Endpoint, "p1", 1, Sample.Endpoint("p1", "h44", "10.65.0.3"))));
        Assert.Equal(v2, model.Endpoint("p1"));
        model.Apply(new ResourceChange(ResourceKind.Endpoint, "p1", 3, null));
        Assert.Null(model.Endpoint("p1"));
        Assert.False(model.Apply(new ResourceChange(ResourceKind.Endpoint, "p1", 2, v2)));
        Assert.Null(model.Endpoint("p1"));
    }

    [Fact]
    public void Conflicting_routes_resolve_the_same_way_whatever_the_order()
    {
        // Two ports claim one address (IPAM prevents this; the calculation must still be deterministic).
        var a = Sample.Endpoint("a", "h44", "10.65.0.9");
        var b = Sample.Endpoint("b", "h45", "10.65.0.9");
        var hosts = new object[] { Sample.Host("h31", "172.18.203.31"), Sample.Host("h44", "172.18.203.44"), Sample.Host("h45", "172.18.203.45") };
        var one = HostSpecCalculator.Compute(Model([.. hosts, a, b]), "h31");
        var two = HostSpecCalculator.Compute(Model([.. hosts, b, a]), "h31");
        Assert.Equal(one.OrderBy(kv => kv.Key), two.OrderBy(kv => kv.Key));
        Assert.Equal("h44", ((RouteItem)one[new DesiredKey(DesiredKind.Route, "10.65.0.9/32")]).ViaHost);
    }
}
