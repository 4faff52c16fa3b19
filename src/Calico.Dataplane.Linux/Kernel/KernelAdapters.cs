using System.Net.Sockets;
using Calico.Netlink;
using Calico.Netlink.Namespaces;

namespace Calico.Dataplane.Linux.Kernel;

/// <summary>The real kernel: an rtnetlink handle bound to one network namespace.</summary>
public sealed class NetlinkKernel(NetlinkRouteClient client) : INetlink, ITrafficControl, IDisposable
{
    public IReadOnlyList<Route> ListRoutes(RouteFilter? filter = null) => client.ListRoutes(filter);

    public IReadOnlyList<RouteOperationResult> Apply(IReadOnlyList<RouteOperation> operations) => client.Apply(operations);

    public IReadOnlyList<Link> ListLinks() => client.ListLinks();

    public Link? GetLink(string name) => client.GetLink(name);

    public void SetLinkUp(int index) => client.SetLinkUp(index);

    public void SetLinkDown(int index) => client.SetLinkDown(index);

    public void AddVethPair(string name, string peer) => client.AddVethPair(name, peer);

    public void DeleteLink(int index) => client.DeleteLink(index);

    public IReadOnlyList<Address> ListAddresses(AddressFamily family = AddressFamily.Unspecified, int interfaceIndex = 0) =>
        client.ListAddresses(family, interfaceIndex);

    public void ReplaceAddress(Address address) => client.ReplaceAddress(address);

    public void DeleteAddress(Address address) => client.DeleteAddress(address);

    public IReadOnlyList<Neighbour> ListNeighbours(AddressFamily family = AddressFamily.Unspecified, int interfaceIndex = 0) =>
        client.ListNeighbours(family, interfaceIndex);

    public void ReplaceNeighbour(Neighbour neighbour) => client.ReplaceNeighbour(neighbour);

    public void DeleteNeighbour(Neighbour neighbour) => client.DeleteNeighbour(neighbour);

    public IReadOnlyList<Qdisc> ListQdiscs(int interfaceIndex = 0) => client.ListQdiscs(interfaceIndex);

    public void ReplaceQdisc(Qdisc qdisc) => client.ReplaceQdisc(qdisc);

    public void AddQdisc(Qdisc qdisc) => client.AddQdisc(qdisc);

    public void DeleteQdisc(Qdisc qdisc) => client.DeleteQdisc(qdisc);

    public IReadOnlyList<TcFilter> ListFilters(int interfaceIndex, uint parent) => client.ListFilters(interfaceIndex, parent);

    public void AddRedirectFilter(RedirectFilter filter) => client.AddRedirectFilter(filter);

    public void DeleteFilters(int interfaceIndex, uint parent, ushort priority) => client.DeleteFilters(interfaceIndex, parent, priority);

    public void AddLink(string name, string kind, bool up) => client.AddLink(name, kind, up);

    public void Dispose() => client.Dispose();
}

/// <summary>The real /proc/sys of one network namespace.</summary>
public sealed class ProcSysctls(Sysctls sysctls) : ISysctlWriter
{
    public string? Read(string key)
    {
        try { return sysctls.Read(key); }
        catch (IOException) { return null; }
    }

    public IReadOnlyList<SysctlSetting> Apply(IEnumerable<SysctlSetting> settings) => sysctls.Apply(settings);
}

/// <summary>The real kernel's link notifications: a <see cref="NetlinkLinkMonitor"/> of one network namespace.</summary>
public sealed class NetlinkLinkNotifications(NetlinkLinkMonitor monitor) : ILinkNotifications, IDisposable
{
    public event EventHandler<LinkEvent>? LinkChanged
    {
        add => monitor.LinkChanged += value;
        remove => monitor.LinkChanged -= value;
    }

    public event EventHandler<LinkNotificationsLost>? NotificationsLost
    {
        add => monitor.NotificationsLost += value;
        remove => monitor.NotificationsLost -= value;
    }

    public void Start() => monitor.Start();

    public void Dispose() => monitor.Dispose();
}
