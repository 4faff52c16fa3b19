using System.Net.Sockets;
using Calico.Netlink;
using Calico.Netlink.Namespaces;

namespace Calico.Dataplane.Linux.Kernel;

/// <summary>
/// The rtnetlink operations the reconcilers use: implemented by <see cref="NetlinkRouteClient"/> against the
/// kernel, and by a fake with the kernel's semantics in unit tests (one contract suite runs on both). Reconcilers
/// never see sockets. Links are created and deleted, and addresses written, only for DHCP's ns-dhcp.
/// </summary>
public interface INetlink
{
    IReadOnlyList<Route> ListRoutes(RouteFilter? filter = null);

    /// <summary>One result per operation, same order; single failures are results, not exceptions.</summary>
    IReadOnlyList<RouteOperationResult> Apply(IReadOnlyList<RouteOperation> operations);

    IReadOnlyList<Link> ListLinks();

    /// <summary>The link called <paramref name="name"/>, or null if there is none.</summary>
    Link? GetLink(string name);

    void SetLinkUp(int index);

    void SetLinkDown(int index);

    /// <summary>A veth pair, both ends down, each the other's parent; EEXIST if a link of either name exists.</summary>
    void AddVethPair(string name, string peer);

    /// <summary>Deletes a link with its addresses, routes and neighbours (a veth's peer goes too); ENODEV if there is none.</summary>
    void DeleteLink(int index);

    /// <summary>Addresses of one family (both by default), of one interface (all when 0).</summary>
    IReadOnlyList<Address> ListAddresses(AddressFamily family = AddressFamily.Unspecified, int interfaceIndex = 0);

    /// <summary>Adds the address or updates its flags: the idempotent write; ENODEV without the interface.</summary>
    void ReplaceAddress(Address address);

    /// <summary>EADDRNOTAVAIL if the interface does not have it.</summary>
    void DeleteAddress(Address address);

    IReadOnlyList<Neighbour> ListNeighbours(AddressFamily family = AddressFamily.Unspecified, int interfaceIndex = 0);

    void ReplaceNeighbour(Neighbour neighbour);

    void DeleteNeighbour(Neighbour neighbour);
}

/// <summary>What the interface reconciler needs from /proc/sys: write what differs, say what it changed.</summary>
public interface ISysctlWriter
{
    /// <summary>The current value, or null when the setting does not exist (an interface without IPv6, say).</summary>
    string? Read(string key);

    IReadOnlyList<SysctlSetting> Apply(IEnumerable<SysctlSetting> settings);
}

/// <summary>
/// The traffic-control operations the QoS component uses (qdiscs, redirect filters, IFB links), implemented by
/// <see cref="NetlinkRouteClient"/> against the kernel. No fake: the QoS reconciler is tested on the real kernel, its
/// decisions (<c>TcDiff</c>) as a pure function.
/// </summary>
public interface ITrafficControl
{
    IReadOnlyList<Qdisc> ListQdiscs(int interfaceIndex = 0);

    /// <summary>Creates the qdisc, or changes ours in place when its parent holds one with the same handle and kind.</summary>
    void ReplaceQdisc(Qdisc qdisc);

    /// <summary>EEXIST when the parent already holds one (the ingress qdisc).</summary>
    void AddQdisc(Qdisc qdisc);

    void DeleteQdisc(Qdisc qdisc);

    IReadOnlyList<TcFilter> ListFilters(int interfaceIndex, uint parent);

    void AddRedirectFilter(RedirectFilter filter);

    /// <summary>Every filter of that priority under the parent.</summary>
    void DeleteFilters(int interfaceIndex, uint parent, ushort priority);

    /// <summary>A link of a kind that needs no data (ifb), created up; EEXIST if the name is taken.</summary>
    void AddLink(string name, string kind, bool up);
}
