using System.Net;
using System.Net.Sockets;

namespace Calico.Netlink;

/// <summary>
/// An address on an interface ("10.65.0.1/24 dev ns-dhcp"). The kernel identifies it by interface, local address and
/// prefix length; <see cref="Flags"/> and <see cref="Scope"/> are properties the kernel may change on its own (IPv6
/// addresses are Permanent, and Tentative during duplicate address detection), so compare desired against listed
/// addresses by <see cref="IsSameAddress"/>, not by record equality.
/// </summary>
/// <param name="InterfaceIndex">The interface holding it.</param>
/// <param name="Local">The address itself (IFA_LOCAL for IPv4; IFA_ADDRESS for IPv6 unless point-to-point).</param>
/// <param name="PrefixLength">The length of the subnet it belongs to (10.65.0.1/24: 24).</param>
/// <param name="Scope">ifa_scope: universe (global), link, host.</param>
/// <param name="Flags">IFA_F_* flags; NoPrefixRoute stops the kernel from adding the subnet route.</param>
/// <param name="Peer">The far end of a point-to-point address (IFA_ADDRESS when it differs from the local one).</param>
/// <param name="Label">IPv4 label (eth0:1), if any.</param>
public sealed record Address(
    int InterfaceIndex,
    IPAddress Local,
    int PrefixLength,
    RouteScope Scope = RouteScope.Universe,
    AddressFlags Flags = AddressFlags.None,
    IPAddress? Peer = null,
    string? Label = null)
{
    public AddressFamily Family => Local.AddressFamily;

    /// <summary>The subnet the address is in: 10.65.0.0/24 for 10.65.0.1/24.</summary>
    public IPNetwork Subnet
    {
        get
        {
            var bytes = Local.GetAddressBytes();
            for (var bit = PrefixLength; bit < bytes.Length * 8; bit++)
                bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
            return new IPNetwork(new IPAddress(bytes), PrefixLength);
        }
    }

    /// <summary>Same interface, address and prefix length: the kernel's identity for an address.</summary>
    public bool IsSameAddress(Address other) =>
        InterfaceIndex == other.InterfaceIndex && Local.Equals(other.Local) && PrefixLength == other.PrefixLength;

    public override string ToString() => $"{Local}/{PrefixLength} dev if{InterfaceIndex}";
}

/// <summary>IFA_F_* (if_addr.h). The low 8 bits travel in ifa_flags, the full set in IFA_FLAGS.</summary>
[Flags]
public enum AddressFlags : uint
{
    None = 0,
    Secondary = 0x01,
    NoDad = 0x02,
    Optimistic = 0x04,
    DadFailed = 0x08,
    HomeAddress = 0x10,
    Deprecated = 0x20,
    Tentative = 0x40,
    Permanent = 0x80,
    ManageTempAddress = 0x100,
    NoPrefixRoute = 0x200,
    McAutoJoin = 0x400,
    StablePrivacy = 0x800,
}
