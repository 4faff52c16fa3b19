using System.Net;
using System.Net.NetworkInformation;
using System.Runtime.CompilerServices;
using Calico.Netlink;
using Calico.Netlink.Codecs;
using Calico.Netlink.Wire;

namespace Calico.Dataplane.Linux.Tests.Netlink;

/// <summary>Requests as bytes, compared with layouts written out from the uapi struct and attribute definitions.</summary>
public class EncodingTests
{
    private const ushort Request = 0x1, Ack = 0x4, Replace = 0x100, Exclusive = 0x200, Create = 0x400;

    [Fact]
    public void Fixed_headers_have_the_kernel_sizes()
    {
        Assert.Equal(16, Unsafe.SizeOf<NlMsgHdr>());
        Assert.Equal(12, Unsafe.SizeOf<RtMsg>());
        Assert.Equal(16, Unsafe.SizeOf<IfInfoMsg>());
        Assert.Equal(8, Unsafe.SizeOf<IfAddrMsg>());
        Assert.Equal(12, Unsafe.SizeOf<NdMsg>());
    }

    [Fact]
    public void Replace_of_an_IPv4_route_via_a_gateway()
    {
        var route = Route.ViaGateway(IPNetwork.Parse("10.65.0.3/32"), IPAddress.Parse("172.18.203.44"), 7, (RouteProtocol)80);

        var bytes = Encode((ref NetlinkWriter w) => RouteCodec.EncodeNew(ref w, route, Ack | Create | Replace, 5));

        var expected = new Layout()
            .Header(60, 24, Request | Ack | Create | Replace, 5)
            .U8(2, 32, 0, 0, 254, 80, 0, 1).U32(0)          // rtmsg: AF_INET /32, table main, proto 80, universe, unicast
            .AttrU32(15, 254)                                 // RTA_TABLE
            .Attr(1, 10, 65, 0, 3)                            // RTA_DST
            .Attr(5, 172, 18, 203, 44)                        // RTA_GATEWAY
            .AttrU32(4, 7);                                   // RTA_OIF
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void Exclusive_add_of_an_IPv6_route_on_a_device_carries_the_normalised_metric()
    {
        var route = Route.OnDevice(IPNetwork.Parse("fd00:65::3/128"), 3, RouteProtocol.Static);

        var bytes = Encode((ref NetlinkWriter w) => RouteCodec.EncodeNew(ref w, route, Create | Exclusive, 9));

        var expected = new Layout()
            .Header(16 + 12 + 8 + 20 + 8 + 8, 24, Request | Create | Exclusive, 9)
            .U8(10, 128, 0, 0, 254, 4, 0, 1).U32(0)         // AF_INET6 /128, proto static, scope universe (IPv6 has none), unicast
            .AttrU32(15, 254)
            .Attr(1, [.. IPAddress.Parse("fd00:65::3").GetAddressBytes()])
            .AttrU32(6, 1024)                                 // RTA_PRIORITY: IPv6 stores metric 0 as 1024
            .AttrU32(4, 3);
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void Delete_names_only_the_key_with_wildcard_type_and_scope_and_the_protocol_guard()
    {
        var key = new RouteKey(IPNetwork.Parse("10.65.0.0/26"), table: 1000, priority: 20);

        var bytes = Encode((ref NetlinkWriter w) => RouteCodec.EncodeDelete(ref w, key, (RouteProtocol)80, Ack, 11));

        var expected = new Layout()
            .Header(16 + 12 + 8 + 8 + 8, 25, Request | Ack, 11)
            .U8(2, 26, 0, 0, 252, 80, 255, 0).U32(0)        // table 1000 does not fit: RT_TABLE_COMPAT; scope nowhere; type unspec
            .AttrU32(15, 1000)
            .Attr(1, 10, 65, 0, 0)
            .AttrU32(6, 20);
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void Blackhole_has_no_next_hop_attributes()
    {
        var route = Route.Blackhole(IPNetwork.Parse("10.65.0.0/26"), (RouteProtocol)80);

        var bytes = Encode((ref NetlinkWriter w) => RouteCodec.EncodeNew(ref w, route, Create | Replace, 1));

        var expected = new Layout()
            .Header(16 + 12 + 8 + 8, 24, Request | Create | Replace, 1)
            .U8(2, 26, 0, 0, 254, 80, 0, 6).U32(0)
            .AttrU32(15, 254)
            .Attr(1, 10, 65, 0, 0);
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void Route_dump_request_carries_the_filters_strict_checking_understands()
    {
        var filter = new RouteFilter(Table: 254, Protocol: (RouteProtocol)80);

        var bytes = Encode((ref NetlinkWriter w) => RouteCodec.EncodeDump(ref w, 2, filter, 3));

        var expected = new Layout()
            .Header(16 + 12 + 8, 26, Request | 0x300, 3)
            .U8(2, 0, 0, 0, 254, 80, 0, 0).U32(0)
            .AttrU32(15, 254);
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void Link_get_by_name_is_a_NUL_terminated_padded_string()
    {
        var bytes = Encode((ref NetlinkWriter w) => LinkCodec.EncodeGet(ref w, 0, "eth0", 4));

        var expected = new Layout()
            .Header(16 + 16 + 12, 18, Request, 4)
            .U8(0, 0).U16(0).S32(0).U32(0).U32(0)
            .Attr(3, (byte)'e', (byte)'t', (byte)'h', (byte)'0', 0); // rta_len 9, padded to 12
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void Link_up_changes_only_the_up_flag_and_can_set_the_mtu()
    {
        var bytes = Encode((ref NetlinkWriter w) => LinkCodec.EncodeSet(ref w, 7, LinkFlags.Up, LinkFlags.Up, 1400, 2));

        var expected = new Layout()
            .Header(16 + 16 + 8, 19, Request | Ack, 2)
            .U8(0, 0).U16(0).S32(7).U32(1).U32(1)
            .AttrU32(4, 1400);
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void Address_add_sends_local_and_address_and_the_wide_flags()
    {
        var address = new Address(5, IPAddress.Parse("10.65.0.1"), 24, Flags: AddressFlags.NoPrefixRoute);

        var bytes = Encode((ref NetlinkWriter w) => AddressCodec.Encode(ref w, MessageType.NewAddr, address, Ack | Create | Replace, 8));

        var expected = new Layout()
            .Header(16 + 8 + 8 + 8 + 8, 20, Request | Ack | Create | Replace, 8)
            .U8(2, 24, 0x00, 0).S32(5)                       // ifa_flags keeps the low 8 bits only (0x200 does not fit)
            .Attr(2, 10, 65, 0, 1)                            // IFA_LOCAL
            .Attr(1, 10, 65, 0, 1)                            // IFA_ADDRESS
            .AttrU32(8, 0x200);                               // IFA_FLAGS: IFA_F_NOPREFIXROUTE
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void Proxy_neighbour_add_has_the_proxy_flag_and_no_link_address()
    {
        var neighbour = Neighbour.Proxy(6, IPAddress.Parse("10.65.0.3"));

        var bytes = Encode((ref NetlinkWriter w) => NeighbourCodec.Encode(ref w, MessageType.NewNeigh, neighbour, Ack | Create | Replace, 12));

        var expected = new Layout()
            .Header(16 + 12 + 8, 28, Request | Ack | Create | Replace, 12)
            .U8(2, 0).U16(0).S32(6).U16(0x80).U8(0x08, 0)   // state permanent, flags NTF_PROXY
            .Attr(1, 10, 65, 0, 3);
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void Permanent_neighbour_carries_its_link_address()
    {
        var neighbour = Neighbour.Permanent(6, IPAddress.Parse("10.65.0.3"), PhysicalAddress.Parse("02-00-0a-41-00-03"));

        var bytes = Encode((ref NetlinkWriter w) => NeighbourCodec.Encode(ref w, MessageType.NewNeigh, neighbour, Ack, 1));

        var expected = new Layout()
            .Header(16 + 12 + 8 + 12, 28, Request | Ack, 1)
            .U8(2, 0).U16(0).S32(6).U16(0x80).U8(0, 0)
            .Attr(1, 10, 65, 0, 3)
            .Attr(2, 0x02, 0x00, 0x0a, 0x41, 0x00, 0x03);   // rta_len 10, padded to 12
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void Nested_attribute_length_covers_its_children_and_sets_the_nested_flag()
    {
        var bytes = Encode((ref NetlinkWriter w) =>
        {
            var nest = w.BeginNested(18);
            w.AttributeString(1, "veth");
            w.EndNested(nest);
        });

        var expected = new Layout().U16(4 + 12).U16(18 | 0x8000).Attr(1, (byte)'v', (byte)'e', (byte)'t', (byte)'h', 0);
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void Several_messages_go_back_to_back_in_one_buffer()
    {
        var route = Route.Blackhole(IPNetwork.Parse("10.65.0.0/26"));
        var bytes = Encode((ref NetlinkWriter w) =>
        {
            RouteCodec.EncodeNew(ref w, route, Create | Replace, 1);
            RouteCodec.EncodeNew(ref w, route, Create | Replace, 2);
            var mark = w.BeginMessage(MessageType.Noop, Request | Ack, 3);
            w.EndMessage(mark);
        });

        var reader = new NetlinkMessageReader(bytes);
        var sequences = new List<uint>();
        while (reader.TryRead(out var header, out _)) sequences.Add(header.Sequence);
        Assert.Equal([1u, 2u, 3u], sequences);
        Assert.Equal(44 + 44 + 16, bytes.Length);
    }

    internal delegate void Writing(ref NetlinkWriter writer);

    /// <summary>What <paramref name="write"/> puts in a fresh buffer (the traffic-control codec tests use it too).</summary>
    internal static byte[] Encode(Writing write)
    {
        var buffer = new byte[4096];
        var writer = new NetlinkWriter(buffer);
        write(ref writer);
        return writer.Written.ToArray();
    }
}
