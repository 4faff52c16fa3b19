using System.Net;
using System.Net.Sockets;
using Calico.Dataplane.Linux.Kernel;
using Calico.Netlink;
using Calico.Netlink.Namespaces;

namespace Calico.Dataplane.Linux.Tests.Reconcilers;

/// <summary>
/// A kernel in memory with rtnetlink's semantics for what the reconcilers use: routes keyed by (table, destination,
/// priority, tos), EXCL adds fail with EEXIST, deletes match the protocol or fail with ESRCH, routes on a device need
/// the device (ENODEV); links (veth pairs created and deleted together), addresses (EADDRNOTAVAIL, and an IPv4 replace
/// keeps the flags of an address already held), permanent neighbours, sysctls. Failures can be injected per destination.
/// </summary>
public sealed class FakeKernel : INetlink, ISysctlWriter
{
    public Dictionary<RouteKey, Route> Routes { get; } = [];
    public Dictionary<int, Link> Links { get; } = [];
    public List<Neighbour> Neighbours { get; } = [];
    public List<Address> Addresses { get; } = [];
    public Dictionary<string, string> SysctlValues { get; } = new(StringComparer.Ordinal);

    /// <summary>Destination → errno and how many more times to fail (int.MaxValue: always).</summary>
    public Dictionary<string, (int Errno, int Times)> RouteFaults { get; } = [];

    /// <summary>Every route listing asked for, in order: what a reconcile read back.</summary>
    public List<RouteFilter?> RouteListings { get; } = [];

    /// <summary>Runs at each link listing, before it answers: the kernel changing while a reconcile runs.</summary>
    public Action? OnListLinks { get; set; }

    public int RouteWrites { get; private set; }
    public int RouteDeletes { get; private set; }
    public int OtherWrites { get; private set; }

    public Link AddLink(string name, bool up = false, int parent = 0)
    {
        // Indexes are never reused, as the kernel's (until they wrap).
        var link = new Link(Links.Keys.DefaultIfEmpty(1).Max() + 1, name, up ? LinkFlags.Up : LinkFlags.None, null, 1500, "veth", LinkOperState.Up,
            ParentIndex: parent);
        Links[link.Index] = link;
        return link;
    }

    /// <summary>Deletes a link as the kernel does (by hand, as the hypervisor would): its routes, neighbours and addresses go with it.</summary>
    public Link RemoveLink(string name)
    {
        var link = Links.Values.Single(l => l.Name == name);
        Forget(link);
        return link;
    }

    /// <summary>Sets a link down as someone else would: the kernel drops the IPv4 routes on it.</summary>
    public Link SetLinkDown(string name)
    {
        var link = Links.Values.Single(l => l.Name == name);
        SetDown(link.Index);
        return Links[link.Index];
    }

    private void SetDown(int index)
    {
        Links[index] = Links[index] with { Flags = Links[index].Flags & ~LinkFlags.Up };
        foreach (var key in Routes.Where(r => r.Value.OutputInterface == index && r.Key.Family == AddressFamily.InterNetwork).Select(r => r.Key).ToList())
            Routes.Remove(key);
    }

    private void Forget(Link link)
    {
        Links.Remove(link.Index);
        foreach (var key in Routes.Where(r => r.Value.OutputInterface == link.Index).Select(r => r.Key).ToList()) Routes.Remove(key);
        Neighbours.RemoveAll(n => n.InterfaceIndex == link.Index);
        Addresses.RemoveAll(a => a.InterfaceIndex == link.Index);
    }

    public IReadOnlyList<Route> ListRoutes(RouteFilter? filter = null)
    {
        RouteListings.Add(filter);
        // With a device, the kernel refuses a filter naming one that does not exist.
        if (filter?.OutputInterface is { } device && !Links.ContainsKey(device)) throw new NetlinkException("list routes", Errno.ENODEV);
        return Routes.Values.Where(r => filter?.Matches(r) ?? true).ToList();
    }

    public IReadOnlyList<RouteOperationResult> Apply(IReadOnlyList<RouteOperation> operations) =>
        operations.Select(op => new RouteOperationResult(op, ApplyOne(op))).ToList();

    private NetlinkException? ApplyOne(RouteOperation op)
    {
        var key = op.Route.Key;
        var dst = key.Destination.ToString();
        if (RouteFaults.TryGetValue(dst, out var fault) && fault.Times > 0)
        {
            RouteFaults[dst] = (fault.Errno, fault.Times == int.MaxValue ? int.MaxValue : fault.Times - 1);
            return new NetlinkException($"{op.Kind} route {dst}", fault.Errno);
        }
        switch (op.Kind)
        {
            case RouteOperationKind.Delete:
                if (!Routes.TryGetValue(key, out var existing) || existing.Protocol != op.Route.Protocol)
                    return new NetlinkException($"delete route {dst}", Errno.ESRCH);
                Routes.Remove(key);
                RouteDeletes++;
                return null;
            case RouteOperationKind.Add when Routes.ContainsKey(key):
                return new NetlinkException($"add route {dst}", Errno.EEXIST);
            default:
                if (op.Route.OutputInterface != 0 && !Links.ContainsKey(op.Route.OutputInterface))
                    return new NetlinkException($"{op.Kind} route {dst}", Errno.ENODEV);
                // Like the kernel, a route via a gateway gets the device it resolves to.
                Routes[key] = op.Route.Gateway is not null && op.Route.OutputInterface == 0 ? op.Route with { OutputInterface = 1 } : op.Route;
                RouteWrites++;
                return null;
        }
    }

