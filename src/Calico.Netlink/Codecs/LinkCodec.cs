using System.Net.NetworkInformation;
using Calico.Netlink.Wire;

namespace Calico.Netlink.Codecs;

/// <summary>RTM_NEWLINK / RTM_GETLINK / RTM_SETLINK: struct ifinfomsg followed by IFLA_* attributes.</summary>
internal static class LinkCodec
{
    public static void EncodeDump(ref NetlinkWriter writer, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.GetLink, MessageFlags.Request | MessageFlags.Dump, sequence);
        writer.WriteStruct(new IfInfoMsg());
        writer.EndMessage(start);
    }

    /// <summary>A get of one link, by index or (index 0) by name; the kernel answers RTM_NEWLINK or ENODEV.</summary>
    public static void EncodeGet(ref NetlinkWriter writer, int index, string? name, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.GetLink, MessageFlags.Request, sequence);
        writer.WriteStruct(new IfInfoMsg { Index = index });
        if (name is not null) writer.AttributeString(LinkAttr.IfName, name);
        writer.EndMessage(start);
    }

    /// <summary>
    /// Changes flags (only those in <paramref name="change"/>: the kernel leaves the others as they are) and, when given,
    /// the MTU of an existing link.
    /// </summary>
    public static void EncodeSet(ref NetlinkWriter writer, int index, LinkFlags flags, LinkFlags change, int? mtu, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.SetLink, MessageFlags.Request | MessageFlags.Ack, sequence);
        writer.WriteStruct(new IfInfoMsg { Index = index, Flags = (uint)flags, Change = (uint)change });
        if (mtu is { } value) writer.AttributeU32(LinkAttr.Mtu, (uint)value);
        writer.EndMessage(start);
    }

    /// <summary>`ip link add NAME type veth peer name PEER`: both ends in the socket's namespace, both down.</summary>
    public static void EncodeAddVethPair(ref NetlinkWriter writer, string name, string peer, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.NewLink,
            MessageFlags.Request | MessageFlags.Ack | MessageFlags.Create | MessageFlags.Exclusive, sequence);
        writer.WriteStruct(new IfInfoMsg());
        writer.AttributeString(LinkAttr.IfName, name);
        var info = writer.BeginNested(LinkAttr.LinkInfo);
        writer.AttributeString(LinkAttr.InfoKind, "veth");
        var data = writer.BeginNested(LinkAttr.InfoData);
        var peerInfo = writer.BeginNested(LinkAttr.VethInfoPeer);
        writer.WriteStruct(new IfInfoMsg());
        writer.AttributeString(LinkAttr.IfName, peer);
        writer.EndNested(peerInfo);
        writer.EndNested(data);
        writer.EndNested(info);
        writer.EndMessage(start);
    }

    /// <summary>`ip link add NAME [up] type KIND` for kinds that need no data (ifb); EEXIST if a link of that name exists.</summary>
    public static void EncodeAdd(ref NetlinkWriter writer, string name, string kind, bool up, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.NewLink,
            MessageFlags.Request | MessageFlags.Ack | MessageFlags.Create | MessageFlags.Exclusive, sequence);
        writer.WriteStruct(new IfInfoMsg { Flags = up ? (uint)LinkFlags.Up : 0, Change = up ? (uint)LinkFlags.Up : 0 });
        writer.AttributeString(LinkAttr.IfName, name);
        var info = writer.BeginNested(LinkAttr.LinkInfo);
        writer.AttributeString(LinkAttr.InfoKind, kind);
        writer.EndNested(info);
        writer.EndMessage(start);
    }

    public static void EncodeDelete(ref NetlinkWriter writer, int index, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.DelLink, MessageFlags.Request | MessageFlags.Ack, sequence);
        writer.WriteStruct(new IfInfoMsg { Index = index });
        writer.EndMessage(start);
    }

    public static Link? Decode(ReadOnlySpan<byte> payload)
    {
        var header = Payload.ReadHeader<IfInfoMsg>(payload, out var attributes);
        string? name = null, kind = null;
        PhysicalAddress? address = null;
        int mtu = 0, master = 0, parent = 0;
        ulong rxPackets = 0;
        var operState = LinkOperState.Unknown;
        var reader = new AttributeReader(attributes);
        while (reader.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case LinkAttr.IfName: name = Payload.String(value); break;
                case LinkAttr.Address when value.Length > 0: address = new PhysicalAddress(value.ToArray()); break;
                case LinkAttr.Mtu: mtu = Payload.S32(value); break;
                case LinkAttr.Link: parent = Payload.S32(value); break;
                case LinkAttr.Master: master = Payload.S32(value); break;
                case LinkAttr.OperState: operState = (LinkOperState)Payload.U8(value); break;
                case LinkAttr.LinkInfo: kind = ReadKind(value); break;
                case LinkAttr.Stats64 when value.Length >= 8: rxPackets = Payload.U64(value); break;
            }
        }
        return name is null ? null
            : new Link(header.Index, name, (LinkFlags)header.Flags, address, mtu, kind, operState, master, parent, rxPackets);
    }

    private static string? ReadKind(ReadOnlySpan<byte> linkInfo)
    {
        var reader = new AttributeReader(linkInfo);
        while (reader.TryRead(out var type, out var value))
            if (type == LinkAttr.InfoKind) return Payload.String(value);
        return null;
    }
}
