using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Tests.Reconcilers;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Netlink;

/// <summary>
/// What the reconcilers rely on from rtnetlink (<see cref="INetlink"/>), checked on the fake kernel the unit tests use
/// and on the real kernel in a namespace of the test's own: a unit test on the fake never relies on behaviour the
/// kernel does not have. Each fact names the kernel's answer (EEXIST, ESRCH, ENODEV, ENOENT).
/// </summary>
public abstract class NetlinkContract
{
    protected const RouteProtocol Ours = (RouteProtocol)80;
    private static readonly PhysicalAddress Mac = PhysicalAddress.Parse("fa-16-3e-00-00-03");

    /// <summary>The kernel under test.</summary>
    protected abstract INetlink Kernel { get; }

    /// <summary>A link of the test's (with carrier), up or down; its index.</summary>
    protected abstract int AddLink(string name, bool up);

    /// <summary>Deletes a link as the hypervisor would.</summary>
    protected abstract void RemoveLink(string name);

    /// <summary>Sets a link down as someone else would (not through <see cref="Kernel"/>).</summary>
    protected abstract void SetDownByHand(string name);

    private static IPNetwork Net(string text) => IPNetwork.Parse(text);

    private IReadOnlyList<Route> OurRoutes() => Kernel.ListRoutes(new RouteFilter(Protocol: Ours));

    private static Exception? ResultOf(IReadOnlyList<RouteOperationResult> results) => Assert.Single(results).Error;

    [Fact]
    public void An_exclusive_add_of_a_taken_key_is_refused_with_EEXIST_and_a_replace_is_not()
    {
        var tap = AddLink("tapc0000001-00", up: true);
        var route = Route.OnDevice(Net("10.65.7.1/32"), tap, Ours);
        Assert.Null(ResultOf(Kernel.Apply([RouteOperation.Add(route)])));

        var again = ResultOf(Kernel.Apply([RouteOperation.Add(Route.Blackhole(Net("10.65.7.1/32"), Ours))]));
        Assert.Equal(Errno.EEXIST, Assert.IsType<NetlinkException>(again).Errno);
        Assert.Null(ResultOf(Kernel.Apply([RouteOperation.Replace(Route.Blackhole(Net("10.65.7.1/32"), Ours))])));

        var held = Assert.Single(OurRoutes(), r => r.Destination.Equals(Net("10.65.7.1/32")));
        Assert.Equal(RouteType.Blackhole, held.Type);
    }

    [Fact]
    public void A_delete_matches_the_protocol_or_is_refused_with_ESRCH()
    {
        var route = Route.Blackhole(Net("10.65.7.0/26"), Ours);
        Assert.Null(ResultOf(Kernel.Apply([RouteOperation.Add(route)])));

        var foreign = ResultOf(Kernel.Apply([RouteOperation.Delete(route with { Protocol = RouteProtocol.Boot })]));
        Assert.Equal(Errno.ESRCH, Assert.IsType<NetlinkException>(foreign).Errno);
        Assert.Single(OurRoutes(), r => r.Destination.Equals(route.Destination));

        Assert.Null(ResultOf(Kernel.Apply([RouteOperation.Delete(route)])));
        var gone = ResultOf(Kernel.Apply([RouteOperation.Delete(route)]));
        Assert.Equal(Errno.ESRCH, Assert.IsType<NetlinkException>(gone).Errno);
        Assert.DoesNotContain(OurRoutes(), r => r.Destination.Equals(route.Destination));
    }

    [Fact]
    public void A_route_or_a_listing_on_a_device_that_does_not_exist_is_refused_with_ENODEV()
    {
        var tap = AddLink("tapc0000002-00", up: true);
        var missing = tap + 1000;

        var write = ResultOf(Kernel.Apply([RouteOperation.Add(Route.OnDevice(Net("10.65.7.2/32"), missing, Ours))]));
        Assert.Equal(Errno.ENODEV, Assert.IsType<NetlinkException>(write).Errno);

        var list = Assert.Throws<NetlinkException>(() => Kernel.ListRoutes(new RouteFilter(Protocol: Ours, OutputInterface: missing)));
        Assert.Equal(Errno.ENODEV, list.Errno);
    }

