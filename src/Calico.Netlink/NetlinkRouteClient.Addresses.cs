using System.Net.Sockets;
using Calico.Netlink.Codecs;
using Calico.Netlink.Wire;

namespace Calico.Netlink;

public sealed partial class NetlinkRouteClient
{
    /// <summary>Lists addresses of one family (both by default), of one interface (all when 0).</summary>
    public IReadOnlyList<Address> ListAddresses(AddressFamily family = AddressFamily.Unspecified, int interfaceIndex = 0)
    {
        RouteCodec.FamilyOf(family); // rejects families other than IPv4, IPv6 and unspecified
        return Locked(() => Dump(
            (ref NetlinkWriter writer, uint sequence) => AddressCodec.EncodeDump(ref writer, family, interfaceIndex, sequence),
            MessageType.NewAddr, AddressCodec.Decode,
            address => interfaceIndex == 0 || address.InterfaceIndex == interfaceIndex,
            () => "list addresses"));
    }

    /// <summary>Adds the address; EEXIST if the interface already has it.</summary>
    public void AddAddress(Address address) =>
        WriteAddress(MessageType.NewAddr, address, MessageFlags.Create | MessageFlags.Exclusive, "add");

    /// <summary>Adds the address or updates its flags if the interface has it: the idempotent write.</summary>
    public void ReplaceAddress(Address address) =>
        WriteAddress(MessageType.NewAddr, address, MessageFlags.Create | MessageFlags.Replace, "replace");

    /// <summary>Deletes the address; EADDRNOTAVAIL if the interface does not have it.</summary>
    public void DeleteAddress(Address address) => WriteAddress(MessageType.DelAddr, address, 0, "delete");

    private void WriteAddress(ushort type, Address address, int flags, string verb)
    {
        ArgumentNullException.ThrowIfNull(address);
        Locked(() => Execute(
            (ref NetlinkWriter writer, uint sequence) =>
                AddressCodec.Encode(ref writer, type, address, (ushort)(flags | MessageFlags.Ack), sequence),
            () => $"{verb} address {address.Local}/{address.PrefixLength} dev {InterfaceNameOrIndex(address.InterfaceIndex)}"));
    }
}