    public IReadOnlyList<Link> ListLinks()
    {
        OnListLinks?.Invoke();
        return [.. Links.Values];
    }

    public Link? GetLink(string name) => Links.Values.FirstOrDefault(l => l.Name == name);

    public void SetLinkUp(int index)
    {
        if (!Links.ContainsKey(index)) throw new NetlinkException($"set link if{index} up", Errno.ENODEV);
        Links[index] = Links[index] with { Flags = Links[index].Flags | LinkFlags.Up };
        OtherWrites++;
    }

    public void SetLinkDown(int index)
    {
        if (!Links.ContainsKey(index)) throw new NetlinkException($"set link if{index} down", Errno.ENODEV);
        SetDown(index);
        OtherWrites++;
    }

    public void AddVethPair(string name, string peer)
    {
        if (Links.Values.Any(l => l.Name == name || l.Name == peer))
            throw new NetlinkException($"add link {name} type veth peer {peer}", Errno.EEXIST);
        var first = AddLink(name);
        var second = AddLink(peer, parent: first.Index);
        Links[first.Index] = first with { ParentIndex = second.Index };
        OtherWrites++;
    }

    public void DeleteLink(int index)
    {
        if (!Links.TryGetValue(index, out var link)) throw new NetlinkException($"delete link if{index}", Errno.ENODEV);
        Forget(link);
        // A veth goes with its peer.
        if (Links.TryGetValue(link.ParentIndex, out var peer) && peer.ParentIndex == index) Forget(peer);
        OtherWrites++;
    }

    public IReadOnlyList<Address> ListAddresses(AddressFamily family = AddressFamily.Unspecified, int interfaceIndex = 0) =>
        Addresses.Where(a => (family == AddressFamily.Unspecified || a.Family == family) && (interfaceIndex == 0 || a.InterfaceIndex == interfaceIndex)).ToList();

    public void ReplaceAddress(Address address)
    {
        if (!Links.ContainsKey(address.InterfaceIndex)) throw new NetlinkException($"replace address {address}", Errno.ENODEV);
        var held = Addresses.FindIndex(a => a.IsSameAddress(address));
        // Addresses without a lifetime are permanent; an IPv4 address already held keeps its flags (the kernel changes
        // only its lifetime and metric), an IPv6 one takes the new flags.
        var stored = address with { Flags = address.Flags | AddressFlags.Permanent };
        if (held < 0) Addresses.Add(stored);
        else if (address.Family == AddressFamily.InterNetworkV6) Addresses[held] = stored;
        OtherWrites++;
    }

    public void DeleteAddress(Address address)
    {
        if (Addresses.RemoveAll(a => a.IsSameAddress(address)) == 0)
            throw new NetlinkException($"delete address {address}", Errno.EADDRNOTAVAIL);
        OtherWrites++;
    }

    public IReadOnlyList<Neighbour> ListNeighbours(AddressFamily family = AddressFamily.Unspecified, int interfaceIndex = 0) =>
        Neighbours.Where(n => interfaceIndex == 0 || n.InterfaceIndex == interfaceIndex).ToList();

    public void ReplaceNeighbour(Neighbour neighbour)
    {
        if (!Links.ContainsKey(neighbour.InterfaceIndex)) throw new NetlinkException("replace neighbour", Errno.ENODEV);
        Neighbours.RemoveAll(n => n.InterfaceIndex == neighbour.InterfaceIndex && n.Destination.Equals(neighbour.Destination));
        Neighbours.Add(neighbour);
        OtherWrites++;
    }

    public void DeleteNeighbour(Neighbour neighbour)
    {
        if (Neighbours.RemoveAll(n => n.InterfaceIndex == neighbour.InterfaceIndex && n.Destination.Equals(neighbour.Destination)) == 0)
            throw new NetlinkException("delete neighbour", Errno.ENOENT);
        OtherWrites++;
    }

    public string? Read(string key) => SysctlValues.GetValueOrDefault(key);

    public IReadOnlyList<SysctlSetting> Apply(IEnumerable<SysctlSetting> settings)
    {
        var changed = new List<SysctlSetting>();
        foreach (var s in settings)
        {
            if (SysctlValues.TryGetValue(s.Key, out var v) && v == s.Value) continue;
            SysctlValues[s.Key] = s.Value;
            changed.Add(s);
            OtherWrites++;
        }
        return changed;
    }

    public static IPNetwork Net(string text) => IPNetwork.Parse(text);
}