    [Fact]
    public void A_listing_by_device_gives_that_devices_routes_only()
    {
        var a = AddLink("tapc0000003-00", up: true);
        var b = AddLink("tapc0000004-00", up: true);
        Assert.All(Kernel.Apply([
            RouteOperation.Add(Route.OnDevice(Net("10.65.7.3/32"), a, Ours)),
            RouteOperation.Add(Route.OnDevice(Net("10.65.7.4/32"), b, Ours)),
        ]), r => Assert.Null(r.Error));

        var onA = Kernel.ListRoutes(new RouteFilter(Protocol: Ours, OutputInterface: a));

        Assert.Equal([Net("10.65.7.3/32")], onA.Select(r => r.Destination));
    }

    [Fact]
    public void A_link_going_takes_its_routes_and_neighbours_and_one_set_down_loses_its_IPv4_routes()
    {
        var gone = AddLink("tapc0000005-00", up: true);
        var down = AddLink("tapc0000006-00", up: true);
        Assert.All(Kernel.Apply([
            RouteOperation.Add(Route.OnDevice(Net("10.65.7.5/32"), gone, Ours)),
            RouteOperation.Add(Route.OnDevice(Net("10.65.7.6/32"), down, Ours)),
            RouteOperation.Add(Route.Blackhole(Net("10.65.7.128/26"), Ours)),
        ]), r => Assert.Null(r.Error));
        Kernel.ReplaceNeighbour(Neighbour.Permanent(gone, IPAddress.Parse("10.65.7.5"), Mac));

        RemoveLink("tapc0000005-00");
        SetDownByHand("tapc0000006-00");

        Assert.Equal([Net("10.65.7.128/26")], OurRoutes().Select(r => r.Destination));
        Assert.DoesNotContain(Kernel.ListNeighbours(), n => n.InterfaceIndex == gone);
        Assert.False(Kernel.ListLinks().Single(l => l.Index == down).IsUp);
    }

    [Fact]
    public void Setting_a_link_up_shows_in_the_listing()
    {
        var index = AddLink("tapc0000007-00", up: false);
        Assert.False(Kernel.ListLinks().Single(l => l.Index == index).IsUp);

        Kernel.SetLinkUp(index);

        var link = Kernel.ListLinks().Single(l => l.Index == index);
        Assert.True(link.IsUp);
        Assert.Equal("tapc0000007-00", link.Name);
    }

    [Fact]
    public void A_permanent_neighbour_is_replaced_in_place_and_deleting_one_that_is_not_there_is_ENOENT()
    {
        var tap = AddLink("tapc0000008-00", up: true);
        var address = IPAddress.Parse("10.65.7.8");

        Kernel.ReplaceNeighbour(Neighbour.Permanent(tap, address, Mac));
        Kernel.ReplaceNeighbour(Neighbour.Permanent(tap, address, PhysicalAddress.Parse("fa-16-3e-00-00-09")));

        var held = Assert.Single(Kernel.ListNeighbours(AddressFamily.InterNetwork, tap), n => n.Destination.Equals(address));
        Assert.Equal(PhysicalAddress.Parse("fa-16-3e-00-00-09"), held.LinkAddress);
        Assert.Equal(NeighbourState.Permanent, held.State);

        Kernel.DeleteNeighbour(held);
        var missing = Assert.Throws<NetlinkException>(() => Kernel.DeleteNeighbour(held));
        Assert.Equal(Errno.ENOENT, missing.Errno);
        var noDevice = Assert.Throws<NetlinkException>(() => Kernel.ReplaceNeighbour(Neighbour.Permanent(tap + 1000, address, Mac)));
        Assert.Equal(Errno.ENODEV, noDevice.Errno);
    }

    [Fact]
    public void A_veth_pair_is_created_down_each_end_the_others_parent_refused_with_EEXIST_for_a_taken_name_and_deleted_together()
    {
        Kernel.AddVethPair("cal-ct-dhcp", "cal-ct-peer");
        var end = Assert.IsType<Link>(Kernel.GetLink("cal-ct-dhcp"));
        var peer = Assert.IsType<Link>(Kernel.GetLink("cal-ct-peer"));
        Assert.False(end.IsUp);
        Assert.False(peer.IsUp);
        Assert.Equal((peer.Index, end.Index), (end.ParentIndex, peer.ParentIndex));

        var taken = Assert.Throws<NetlinkException>(() => Kernel.AddVethPair("cal-ct-other", "cal-ct-peer"));
        Assert.Equal(Errno.EEXIST, taken.Errno);
        Assert.Null(Kernel.GetLink("cal-ct-other"));

        Kernel.SetLinkUp(end.Index);
        Assert.True(Kernel.GetLink("cal-ct-dhcp")!.IsUp);
        Kernel.SetLinkDown(end.Index);
        Assert.False(Kernel.GetLink("cal-ct-dhcp")!.IsUp);

        Kernel.ReplaceAddress(new Address(end.Index, IPAddress.Parse("10.65.9.1"), 24, Flags: AddressFlags.NoPrefixRoute));
        Kernel.DeleteLink(end.Index);
        Assert.Null(Kernel.GetLink("cal-ct-dhcp"));
        Assert.Null(Kernel.GetLink("cal-ct-peer"));
        Assert.DoesNotContain(Kernel.ListAddresses(), a => a.InterfaceIndex == end.Index);
        Assert.Equal(Errno.ENODEV, Assert.Throws<NetlinkException>(() => Kernel.DeleteLink(end.Index)).Errno);
    }

