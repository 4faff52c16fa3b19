using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Calico.Netlink.Wire;

namespace Calico.Netlink.Codecs;

/// <summary>RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH: struct ndmsg followed by NDA_* attributes.</summary>
internal static class NeighbourCodec
{
    /// <summary>
    /// A neighbour dump lists either the caches or, when ndm_flags is exactly NTF_PROXY, the proxy tables
    /// (neigh_dump_info): listing everything takes two dumps.
    /// </summary>
    public static void EncodeDump(ref NetlinkWriter writer, AddressFamily family, bool proxies, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.GetNeigh, MessageFlags.Request | MessageFlags.Dump, sequence);
        writer.WriteStruct(new NdMsg
        {
            Family = RouteCodec.FamilyOf(family),
            Flags = proxies ? (byte)NeighbourFlags.Proxy : (byte)0,
        });
        writer.EndMessage(start);
    }

    public static void Encode(ref NetlinkWriter writer, ushort type, Neighbour neighbour, ushort flags, uint sequence)
    {
        var start = writer.BeginMessage(type, (ushort)(MessageFlags.Request | flags), sequence);
        writer.WriteStruct(new NdMsg
        {
            Family = RouteCodec.FamilyOf(neighbour.Family),
            Index = neighbour.InterfaceIndex,
            // A proxy entry has no state; the kernel ignores it, iproute2 sends permanent.
            State = (ushort)(neighbour.IsProxy ? NeighbourState.Permanent : neighbour.State),
            Flags = (byte)neighbour.Flags,
        });
        writer.AttributeAddress(NeighbourAttr.Dst, neighbour.Destination);
        if (neighbour.LinkAddress is { } mac && !neighbour.IsProxy)
            writer.Attribute(NeighbourAttr.LinkLayerAddress, mac.GetAddressBytes());
        writer.EndMessage(start);
    }

    /// <summary>Decodes IPv4/IPv6 entries; null for others (bridge FDB entries use the same message type).</summary>
    public static Neighbour? Decode(ReadOnlySpan<byte> payload)
    {
        var header = Payload.ReadHeader<NdMsg>(payload, out var attributes);
        if (header.Family is not (Family.Inet or Family.Inet6)) return null;
        IPAddress? destination = null;
        PhysicalAddress? linkAddress = null;
        var reader = new AttributeReader(attributes);
        while (reader.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case NeighbourAttr.Dst: destination = Payload.Address(value); break;
                case NeighbourAttr.LinkLayerAddress when value.Length > 0: linkAddress = new PhysicalAddress(value.ToArray()); break;
            }
        }
        return destination is null ? null
            : new Neighbour(header.Index, destination, linkAddress, (NeighbourState)header.State, (NeighbourFlags)header.Flags);
    }
}
