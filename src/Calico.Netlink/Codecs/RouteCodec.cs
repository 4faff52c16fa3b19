using System.Net;
using System.Net.Sockets;
using Calico.Netlink.Wire;

namespace Calico.Netlink.Codecs;

/// <summary>RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE: struct rtmsg followed by RTA_* attributes.</summary>
internal static class RouteCodec
{
    /// <summary>An upper bound of an encoded route request, to know whether one more fits in a batch.</summary>
    public const int MaxMessageSize = NlMsgHdr.Size + RtMsg.Size + 6 * 20;

    // Flags the kernel reports but refuses on input (RTNH_F_DEAD / LINKDOWN are "invalid flags for nexthop").
    private const RouteFlags WritableFlags = RouteFlags.OnLink | RouteFlags.Pervasive;

    public static void EncodeNew(ref NetlinkWriter writer, Route route, ushort flags, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.NewRoute, (ushort)(MessageFlags.Request | flags), sequence);
        writer.WriteStruct(Header(route.Key, route.Protocol, route.Scope, route.Type, route.Flags & WritableFlags));
        WriteKeyAttributes(ref writer, route.Key);
        if (route.Gateway is not null) writer.AttributeAddress(RouteAttr.Gateway, route.Gateway);
        if (route.OutputInterface != 0) writer.AttributeU32(RouteAttr.Oif, (uint)route.OutputInterface);
        if (route.PreferredSource is not null) writer.AttributeAddress(RouteAttr.PrefSrc, route.PreferredSource);
        writer.EndMessage(start);
    }

    /// <summary>
    /// A delete that names only the key: type unspecified and scope "nowhere" are the kernel's wildcards, so whatever
    /// the route points at, it goes; a protocol other than Unspecified makes the kernel delete it only if it is
    /// that protocol's (ESRCH otherwise) — how an owner never deletes a route it does not own.
    /// </summary>
    public static void EncodeDelete(ref NetlinkWriter writer, RouteKey key, RouteProtocol protocol, ushort flags, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.DelRoute, (ushort)(MessageFlags.Request | flags), sequence);
        writer.WriteStruct(Header(key, protocol, RouteScope.Nowhere, RouteType.Unspecified, RouteFlags.None));
        WriteKeyAttributes(ref writer, key);
        writer.EndMessage(start);
    }

    /// <summary>
    /// A dump request. With NETLINK_GET_STRICT_CHK the kernel filters by table, protocol and device itself
    /// (ip_valid_fib_dump_req); the client filters again, for kernels that ignore the request header.
    /// </summary>
    public static void EncodeDump(ref NetlinkWriter writer, byte family, RouteFilter filter, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.GetRoute, MessageFlags.Request | MessageFlags.Dump, sequence);
        var table = filter.Table ?? RouteTables.Unspecified;
        writer.WriteStruct(new RtMsg
        {
            Family = family,
            Table = table < 256 ? (byte)table : (byte)252,
            Protocol = (byte)(filter.Protocol ?? RouteProtocol.Unspecified),
        });
        if (table != RouteTables.Unspecified) writer.AttributeU32(RouteAttr.Table, table);
        if (filter.OutputInterface is { } oif) writer.AttributeU32(RouteAttr.Oif, (uint)oif);
        writer.EndMessage(start);
    }

    /// <summary>Decodes an RTM_NEWROUTE; null for what is not an IPv4/IPv6 route (multicast families, malformed keys).</summary>
    public static Route? Decode(ReadOnlySpan<byte> payload, AddressCache cache)
    {
        var header = Payload.ReadHeader<RtMsg>(payload, out var attributes);
        if (header.Family is not (Family.Inet or Family.Inet6)) return null;

        IPAddress? destination = null, gateway = null, source = null;
        uint table = header.Table, priority = 0;
        var oif = 0;
        var multipath = false;
        var reader = new AttributeReader(attributes);
        while (reader.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case RouteAttr.Dst: destination = Payload.Address(value); break;
                case RouteAttr.Gateway: gateway = cache.Get(value); break;
                case RouteAttr.Oif: oif = Payload.S32(value); break;
                case RouteAttr.Priority: priority = Payload.U32(value); break;
                case RouteAttr.PrefSrc: source = cache.Get(value); break;
                case RouteAttr.Table: table = Payload.U32(value); break;
                case RouteAttr.Multipath: multipath = true; break;
            }
        }
        if (table == RouteTables.Unspecified) return null;
        // IPv6 reports blackhole/unreachable/prohibit routes "dev lo": a device they never use, and never written.
        if (header.Type is (byte)RouteType.Blackhole or (byte)RouteType.Unreachable or (byte)RouteType.Prohibit
            or (byte)RouteType.Throw) oif = 0;
        destination ??= header.Family == Family.Inet ? IPAddress.Any : IPAddress.IPv6Any;
        var key = new RouteKey(new IPNetwork(destination, header.DstLength), table, priority, header.Tos);
        return new Route(key, (RouteType)header.Type, gateway, oif, (RouteProtocol)header.Protocol,
            (RouteScope)header.Scope, source, (RouteFlags)(header.Flags & 0xff), multipath);
    }

    public static byte FamilyOf(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => Family.Inet,
        AddressFamily.InterNetworkV6 => Family.Inet6,
        AddressFamily.Unspecified => Family.Unspecified,
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "only IPv4 and IPv6"),
    };

    // rtm_table is 8 bits: tables above 255 travel in RTA_TABLE with RT_TABLE_COMPAT in the header, like iproute2.
    private static RtMsg Header(RouteKey key, RouteProtocol protocol, RouteScope scope, RouteType type, RouteFlags flags) => new()
    {
        Family = FamilyOf(key.Family),
        DstLength = (byte)key.Destination.PrefixLength,
        Tos = key.Tos,
        Table = key.Table < 256 ? (byte)key.Table : (byte)252,
        Protocol = (byte)protocol,
        Scope = (byte)scope,
        Type = (byte)type,
        Flags = (uint)flags,
    };

    private static void WriteKeyAttributes(ref NetlinkWriter writer, RouteKey key)
    {
        writer.AttributeU32(RouteAttr.Table, key.Table);
        if (key.Destination.PrefixLength > 0) writer.AttributeAddress(RouteAttr.Dst, key.Destination.BaseAddress);
        if (key.Priority != 0) writer.AttributeU32(RouteAttr.Priority, key.Priority);
    }
}
