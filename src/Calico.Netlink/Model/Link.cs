using System.Net.NetworkInformation;

namespace Calico.Netlink;

/// <summary>A network interface as rtnetlink reports it (RTM_NEWLINK).</summary>
/// <param name="Index">ifindex: what routes, addresses and neighbours refer to.</param>
/// <param name="Name">IFLA_IFNAME.</param>
/// <param name="Flags">ifi_flags (IFF_*).</param>
/// <param name="HardwareAddress">IFLA_ADDRESS (the MAC for Ethernet-like links), if the link has one.</param>
/// <param name="Mtu">IFLA_MTU.</param>
/// <param name="Kind">IFLA_INFO_KIND ("veth", "bridge", "tun", ...); null for links without link info (lo, physical NICs).</param>
/// <param name="OperState">IFLA_OPERSTATE (RFC 2863).</param>
/// <param name="MasterIndex">IFLA_MASTER (a bridge or bond it is enslaved to), 0 if none.</param>
/// <param name="ParentIndex">IFLA_LINK (a veth's peer, a VLAN's parent), 0 if none; may name a link of another namespace.</param>
/// <param name="RxPackets">
/// rx_packets of IFLA_STATS64: frames the link has received. On a tap, the frames its VM sent (what QEMU wrote into the
/// tap); on a veth, what its peer sent. 0 when the kernel did not report statistics.
/// </param>
public sealed record Link(
    int Index,
    string Name,
    LinkFlags Flags,
    PhysicalAddress? HardwareAddress,
    int Mtu,
    string? Kind,
    LinkOperState OperState,
    int MasterIndex = 0,
    int ParentIndex = 0,
    ulong RxPackets = 0)
{
    /// <summary>Administratively up (IFF_UP).</summary>
    public bool IsUp => (Flags & LinkFlags.Up) != 0;

    /// <summary>The carrier is up (IFF_LOWER_UP): for a veth, the peer is up too.</summary>
    public bool IsLowerUp => (Flags & LinkFlags.LowerUp) != 0;

    public override string ToString() => $"{Index}: {Name} <{Flags}> mtu {Mtu}{(Kind is null ? "" : $" {Kind}")}";
}

/// <summary>ifi_flags (IFF_* from if.h).</summary>
[Flags]
public enum LinkFlags : uint
{
    None = 0,
    Up = 0x1,
    Broadcast = 0x2,
    Debug = 0x4,
    Loopback = 0x8,
    PointToPoint = 0x10,
    NoTrailers = 0x20,
    Running = 0x40,
    NoArp = 0x80,
    Promiscuous = 0x100,
    AllMulticast = 0x200,
    Master = 0x400,
    Slave = 0x800,
    Multicast = 0x1000,
    PortSelect = 0x2000,
    AutoMedia = 0x4000,
    Dynamic = 0x8000,
    LowerUp = 0x10000,
    Dormant = 0x20000,
    Echo = 0x40000,
}

/// <summary>IFLA_OPERSTATE values (IF_OPER_*).</summary>
public enum LinkOperState : byte
{
    Unknown = 0,
    NotPresent = 1,
    Down = 2,
    LowerLayerDown = 3,
    Testing = 4,
    Dormant = 5,
    Up = 6,
}
