using Calico.Model.Resources;

namespace Calico.Model.Desired;

/// <summary>How workload routes reach the other hosts.</summary>
public enum RoutingMode
{
    /// <summary>
    /// The control plane computes them: every host holds a route via the owning host for each remote block, borrowed
    /// address and floating IP. Works while all hosts share one L2 segment.
    /// </summary>
    Direct = 0,

    /// <summary>
    /// BIRD on every host distributes them over BGP: the control plane computes no remote route, and instead tells each
    /// host its BGP identity and peers. Hosts may sit in different subnets behind routers.
    /// </summary>
    Bgp = 1,
}

/// <summary>
/// The cluster's routing configuration, the same for every host and every calculator shard: the mode, the AS number
/// of hosts that do not register one of their own (Calico's default, 64512), and whether hosts peer in a full mesh.
/// The mode comes from configuration; the AS number and the mesh from it too, overridden at run time by the stored
/// <see cref="BgpConfiguration"/> (<see cref="With"/>).
/// </summary>
public sealed record ClusterRouting(RoutingMode Mode = RoutingMode.Direct, uint AsNumber = ClusterRouting.DefaultAsNumber,
    bool NodeToNodeMesh = true)
{
    public const uint DefaultAsNumber = 64512;

    public static readonly ClusterRouting Direct = new();

    public static readonly ClusterRouting Bgp = new(RoutingMode.Bgp);

    public bool IsBgp => Mode == RoutingMode.Bgp;

    /// <summary>This configuration with the stored BGP settings applied (none stored: as configured).</summary>
    public ClusterRouting With(BgpConfiguration? settings) =>
        settings is null ? this : this with { AsNumber = settings.AsNumber ?? AsNumber, NodeToNodeMesh = settings.NodeToNodeMesh };

    /// <summary>A host's AS number: its own if it registered one, else the cluster's.</summary>
    public uint AsNumberOf(HostSpec host) => host.AsNumber ?? AsNumber;

    /// <summary>
    /// The host's BIRD, or null when it runs none (direct mode, or a host without an IPv4 address for a router id, which
    /// BGP needs even for IPv6 sessions). Its IPv6 address, if any, is where its IPv6 sessions start.
    /// </summary>
    public BgpNodeItem? NodeOf(HostSpec host) =>
        IsBgp && host.Ipv4Address is { } id ? new BgpNodeItem(id, AsNumberOf(host), host.RouteReflectorClusterId, host.Ipv6Address) : null;

    /// <summary>
    /// What other hosts peer with to reach this one (at its IPv4 address, and at its IPv6 address too if it has one),
    /// or null (direct mode, or no IPv4 address to peer on).
    /// </summary>
    public BgpPeerItem? PeerOf(HostSpec host, bool routeReflectorClient = false) =>
        IsBgp && host.Ipv4Address is { } address
            ? new BgpPeerItem(address, AsNumberOf(host), host.Name, RouteReflectorClient: routeReflectorClient, Ipv6Address: host.Ipv6Address)
            : null;

    /// <summary>
    /// Whether, and how, a host (<paramref name="viewerIsReflector"/>) peers with another registered host: once any
    /// host is a route reflector, clients peer with the reflectors only and a reflector with every host (its clients
    /// as `rr client`); with none, every host peers with every other (the node-to-node mesh) unless it is turned off.
    /// </summary>
    public BgpPeerItem? HostPeer(bool viewerIsReflector, HostSpec other, bool reflectorsExist)
    {
        if (reflectorsExist)
        {
            if (other.IsRouteReflector) return PeerOf(other);
            return viewerIsReflector ? PeerOf(other, routeReflectorClient: true) : null;
        }
        return NodeToNodeMesh ? PeerOf(other) : null;
    }
}
