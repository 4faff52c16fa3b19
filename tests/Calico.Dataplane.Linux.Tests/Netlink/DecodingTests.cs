using System.Net;
using System.Net.NetworkInformation;
using Calico.Netlink;
using Calico.Netlink.Codecs;
using Calico.Netlink.Wire;

namespace Calico.Dataplane.Linux.Tests.Netlink;

/// <summary>Kernel replies built by hand from the uapi layouts, decoded into the portable records.</summary>
public class DecodingTests
{
    [Fact]
    public void IPv4_route_via_gateway_with_attributes_we_ignore()
    {
        var payload = new Layout()
            .U8(2, 32, 0, 0, 254, 80, 0, 1).U32(0x4)                     // RTNH_F_ONLINK in rtm_flags
            .AttrU32(15, 254)
            .Attr(1, 10, 65, 0, 3)
            .Attr(5, 172, 18, 203, 44)
            .AttrU32(4, 7)
            .Attr(12, new byte[32])                                        // RTA_CACHEINFO: ignored
            .ToArray();

        var route = RouteCodec.Decode(payload, new AddressCache());

        var expected = Route.ViaGateway(IPNetwork.Parse("10.65.0.3/32"), IPAddress.Parse("172.18.203.44"), 7,
            (RouteProtocol)80, flags: RouteFlags.OnLink);
        Assert.Equal(expected, route);
        Assert.Equal(RouteKind.ViaGateway, route!.Kind);
    }

    [Fact]
    public void IPv6_blackhole_in_a_large_table_reads_the_table_from_the_attribute()
    {
        var payload = new Layout()
            .U8(10, 48, 0, 0, 252, 80, 0, 6).U32(0)
            .AttrU32(15, 1000)
            .Attr(1, [.. IPAddress.Parse("fd00:65::").GetAddressBytes()])
            .AttrU32(6, 1024)
            .AttrU32(4, 1)                                                 // the kernel reports IPv6 blackholes on lo
            .ToArray();

        var route = RouteCodec.Decode(payload, new AddressCache())!;

        Assert.Equal(new RouteKey(IPNetwork.Parse("fd00:65::/48"), 1000), route.Key);
        Assert.Equal(RouteKind.Blackhole, route.Kind);
        Assert.Equal(0, route.OutputInterface);
    }

    [Fact]
    public void Default_route_has_no_destination_attribute()
    {
        var payload = new Layout().U8(2, 0, 0, 0, 254, 4, 0, 1).U32(0).AttrU32(15, 254).Attr(5, 192, 0, 2, 1).ToArray();

        var route = RouteCodec.Decode(payload, new AddressCache())!;

        Assert.Equal(IPNetwork.Parse("0.0.0.0/0"), route.Destination);
    }

    [Fact]
    public void Routes_of_other_families_are_skipped()
    {
        var payload = new Layout().U8(128, 32, 0, 0, 254, 0, 0, 1).U32(0).ToArray(); // RTNL_FAMILY_IPMR

        Assert.Null(RouteCodec.Decode(payload, new AddressCache()));
    }

    [Fact]
    public void Gateways_are_shared_between_routes_of_one_dump()
    {
        var cache = new AddressCache();
        Route Decode(byte last) => RouteCodec.Decode(new Layout().U8(2, 32, 0, 0, 254, 80, 0, 1).U32(0)
            .AttrU32(15, 254).Attr(1, 10, 65, 0, last).Attr(5, 172, 18, 203, 44).ToArray(), cache)!;

        Assert.Same(Decode(1).Gateway, Decode(2).Gateway);
    }

    [Fact]
    public void Link_with_nested_link_info_and_mac()
    {
        var payload = new Layout()
            .U8(0, 0).U16(1).S32(7).U32(0x11043).U32(0)                     // ARPHRD_ETHER; UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
            .Attr(3, (byte)'v', (byte)'e', (byte)'t', (byte)'h', (byte)'0', 0)
            .AttrU32(4, 1500)
            .Attr(1, 0x02, 0, 0x0a, 0x41, 0, 3)
            .AttrU32(5, 8)
            .Attr(16, 6)                                                    // IFLA_OPERSTATE up
            .U16(4 + 12).U16(18 | 0x8000).Attr(1, (byte)'v', (byte)'e', (byte)'t', (byte)'h', 0)
            .ToArray();

        var link = LinkCodec.Decode(payload)!;

        Assert.Equal(new Link(7, "veth0", (LinkFlags)0x11043, PhysicalAddress.Parse("02-00-0a-41-00-03"), 1500, "veth",
            LinkOperState.Up, 0, 8), link);
        Assert.True(link.IsUp);
        Assert.True(link.IsLowerUp);
    }

    [Fact]
    public void Link_statistics_give_the_frames_received()
    {
        // struct rtnl_link_stats64 starts rx_packets, tx_packets, rx_bytes, ...: 24 u64 fields in all (192 bytes).
        var stats = new byte[192];
        BitConverter.GetBytes(3UL).CopyTo(stats, 0);
        BitConverter.GetBytes(9UL).CopyTo(stats, 8);
        var payload = new Layout().U8(0, 0).U16(1).S32(4).U32(0x10043).U32(0)
            .Attr(3, (byte)'t', (byte)'a', (byte)'p', (byte)'0', 0)
            .Attr(23, stats)
            .ToArray();

        Assert.Equal(3UL, LinkCodec.Decode(payload)!.RxPackets);
    }

