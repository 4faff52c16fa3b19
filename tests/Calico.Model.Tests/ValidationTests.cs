using System.Net;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Model.Tests;

public class ValidationTests
{
    private static void AssertInvalid(IValidatable value, string field, string reasonFragment)
    {
        var errors = value.Validate();
        Assert.Contains(errors, e => e.Field == field && e.Reason.Contains(reasonFragment, StringComparison.Ordinal));
        var ex = Assert.Throws<InvalidInputException>(() => value.EnsureValid());
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Samples_are_valid()
    {
        Assert.Empty(Sample.Host("h1", "172.18.203.31").Validate());
        Assert.Empty(Sample.Network().Validate());
        Assert.Empty(Sample.Subnet().Validate());
        Assert.Empty(Sample.Endpoint("p1", "h1", "10.65.0.3").Validate());
        Assert.Empty(Sample.Group("sg", Sample.Rule("r1"), Sample.Rule("r2", remoteGroup: "sg")).Validate());
    }

    [Theory]
    [InlineData("10.65.0.5/24", "cidr", "host bits set; did you mean 10.65.0.0/24")]
    [InlineData("10.65.0.0/31", "cidr", "too small")]
    public void Subnet_cidr_is_checked(string cidr, string field, string reason) =>
        AssertInvalid(Sample.Subnet() with { Cidr = IpPrefix.Parse(cidr) }, field, reason);

    [Fact]
    public void Subnet_gateway_must_be_inside_and_not_broadcast()
    {
        AssertInvalid(Sample.Subnet() with { GatewayIp = IPAddress.Parse("10.66.0.1") }, "gateway_ip", "outside 10.65.0.0/24");
        AssertInvalid(Sample.Subnet() with { GatewayIp = IPAddress.Parse("10.65.0.255") }, "gateway_ip", "broadcast");
        AssertInvalid(Sample.Subnet() with { GatewayIp = IPAddress.Parse("fd00::1") }, "gateway_ip", "not an IPv4 address");
    }

    [Fact]
    public void Allocation_pools_are_checked()
    {
        var pool = (string a, string b) => new AllocationPool(IPAddress.Parse(a), IPAddress.Parse(b));
        AssertInvalid(Sample.Subnet() with { AllocationPools = ValueList.Create(pool("10.65.0.10", "10.65.1.5")) }, "allocation_pools[0]", "not inside");
        AssertInvalid(Sample.Subnet() with { AllocationPools = ValueList.Create(pool("10.65.0.20", "10.65.0.10")) }, "allocation_pools[0]", "after end");
        AssertInvalid(Sample.Subnet() with { AllocationPools = ValueList.Create(pool("10.65.0.1", "10.65.0.10")) }, "allocation_pools[0]", "contains the gateway");
        AssertInvalid(Sample.Subnet() with { AllocationPools = ValueList.Create(pool("10.65.0.2", "10.65.0.10"), pool("10.65.0.10", "10.65.0.20")) },
            "allocation_pools[1]", "overlaps allocation_pools[0]");
    }

    [Fact]
    public void Subnet_knows_assignable_addresses()
    {
        var subnet = Sample.Subnet();
        Assert.True(subnet.IsAssignable(IPAddress.Parse("10.65.0.3"), out _));
        Assert.False(subnet.IsAssignable(IPAddress.Parse("10.65.0.1"), out var why));
        Assert.Contains("gateway", why, StringComparison.Ordinal);
        Assert.False(subnet.IsAssignable(IPAddress.Parse("10.65.0.0"), out why));
        Assert.Contains("network address", why, StringComparison.Ordinal);
        Assert.False(subnet.IsAssignable(IPAddress.Parse("10.65.0.255"), out why));
        Assert.Contains("broadcast", why, StringComparison.Ordinal);
        Assert.False(subnet.IsAssignable(IPAddress.Parse("10.65.1.3"), out why));
        Assert.Contains("outside", why, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_needs_a_routable_address_and_a_dns_like_name()
    {
        AssertInvalid(Sample.Host("h1", "127.0.0.1"), "ipv4_address", "cannot be reached");
        AssertInvalid(Sample.Host("h 1", "10.0.0.1"), "name", "letters, digits");
        AssertInvalid(Sample.Host("h1", "10.0.0.1") with { Ipv4Address = null }, "ipv4_address", "needs an IPv4 or IPv6");
        AssertInvalid(Sample.Host("h1", "10.0.0.1") with { Ipv6Address = IPAddress.Parse("10.0.0.2") }, "ipv6_address", "not an IPv6");
        // Its IPv6 address is a next hop for other hosts and where its IPv6 BGP sessions start: never scoped to a link.
        foreach (var bad in new[] { "::1", "::", "fe80::1", "ff02::1", "::ffff:10.0.0.1" })
            AssertInvalid(Sample.Host("h1", "10.0.0.1") with { Ipv6Address = IPAddress.Parse(bad) }, "ipv6_address", "cannot be reached from other hosts");
        Assert.Empty((Sample.Host("h1", "10.0.0.1") with { Ipv6Address = IPAddress.Parse("2001:db8:ff::31") }).Validate());
    }

    [Fact]
    public void A_bgp_peer_is_an_ipv4_or_ipv6_neighbour_bird_can_reach()
    {
        Assert.Empty(new BgpPeer(IPAddress.Parse("172.18.9.1"), 65001).Validate());
        Assert.Empty(new BgpPeer(IPAddress.Parse("2001:db8:9::1"), 65001, HostLabel: "rack=r1").Validate());
        AssertInvalid(new BgpPeer(IPAddress.Parse("224.0.0.5"), 65001), "address", "cannot be a BGP neighbour");
        AssertInvalid(new BgpPeer(IPAddress.Parse("::1"), 65001), "address", "cannot be a BGP neighbour");
        AssertInvalid(new BgpPeer(IPAddress.Parse("ff02::2"), 65001), "address", "cannot be a BGP neighbour");
        AssertInvalid(new BgpPeer(IPAddress.Parse("fe80::1"), 65001), "address", "link-local");
        AssertInvalid(new BgpPeer(IPAddress.Parse("::ffff:172.18.9.1"), 65001), "address", "give the IPv4 address 172.18.9.1");
        AssertInvalid(new BgpPeer(IPAddress.Parse("2001:db8:9::1"), 0), "as_number", "1..4294967295");
    }

    [Fact]
    public void Endpoint_fields_are_checked()
    {
        var ep = Sample.Endpoint("p1", "h1", "10.65.0.3");
        AssertInvalid(ep with { MacAddress = "FA:16:3E:00:00:01" }, "mac_address", "not a MAC address");
        AssertInvalid(ep with { MacAddress = "01:00:5e:00:00:01" }, "mac_address", "multicast");
        AssertInvalid(ep with { FixedIps = ValueList.Create(ep.FixedIps[0], ep.FixedIps[0]) }, "fixed_ips[1].ip_address", "listed twice");
        AssertInvalid(ep with { SecurityGroupIds = ValueList.Create("a", "a") }, "security_groups", "twice");
        AssertInvalid(ep with { Host = "bad host" }, "binding:host_id", "letters");
        AssertInvalid(ep with { Id = "" }, "id", "required");
        Assert.Equal("tap12345678-9a", Sample.Endpoint("12345678-9abc-def0", "h1").InterfaceName);
    }

    [Theory]
    [InlineData(IpProtocols.Udp, 100, 10, "port_range_min", "greater than")]
    [InlineData(IpProtocols.Tcp, 0, 10, "port_range_min", "outside 1..65535")]
    [InlineData(IpProtocols.Icmp, 300, null, "port_range_min", "ICMP type 300")]
    [InlineData(47, 1, 2, "protocol", "port ranges need")]
    [InlineData(IpProtocols.Tcp, 10, null, "port_range_min", "set together")]
    public void Rule_ports_are_checked(int protocol, int? from, int? to, string field, string reason) =>
        AssertInvalid(Sample.Rule("r", protocol: protocol, from: from, to: to), field, reason);

    [Fact]
    public void Rule_family_and_remote_are_checked()
    {
        AssertInvalid(Sample.Rule("r", prefix: "fd00::/64"), "remote_ip_prefix", "does not match ethertype");
        AssertInvalid(Sample.Rule("r", prefix: "10.0.0.0/8", remoteGroup: "g"), "remote_group_id", "mutually exclusive");
        AssertInvalid(Sample.Rule("r", protocol: IpProtocols.Icmp, from: null, to: null, ether: EtherType.IPv6), "protocol", "IPv4-only");
    }

    [Fact]
    public void A_rules_protocol_name_must_name_its_protocol_with_icmp_over_ipv6_as_ipv6_icmp()
    {
        var udp = Sample.Rule("r", protocol: IpProtocols.Udp, from: null, to: null);
        Assert.Empty((udp with { ProtocolName = "17" }).Validate());
        Assert.Empty((udp with { ProtocolName = "udp" }).Validate());
        AssertInvalid(udp with { ProtocolName = "tcp" }, "protocol", "'tcp' does not name protocol 17");
        var icmp6 = Sample.Rule("r", protocol: IpProtocols.Icmpv6, from: null, to: null, ether: EtherType.IPv6);
        Assert.Empty((icmp6 with { ProtocolName = "icmp" }).Validate());
        Assert.Empty((icmp6 with { ProtocolName = "1" }).Validate());
        Assert.True(SecurityGroupRule.TryResolveProtocol("icmp", EtherType.IPv6, out var p, out _));
        Assert.Equal(IpProtocols.Icmpv6, p);
        Assert.True(SecurityGroupRule.TryResolveProtocol("icmp", EtherType.IPv4, out p, out _));
        Assert.Equal(IpProtocols.Icmp, p);
        // The name is what the API shows; the same traffic named either way is one rule.
        Assert.True((udp with { ProtocolName = "17" }).SameMatchAs(udp with { Id = "r2", ProtocolName = "udp" }));
    }

    [Fact]
    public void Group_refuses_duplicate_rules_with_the_field_named()
    {
        var group = Sample.Group("sg", Sample.Rule("r1"), Sample.Rule("r2"), Sample.Rule("r3", from: 0));
        var errors = group.Validate();
        Assert.Contains(errors, e => e.Field == "rules[1]" && e.Reason.Contains("same traffic as rules[0]", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Field == "rules[2].port_range_min");
    }

    [Theory]
    [InlineData("tcp", 6)]
    [InlineData("ICMP", 1)]
    [InlineData("ipv6-icmp", 58)]
    [InlineData("132", 132)]
    [InlineData("any", null)]
    [InlineData(null, null)]
    public void Protocols_parse_by_name_or_number(string? text, int? expected)
    {
        Assert.True(IpProtocols.TryParse(text, out var protocol, out _));
        Assert.Equal(expected, protocol);
    }

    [Theory]
    [InlineData("256")]
    [InlineData("tcpp")]
    [InlineData("-1")]
    public void Bad_protocols_are_refused(string text)
    {
        Assert.False(IpProtocols.TryParse(text, out _, out var error));
        Assert.Contains(text, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Pool_block_size_must_fit()
    {
        var pool = new IpPool("p", IpPrefix.Parse("10.65.0.0/16"), 26, false, false);
        Assert.Empty(pool.Validate());
        AssertInvalid(pool with { BlockSize = 8 }, "block_size", "between");
        AssertInvalid(pool with { Cidr = IpPrefix.Parse("10.65.1.0/16") }, "cidr", "host bits");
        // Calico's bounds: at most 4,096 addresses a block.
        AssertInvalid(pool with { BlockSize = 19 }, "block_size", "between /20 and /32");
        AssertInvalid(new IpPool("p6", IpPrefix.Parse("fd00::/48"), 64, false, false), "block_size", "between /116 and /128");
        Assert.Empty(new IpPool("p6", IpPrefix.Parse("fd00::/48"), 122, false, false).Validate());
        Assert.Equal(122, IpPool.DefaultBlockSize(6));
    }
}
