using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Calico.Netlink;

/// <summary>
/// An ARP / NDP entry, or a proxy entry (the host answers ARP or neighbour solicitations for <see cref="Destination"/>
/// on that interface). The kernel keys both by interface and destination; proxy entries live in a table of their own,
/// so the same address may have a cache entry and a proxy entry at once.
/// </summary>
/// <param name="InterfaceIndex">The interface; a proxy entry may have 0 (any interface).</param>
/// <param name="Destination">The neighbour's IP address (NDA_DST).</param>
/// <param name="LinkAddress">Its MAC (NDA_LLADDR); null for proxy entries and unresolved ones.</param>
/// <param name="State">NUD_* state; proxy entries report None.</param>
/// <param name="Flags">NTF_* flags; Proxy marks a proxy entry.</param>
public sealed record Neighbour(
    int InterfaceIndex,
    IPAddress Destination,
    PhysicalAddress? LinkAddress,
    NeighbourState State,
    NeighbourFlags Flags = NeighbourFlags.None)
{
    public AddressFamily Family => Destination.AddressFamily;

    public bool IsProxy => (Flags & NeighbourFlags.Proxy) != 0;

    /// <summary>A static entry: "ip neigh replace IP lladdr MAC dev IF nud permanent".</summary>
    public static Neighbour Permanent(int interfaceIndex, IPAddress destination, PhysicalAddress linkAddress) =>
        new(interfaceIndex, destination, linkAddress, NeighbourState.Permanent);

    /// <summary>A proxy entry: "ip neigh add proxy IP dev IF".</summary>
    public static Neighbour Proxy(int interfaceIndex, IPAddress destination) =>
        new(interfaceIndex, destination, null, NeighbourState.None, NeighbourFlags.Proxy);

    public override string ToString() =>
        IsProxy ? $"proxy {Destination} dev if{InterfaceIndex}" : $"{Destination} dev if{InterfaceIndex} lladdr {LinkAddress} {State}";
}

/// <summary>ndm_state (NUD_*).</summary>
[Flags]
public enum NeighbourState : ushort
{
    None = 0x00,
    Incomplete = 0x01,
    Reachable = 0x02,
    Stale = 0x04,
    Delay = 0x08,
    Probe = 0x10,
    Failed = 0x20,
    NoArp = 0x40,
    Permanent = 0x80,
}

/// <summary>ndm_flags (NTF_*).</summary>
[Flags]
public enum NeighbourFlags : byte
{
    None = 0,
    Use = 0x01,
    Self = 0x02,
    Master = 0x04,
    Proxy = 0x08,
    ExternallyLearned = 0x10,
    Offloaded = 0x20,
    Sticky = 0x40,
    Router = 0x80,
}
