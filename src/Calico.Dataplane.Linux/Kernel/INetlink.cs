using System.Net.Sockets;
using Calico.Netlink;
using Calico.Netlink.Namespaces;

namespace Calico.Dataplane.Linux.Kernel;

/// <summary>
/// The rtnetlink operations the reconcilers use: implemented by <see cref="NetlinkRouteClient"/> against the
/// kernel, and by a fake with the kernel's semantics in unit tests. Reconcilers never see sockets.
/// </summary>
public interface INetlink
{
    IReadOnlyList<Route> ListRoutes(RouteFilter? filter = null);

    /// <summary>One result per operation, same order; single failures are results, not exceptions.</summary>
    IReadOnlyList<RouteOperationResult> Apply(IReadOnlyList<RouteOperation> operations);

    IReadOnlyList<Link> ListLinks();

    void SetLinkUp(int index);

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
