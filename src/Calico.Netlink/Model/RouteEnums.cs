namespace Calico.Netlink;

/// <summary>rtm_type (RTN_*).</summary>
public enum RouteType : byte
{
    Unspecified = 0,
    Unicast = 1,
    Local = 2,
    Broadcast = 3,
    Anycast = 4,
    Multicast = 5,
    Blackhole = 6,
    Unreachable = 7,
    Prohibit = 8,
    Throw = 9,
    Nat = 10,
}

/// <summary>
/// rtm_protocol: who installed the route. The kernel never interprets values above Static; they are how route owners
/// recognise their own routes. Any byte is valid (cast a number to this type).
/// </summary>
public enum RouteProtocol : byte
{
    Unspecified = 0,
    Redirect = 1,
    Kernel = 2,
    Boot = 3,
    Static = 4,
    Bird = 12,
    Dhcp = 16,
}

/// <summary>rtm_scope / ifa_scope (enum rt_scope_t): the distance to the destination.</summary>
public enum RouteScope : byte
{
    Universe = 0,
    Site = 200,
    Link = 253,
    Host = 254,
    Nowhere = 255,
}

/// <summary>The next-hop flags carried in rtm_flags (RTNH_F_*).</summary>
[Flags]
public enum RouteFlags : uint
{
    None = 0,
    Dead = 1,
    Pervasive = 2,
    /// <summary>The gateway is on the link even though no address of the device covers it.</summary>
    OnLink = 4,
    Offload = 8,
    LinkDown = 16,
    Unresolved = 32,
}

/// <summary>The shapes of route the dataplane writes, and Other for everything else the kernel may hold.</summary>
public enum RouteKind
{
    /// <summary>Unicast via a gateway: "10.65.0.3/32 via 172.18.203.44 dev eth0".</summary>
    ViaGateway,
    /// <summary>Unicast straight out of a device: "10.65.0.3/32 dev tap12345-ab".</summary>
    OnDevice,
    /// <summary>Drop: "blackhole 10.65.0.0/26".</summary>
    Blackhole,
    /// <summary>Local, broadcast, unreachable, multipath, ...: listed, never written by the dataplane.</summary>
    Other,
}
