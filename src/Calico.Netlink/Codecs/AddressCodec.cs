using System.Net;
using System.Net.Sockets;
using Calico.Netlink.Wire;

namespace Calico.Netlink.Codecs;

/// <summary>RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR: struct ifaddrmsg followed by IFA_* attributes.</summary>
internal static class AddressCodec
{
    public static void EncodeDump(ref NetlinkWriter writer, AddressFamily family, int interfaceIndex, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.GetAddr, MessageFlags.Request | MessageFlags.Dump, sequence);
        // Strict checking accepts an interface index as a filter; prefix length, flags and scope must be zero.
        writer.WriteStruct(new IfAddrMsg { Family = RouteCodec.FamilyOf(family), Index = interfaceIndex });
        writer.EndMessage(start);
    }

    /// <summary>
    /// IFA_LOCAL and IFA_ADDRESS both, as iproute2 sends them: IPv4 reads the local address from IFA_LOCAL and the
    /// peer from IFA_ADDRESS, IPv6 reads IFA_ADDRESS (or IFA_LOCAL for point-to-point). The full flag set goes in
    /// IFA_FLAGS because ifa_flags has only 8 bits (NoPrefixRoute is 0x200).
    /// </summary>
    public static void Encode(ref NetlinkWriter writer, ushort type, Address address, ushort flags, uint sequence)
    {
        var start = writer.BeginMessage(type, (ushort)(MessageFlags.Request | flags), sequence);
        writer.WriteStruct(new IfAddrMsg
        {
            Family = RouteCodec.FamilyOf(address.Family),
            PrefixLength = (byte)address.PrefixLength,
            Flags = (byte)address.Flags,
            Scope = (byte)address.Scope,
            Index = address.InterfaceIndex,
        });
        writer.AttributeAddress(AddressAttr.Local, address.Local);
        writer.AttributeAddress(AddressAttr.Address, address.Peer ?? address.Local);
        if (address.Label is not null) writer.AttributeString(AddressAttr.Label, address.Label);
        if (type == MessageType.NewAddr && address.Flags != AddressFlags.None)
            writer.AttributeU32(AddressAttr.Flags, (uint)address.Flags);
        writer.EndMessage(start);
    }

    public static Address? Decode(ReadOnlySpan<byte> payload)
    {
        var header = Payload.ReadHeader<IfAddrMsg>(payload, out var attributes);
        if (header.Family is not (Family.Inet or Family.Inet6)) return null;
        IPAddress? local = null, address = null;
        string? label = null;
        var flags = (AddressFlags)header.Flags;
        var reader = new AttributeReader(attributes);
        while (reader.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case AddressAttr.Local: local = Payload.Address(value); break;
                case AddressAttr.Address: address = Payload.Address(value); break;
                case AddressAttr.Label: label = Payload.String(value); break;
                case AddressAttr.Flags: flags = (AddressFlags)Payload.U32(value); break;
            }
        }
        var own = local ?? address;
        if (own is null) return null;
        var peer = local is not null && address is not null && !address.Equals(local) ? address : null;
        return new Address(header.Index, own, header.PrefixLength, (RouteScope)header.Scope, flags, peer, label);
    }
}
