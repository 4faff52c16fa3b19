using System.Net;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Netlink;

public class ModelTests
{
    [Fact]
    public void Route_keys_follow_the_kernel_identity()
    {
        var prefix = IPNetwork.Parse("10.65.0.3/32");

        Assert.Equal(new RouteKey(prefix), new RouteKey(prefix, RouteTables.Main, 0));
        Assert.NotEqual(new RouteKey(prefix), new RouteKey(prefix, priority: 10));
        Assert.NotEqual(new RouteKey(prefix), new RouteKey(prefix, table: 100));
        Assert.NotEqual(new RouteKey(prefix), new RouteKey(prefix, tos: 0x10));
        Assert.Equal(new RouteKey(IPNetwork.Parse("fd00::3/128"), priority: 1024), new RouteKey(IPNetwork.Parse("fd00::3/128")));
    }

    [Fact]
    public void Routes_with_the_same_key_but_another_next_hop_share_a_key_and_differ_as_routes()
    {
        var prefix = IPNetwork.Parse("10.65.0.3/32");
        var viaA = Route.ViaGateway(prefix, IPAddress.Parse("172.18.203.44"), protocol: (RouteProtocol)80);
        var viaB = Route.ViaGateway(prefix, IPAddress.Parse("172.18.203.45"), protocol: (RouteProtocol)80);

        Assert.Equal(viaA.Key, viaB.Key);
        Assert.NotEqual(viaA, viaB);
        Assert.Equal(viaA, Route.ViaGateway(prefix, IPAddress.Parse("172.18.203.44"), protocol: (RouteProtocol)80));
    }

    [Fact]
    public void Kinds_of_route()
    {
        var prefix = IPNetwork.Parse("10.65.0.0/26");

        Assert.Equal(RouteKind.ViaGateway, Route.ViaGateway(prefix, IPAddress.Parse("192.0.2.1")).Kind);
        Assert.Equal(RouteKind.OnDevice, Route.OnDevice(prefix, 4).Kind);
        Assert.Equal(RouteKind.Blackhole, Route.Blackhole(prefix).Kind);
        Assert.Equal(RouteScope.Link, Route.OnDevice(prefix, 4).Scope);
    }

    [Fact]
    public void Gateway_of_another_family_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Route.ViaGateway(IPNetwork.Parse("10.65.0.0/26"), IPAddress.Parse("fd00::1")));
    }

    [Fact]
    public void Routes_print_like_ip_route()
    {
        var route = Route.ViaGateway(IPNetwork.Parse("10.65.0.3/32"), IPAddress.Parse("172.18.203.44"), 2, (RouteProtocol)80,
            table: 100, priority: 5);

        Assert.Equal("10.65.0.3/32 via 172.18.203.44 dev if2 table 100 proto 80 metric 5", route.ToString());
        Assert.Equal("blackhole 10.65.0.0/26 proto boot", Route.Blackhole(IPNetwork.Parse("10.65.0.0/26")).ToString());
    }

    [Fact]
    public void Exception_names_the_operation_the_object_and_the_error()
    {
        var error = new NetlinkException("add route 10.65.0.3/32 via 172.18.203.44 dev eth0", Errno.ENODEV);

        Assert.Equal("add route 10.65.0.3/32 via 172.18.203.44 dev eth0: No such device (ENODEV)", error.Message);
        Assert.Equal("ENODEV", error.ErrnoName);
        Assert.True(error.IsNotFound);
        Assert.False(error.IsTransient);
    }

    [Theory]
    [InlineData(Errno.EBUSY, true)]
    [InlineData(Errno.ENOBUFS, true)]
    [InlineData(Errno.EAGAIN, true)]
    [InlineData(Errno.EINTR, true)]
    [InlineData(Errno.EEXIST, false)]
    [InlineData(Errno.EINVAL, false)]
    [InlineData(Errno.ESRCH, false)]
    public void Transient_errors(int errno, bool transient)
    {
        Assert.Equal(transient, new NetlinkException("replace route", errno).IsTransient);
    }

    [Fact]
    public void Interrupted_dump_is_transient_and_says_so()
    {
        var error = new NetlinkDumpInterruptedException("list IPv4 routes");

        Assert.True(error.IsTransient);
        Assert.StartsWith("list IPv4 routes: Interrupted system call (EINTR)", error.Message);
    }

    [Fact]
    public void Kernel_message_follows_the_errno()
    {
        var error = new NetlinkException("replace route 10.65.0.3/32 via 10.0.0.1", Errno.ENETUNREACH, "Nexthop has invalid gateway");

        Assert.Equal("replace route 10.65.0.3/32 via 10.0.0.1: Network is unreachable (ENETUNREACH): Nexthop has invalid gateway",
            error.Message);
    }

    [Fact]
    public void Filter_matches_on_every_given_field()
    {
        var ours = Route.Blackhole(IPNetwork.Parse("10.65.0.0/26"), (RouteProtocol)80);
        var theirs = ours with { Protocol = RouteProtocol.Static };

        var filter = new RouteFilter(Table: RouteTables.Main, Protocol: (RouteProtocol)80);

        Assert.True(filter.Matches(ours));
        Assert.False(filter.Matches(theirs));
        Assert.False(new RouteFilter(System.Net.Sockets.AddressFamily.InterNetworkV6).Matches(ours));
    }
}