    [Fact]
    public void An_address_is_listed_per_interface_an_IPv4_replace_keeps_the_flags_held_and_a_delete_of_one_not_held_is_EADDRNOTAVAIL()
    {
        var tap = AddLink("tapc0000009-00", up: true);
        var other = AddLink("tapc0000010-00", up: true);
        var gateway = new Address(tap, IPAddress.Parse("10.65.9.1"), 24, Flags: AddressFlags.NoPrefixRoute);
        Kernel.ReplaceAddress(gateway);
        Kernel.ReplaceAddress(gateway);
        Kernel.ReplaceAddress(new Address(other, IPAddress.Parse("10.65.10.1"), 24, Flags: AddressFlags.NoPrefixRoute));

        var held = Assert.Single(Kernel.ListAddresses(AddressFamily.InterNetwork, tap));
        Assert.True(held.IsSameAddress(gateway));
        Assert.True(held.Flags.HasFlag(AddressFlags.NoPrefixRoute));

        // To change an IPv4 address's flags (a prefix route added by hand), delete it and add it again.
        Kernel.ReplaceAddress(gateway with { Flags = AddressFlags.None });
        Assert.True(Assert.Single(Kernel.ListAddresses(AddressFamily.InterNetwork, tap)).Flags.HasFlag(AddressFlags.NoPrefixRoute));

        Kernel.DeleteAddress(gateway);
        Assert.Empty(Kernel.ListAddresses(AddressFamily.InterNetwork, tap));
        Assert.Single(Kernel.ListAddresses(AddressFamily.InterNetwork, other));
        Assert.Equal(Errno.EADDRNOTAVAIL, Assert.Throws<NetlinkException>(() => Kernel.DeleteAddress(gateway)).Errno);
        var noDevice = Assert.Throws<NetlinkException>(() => Kernel.ReplaceAddress(gateway with { InterfaceIndex = tap + 1000 }));
        Assert.Equal(Errno.ENODEV, noDevice.Errno);
    }
}

/// <summary>The contract on the fake kernel of the unit tests.</summary>
public sealed class FakeKernelNetlinkContractTests : NetlinkContract
{
    private readonly FakeKernel _kernel = new();

    protected override INetlink Kernel => _kernel;

    protected override int AddLink(string name, bool up) => _kernel.AddLink(name, up).Index;

    protected override void RemoveLink(string name) => _kernel.RemoveLink(name);

    protected override void SetDownByHand(string name) => _kernel.SetLinkDown(name);
}

/// <summary>The contract on the real kernel, in a namespace of the test's own (links are veth pairs inside it).</summary>
public sealed class RealKernelNetlinkContractTests : NetlinkContract, IDisposable
{
    private readonly TestNamespace _ns = TestNamespace.Create();
    private readonly NetlinkRouteClient _client;
    private readonly NetlinkKernel _kernel;

    public RealKernelNetlinkContractTests()
    {
        _client = _ns.OpenRouteClient();
        _kernel = new NetlinkKernel(_client);
    }

    protected override INetlink Kernel => _kernel;

    protected override int AddLink(string name, bool up)
    {
        _ns.AddVethPair(name, "p" + name[4..]);
        if (!up) _ns.Ip("link", "set", name, "down");
        return _ns.IndexOf(name);
    }

    protected override void RemoveLink(string name) => _ns.Ip("link", "del", name);

    protected override void SetDownByHand(string name) => _ns.Ip("link", "set", name, "down");

    public void Dispose()
    {
        _kernel.Dispose();
        _ns.Dispose();
    }
}