    [Fact]
    public void IPv4_address_reads_local_and_wide_flags()
    {
        var payload = new Layout()
            .U8(2, 24, 0x80, 0).S32(5)
            .Attr(1, 10, 65, 0, 1).Attr(2, 10, 65, 0, 1)
            .Attr(3, (byte)'n', (byte)'s', 0)
            .AttrU32(8, 0x280)
            .ToArray();

        var address = AddressCodec.Decode(payload)!;

        Assert.Equal(new Address(5, IPAddress.Parse("10.65.0.1"), 24, RouteScope.Universe,
            AddressFlags.Permanent | AddressFlags.NoPrefixRoute, null, "ns"), address);
        Assert.Equal(IPNetwork.Parse("10.65.0.0/24"), address.Subnet);
    }

    [Fact]
    public void IPv6_address_has_only_IFA_ADDRESS()
    {
        var payload = new Layout().U8(10, 64, 0x80, 253).S32(2)
            .Attr(1, [.. IPAddress.Parse("fe80::1").GetAddressBytes()]).ToArray();

        var address = AddressCodec.Decode(payload)!;

        Assert.Equal(IPAddress.Parse("fe80::1"), address.Local);
        Assert.Null(address.Peer);
        Assert.Equal(RouteScope.Link, address.Scope);
    }

    [Fact]
    public void Neighbour_and_proxy_entries()
    {
        var entry = new Layout().U8(2, 0).U16(0).S32(6).U16(0x02).U8(0, 1)
            .Attr(1, 10, 65, 0, 3).Attr(2, 2, 0, 10, 65, 0, 3).Attr(4, 0, 0, 0, 0).ToArray();
        var proxy = new Layout().U8(10, 0).U16(0).S32(6).U16(0).U8(0x08, 0)
            .Attr(1, [.. IPAddress.Parse("fd00::3").GetAddressBytes()]).ToArray();

        var neighbour = NeighbourCodec.Decode(entry)!;
        var proxied = NeighbourCodec.Decode(proxy)!;

        Assert.Equal(new Neighbour(6, IPAddress.Parse("10.65.0.3"), PhysicalAddress.Parse("02-00-0a-41-00-03"),
            NeighbourState.Reachable), neighbour);
        Assert.Equal(Neighbour.Proxy(6, IPAddress.Parse("fd00::3")), proxied);
        Assert.True(proxied.IsProxy);
    }

    [Fact]
    public void Bridge_fdb_entries_are_skipped()
    {
        var payload = new Layout().U8(7, 0).U16(0).S32(6).U16(0x80).U8(2, 0).Attr(2, 2, 0, 0, 0, 0, 1).ToArray();

        Assert.Null(NeighbourCodec.Decode(payload));
    }

    [Fact]
    public void Error_with_capped_request_and_extended_ack_message()
    {
        var bytes = new Layout()
            .Header(16 + 4 + 16 + 20, 2, 0x100 | 0x200, 42)                 // NLM_F_CAPPED | NLM_F_ACK_TLVS
            .S32(-19)
            .Header(60, 24, 0x505, 42)                                      // the request's header only
            .Attr(1, [.. "Unknown device\0"u8.ToArray()])
            .ToArray();

        var reader = new NetlinkMessageReader(bytes);
        Assert.True(reader.TryRead(out var header, out var payload));
        var errno = NetlinkReplies.ReadError(header, payload, out var message);

        Assert.Equal(19, errno);
        Assert.Equal("Unknown device", message);
        Assert.False(reader.TryRead(out _, out _));
    }

    [Fact]
    public void Error_that_echoes_the_whole_request_has_its_ext_ack_after_it()
    {
        var bytes = new Layout()
            .Header(16 + 4 + 20 + 12, 2, 0x200, 1)
            .S32(-17)
            .Header(20, 24, 0x605, 1).U32(0xdeadbeef)                      // uncapped: request header + 4 payload bytes
            .Attr(1, [.. "exists\0"u8.ToArray()])
            .ToArray();

        var reader = new NetlinkMessageReader(bytes);
        reader.TryRead(out var header, out var payload);

        Assert.Equal(17, NetlinkReplies.ReadError(header, payload, out var message));
        Assert.Equal("exists", message);
    }

    [Fact]
    public void Ack_is_an_error_of_zero_and_done_carries_the_dump_status()
    {
        var bytes = new Layout().Header(36, 2, 0x100, 7).S32(0).Header(16, 0, 0, 7)
            .Header(20, 3, 0x2, 8).S32(-16).ToArray();

        var reader = new NetlinkMessageReader(bytes);
        reader.TryRead(out var ack, out var ackPayload);
        reader.TryRead(out var done, out var donePayload);

        Assert.Equal(0, NetlinkReplies.ReadError(ack, ackPayload, out _));
        Assert.Equal(16, NetlinkReplies.ReadDone(done, donePayload, out _));
    }

    [Theory]
    [InlineData(new byte[] { 8, 0, 0, 0, 24, 0, 0, 0 })]                       // shorter than a header
    [InlineData(new byte[] { 64, 0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })] // claims more than there is
    public void Truncated_messages_are_protocol_errors(byte[] bytes)
    {
        Assert.Throws<InvalidDataException>(() =>
        {
            var reader = new NetlinkMessageReader(bytes);
            while (reader.TryRead(out _, out _)) { }
        });
    }

    [Fact]
    public void Attribute_longer_than_its_container_is_a_protocol_error()
    {
        var bytes = new Layout().U8(2, 32, 0, 0, 254, 80, 0, 1).U32(0).U16(40).U16(1).U8(10, 65, 0, 3).ToArray();

        Assert.Throws<InvalidDataException>(() => RouteCodec.Decode(bytes, new AddressCache()));
    }
}
