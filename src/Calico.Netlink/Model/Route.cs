using System.Net;
using System.Net.Sockets;

namespace Calico.Netlink;

/// <summary>
/// One kernel route, portable (no syscalls here). Value equality over every field, so a desired route equal to the
/// listed one needs no write. Build the routes the dataplane writes with <see cref="ViaGateway"/>,
/// <see cref="OnDevice"/> and <see cref="Blackhole"/>; listing returns whatever the kernel holds.
/// </summary>
/// <param name="Key">Table, destination, metric, TOS: what the kernel keys the route by.</param>
/// <param name="Type">rtm_type: unicast, blackhole, local...</param>
/// <param name="Gateway">Next hop address, or null for a route on a device (and for non-unicast types).</param>
/// <param name="OutputInterface">Interface index (RTA_OIF), 0 when the kernel is to choose or none applies.</param>
/// <param name="Protocol">Who installed the route; owners recognise their routes by it.</param>
/// <param name="Scope">Link for routes on a device, universe for routes via a gateway and for blackholes.</param>
/// <param name="PreferredSource">RTA_PREFSRC: the source address for locally originated packets, if set.</param>
/// <param name="Flags">Next-hop flags; OnLink is the one worth writing, the others are reported by the kernel.</param>
/// <param name="IsMultipath">The kernel holds several next hops (RTA_MULTIPATH); they are not decoded here.</param>
public sealed record Route(
    RouteKey Key,
    RouteType Type,
    IPAddress? Gateway,
    int OutputInterface,
    RouteProtocol Protocol,
    RouteScope Scope,
    IPAddress? PreferredSource = null,
    RouteFlags Flags = RouteFlags.None,
    bool IsMultipath = false)
{
    public IPNetwork Destination => Key.Destination;

    public AddressFamily Family => Key.Family;

    public RouteKind Kind => Type switch
    {
        RouteType.Blackhole => RouteKind.Blackhole,
        RouteType.Unicast when IsMultipath => RouteKind.Other,
        RouteType.Unicast when Gateway is not null => RouteKind.ViaGateway,
        RouteType.Unicast when OutputInterface != 0 => RouteKind.OnDevice,
        _ => RouteKind.Other,
    };

    /// <summary>"10.65.0.3/32 via 172.18.203.44 dev eth0" (the device may be left for the kernel to find: 0).</summary>
    public static Route ViaGateway(IPNetwork destination, IPAddress gateway, int outputInterface = 0,
        RouteProtocol protocol = RouteProtocol.Boot, uint table = RouteTables.Main, uint priority = 0,
        RouteFlags flags = RouteFlags.None)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        if (gateway.AddressFamily != destination.BaseAddress.AddressFamily)
            throw new ArgumentException($"gateway {gateway} is not of the family of {destination}", nameof(gateway));
        return new Route(new RouteKey(destination, table, priority), RouteType.Unicast, gateway, outputInterface,
            protocol, RouteScope.Universe, Flags: flags);
    }

    /// <summary>
    /// "10.65.0.3/32 dev tap12345-ab scope link". IPv6 has no route scopes (the kernel reports every IPv6 route as
    /// universe), so an IPv6 route on a device gets universe, to equal what the kernel lists.
    /// </summary>
    public static Route OnDevice(IPNetwork destination, int outputInterface, RouteProtocol protocol = RouteProtocol.Boot,
        uint table = RouteTables.Main, uint priority = 0, IPAddress? preferredSource = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputInterface);
        var scope = destination.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? RouteScope.Link : RouteScope.Universe;
        return new Route(new RouteKey(destination, table, priority), RouteType.Unicast, null, outputInterface,
            protocol, scope, preferredSource);
    }

    /// <summary>"blackhole 10.65.0.0/26": drops what no more specific route claims (a local IPAM block).</summary>
    public static Route Blackhole(IPNetwork destination, RouteProtocol protocol = RouteProtocol.Boot,
        uint table = RouteTables.Main, uint priority = 0) =>
        new(new RouteKey(destination, table, priority), RouteType.Blackhole, null, 0, protocol, RouteScope.Universe);

    public override string ToString() => RouteText.Format(this, static index => $"if{index}");
}

/// <summary>Filters for listing routes. Null fields match everything. Applied by the kernel where it can, always also here.</summary>
public sealed record RouteFilter(
    AddressFamily Family = AddressFamily.Unspecified,
    uint? Table = null,
    RouteProtocol? Protocol = null,
    int? OutputInterface = null)
{
    public static RouteFilter All { get; } = new();

    public bool Matches(Route route) =>
        (Family == AddressFamily.Unspecified || route.Family == Family) &&
        (Table is null || route.Key.Table == Table) &&
        (Protocol is null || route.Protocol == Protocol) &&
        (OutputInterface is null || route.OutputInterface == OutputInterface);
}
