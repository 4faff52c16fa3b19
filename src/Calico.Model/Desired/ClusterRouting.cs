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
/// The cluster's routing configuration, the same for every host and every calculator shard: the mode, and the AS number
/// of hosts that do not register one of their own (Calico's default, 64512).
/// </summary>
public sealed record ClusterRouting(RoutingMode Mode = RoutingMode.Direct, uint AsNumber = ClusterRouting.DefaultAsNumber)
{
    public const uint DefaultAsNumber = 64512;

    public static readonly ClusterRouting Direct = new();

    public static readonly ClusterRouting Bgp = new(RoutingMode.Bgp);

    public bool IsBgp => Mode == RoutingMode.Bgp;

    /// <summary>A host's AS number: its own if it registered one, else the cluster's.</summary>
    public uint AsNumberOf(Resources.HostSpec host) => host.AsNumber ?? AsNumber;

    /// <summary>The host's BIRD, or null when it runs none (direct mode, or a host without an IPv4 address for a router id).</summary>
    public BgpNodeItem? NodeOf(Resources.HostSpec host) =>
        IsBgp && host.Ipv4Address is { } id ? new BgpNodeItem(id, AsNumberOf(host)) : null;

    /// <summary>What the other hosts of the mesh peer with, or null (direct mode, or no IPv4 address to peer on).</summary>
    public BgpPeerItem? PeerOf(Resources.HostSpec host) =>
        IsBgp && host.Ipv4Address is { } address ? new BgpPeerItem(address, AsNumberOf(host), host.Name) : null;
}
