using System.Net;
using Calico.Netlink;
using static Calico.Dataplane.Linux.Tests.Netlink.RoutingNamespace;

namespace Calico.Dataplane.Linux.Tests.Netlink;

/// <summary>Routes written and read back through a real kernel, in a namespace of the test's own.</summary>
public sealed class RouteKernelTests : IDisposable
{
    private readonly RoutingNamespace _ns = new();

    private NetlinkRouteClient Client => _ns.Client;

    public void Dispose() => _ns.Dispose();

    [Fact]
    public void Every_kind_of_route_in_both_families_reads_back_as_written()
    {
        Route[] routes =
        [
            Route.ViaGateway(IPNetwork.Parse("10.65.0.3/32"), Gateway4, _ns.Veth0, Ours),
            Route.OnDevice(IPNetwork.Parse("10.65.0.4/32"), _ns.Veth0, Ours),
            Route.Blackhole(IPNetwork.Parse("10.65.0.0/26"), Ours),
            Route.ViaGateway(IPNetwork.Parse("fd00:65::3/128"), Gateway6, _ns.Veth0, Ours),
            Route.OnDevice(IPNetwork.Parse("fd00:65::4/128"), _ns.Veth0, Ours),
            Route.Blackhole(IPNetwork.Parse("fd00:65::/122"), Ours),
        ];

        foreach (var route in routes) Client.ReplaceRoute(route);

        Assert.Equal(Sorted(routes), Sorted(_ns.OurRoutes()));
        var shown = _ns.IpRoutes("proto", "80");
        Assert.Contains("10.65.0.3 via 172.18.0.2 dev veth0", shown);
        Assert.Contains("10.65.0.4 dev veth0 scope link", shown);
        Assert.Contains("blackhole 10.65.0.0/26", shown);
        Assert.Contains(shown, line => line.StartsWith("fd00:65::3 via fd00:18::2 dev veth0 metric 1024", StringComparison.Ordinal));
        Assert.Contains(shown, line => line.StartsWith("blackhole fd00:65::/122", StringComparison.Ordinal));
    }

    [Fact]
    public void Gateway_route_without_a_device_gets_the_device_the_kernel_resolves()
    {
        Client.ReplaceRoute(Route.ViaGateway(IPNetwork.Parse("10.65.0.3/32"), Gateway4, protocol: Ours));

        var route = Assert.Single(_ns.OurRoutes());
        Assert.Equal(_ns.Veth0, route.OutputInterface);
    }

    [Fact]
    public void Replace_overwrites_the_route_with_the_same_key()
    {
        var prefix = IPNetwork.Parse("10.65.0.3/32");
        Client.ReplaceRoute(Route.ViaGateway(prefix, Gateway4, _ns.Veth0, Ours));
        Client.ReplaceRoute(Route.OnDevice(prefix, _ns.Veth1, Ours));
        Client.ReplaceRoute(Route.OnDevice(prefix, _ns.Veth1, Ours)); // idempotent

        Assert.Equal([Route.OnDevice(prefix, _ns.Veth1, Ours)], _ns.OurRoutes());
        Assert.Equal(["10.65.0.3 dev veth1 scope link"], _ns.IpRoutes("proto", "80"));
    }

    [Fact]
    public void Routes_that_differ_in_metric_are_different_routes()
    {
        var prefix = IPNetwork.Parse("10.65.0.3/32");
        Client.ReplaceRoute(Route.OnDevice(prefix, _ns.Veth0, Ours, priority: 10));
        Client.ReplaceRoute(Route.OnDevice(prefix, _ns.Veth1, Ours, priority: 20));

        Assert.Equal(2, _ns.OurRoutes().Count);
    }

    [Fact]
    public void Exclusive_add_of_a_taken_key_fails_with_EEXIST()
    {
        var prefix = IPNetwork.Parse("10.65.0.3/32");
        Client.AddRoute(Route.OnDevice(prefix, _ns.Veth0, Ours));

        var error = Assert.Throws<NetlinkException>(() => Client.AddRoute(Route.Blackhole(prefix, Ours)));

        Assert.Equal(Errno.EEXIST, error.Errno);
        Assert.True(error.IsAlreadyExists);
        Assert.StartsWith("add route blackhole 10.65.0.3/32 proto 80: File exists (EEXIST)", error.Message);
    }

    [Fact]
    public void Delete_removes_the_route_and_a_second_delete_fails_with_ESRCH()
    {
        var route = Route.ViaGateway(IPNetwork.Parse("fd00:65::3/128"), Gateway6, _ns.Veth0, Ours);
        Client.ReplaceRoute(route);

        Client.DeleteRoute(route);
        var error = Assert.Throws<NetlinkException>(() => Client.DeleteRoute(route));

        Assert.Empty(_ns.OurRoutes());
        Assert.Equal(Errno.ESRCH, error.Errno);
        Assert.StartsWith("delete route fd00:65::3/128 proto 80 metric 1024: No such process (ESRCH)", error.Message);
    }

    [Fact]
    public void Blackholes_of_both_families_can_be_deleted_by_key()
    {
        Client.ReplaceRoute(Route.Blackhole(IPNetwork.Parse("10.65.0.0/26"), Ours));
        Client.ReplaceRoute(Route.Blackhole(IPNetwork.Parse("fd00:65::/122"), Ours));

        Client.DeleteRoute(new RouteKey(IPNetwork.Parse("10.65.0.0/26")), Ours);
        Client.DeleteRoute(new RouteKey(IPNetwork.Parse("fd00:65::/122")), Ours);

        Assert.Empty(_ns.OurRoutes());
    }

    [Fact]
    public void A_route_of_another_protocol_is_listed_but_never_touched_by_our_protocol()
    {
        _ns.Namespace.Ip("route", "add", "10.66.0.0/24", "via", "172.18.0.2", "proto", "static");
        var key = new RouteKey(IPNetwork.Parse("10.66.0.0/24"));

        var all = Client.ListRoutes(new RouteFilter(Table: RouteTables.Main));
        var error = Assert.Throws<NetlinkException>(() => Client.DeleteRoute(key, Ours));

        Assert.Contains(all, r => r.Key == key && r.Protocol == RouteProtocol.Static);
        Assert.DoesNotContain(_ns.OurRoutes(), r => r.Key == key);
        Assert.Equal(Errno.ESRCH, error.Errno);
        Assert.Contains("10.66.0.0/24 via 172.18.0.2 dev veth0 proto static", _ns.IpRoutes());
    }

    [Fact]
    public void Missing_device_is_ENODEV_naming_the_index_iproute2_style()
    {
        var error = Assert.Throws<NetlinkException>(() =>
            Client.AddRoute(Route.OnDevice(IPNetwork.Parse("10.65.0.3/32"), 9999, Ours)));

        Assert.Equal(Errno.ENODEV, error.Errno);
        Assert.StartsWith("add route 10.65.0.3/32 dev if9999 proto 80: No such device (ENODEV)", error.Message);
    }

    [Fact]
    public void Unreachable_gateway_names_the_device_and_carries_the_kernel_reason()
    {
        var error = Assert.Throws<NetlinkException>(() =>
            Client.ReplaceRoute(Route.ViaGateway(IPNetwork.Parse("10.65.0.3/32"), IPAddress.Parse("192.0.2.1"), _ns.Veth0, Ours)));

        Assert.Equal(Errno.ENETUNREACH, error.Errno);
        Assert.StartsWith("replace route 10.65.0.3/32 via 192.0.2.1 dev veth0 proto 80: Network is unreachable (ENETUNREACH)", error.Message);
        Assert.False(string.IsNullOrEmpty(error.KernelMessage));
    }

    [Fact]
    public void Tables_are_filtered_and_a_table_that_does_not_exist_is_empty()
    {
        var inTable = Route.OnDevice(IPNetwork.Parse("10.65.0.3/32"), _ns.Veth0, Ours, table: 1000);
        Client.ReplaceRoute(inTable);
        Client.ReplaceRoute(Route.OnDevice(IPNetwork.Parse("10.65.0.4/32"), _ns.Veth0, Ours));

        Assert.Equal([inTable], Client.ListRoutes(new RouteFilter(Table: 1000)));
        Assert.Empty(Client.ListRoutes(new RouteFilter(Table: 2000)));
        Assert.Equal("10.65.0.3 dev veth0 scope link", _ns.Namespace.Ip("-4", "route", "show", "table", "1000", "proto", "80").Trim());
    }

    [Fact]
    public void Routes_are_filtered_by_device_and_family()
    {
        var onVeth1 = Route.OnDevice(IPNetwork.Parse("10.65.0.3/32"), _ns.Veth1, Ours);
        var onVeth1V6 = Route.OnDevice(IPNetwork.Parse("fd00:65::3/128"), _ns.Veth1, Ours);
        Client.ReplaceRoute(onVeth1);
        Client.ReplaceRoute(onVeth1V6);
        Client.ReplaceRoute(Route.OnDevice(IPNetwork.Parse("10.65.0.4/32"), _ns.Veth0, Ours));

        Assert.Equal([onVeth1, onVeth1V6], Client.ListRoutes(new RouteFilter(OutputInterface: _ns.Veth1, Protocol: Ours)));
        Assert.Equal([onVeth1V6], Client.ListRoutes(new RouteFilter(System.Net.Sockets.AddressFamily.InterNetworkV6,
            OutputInterface: _ns.Veth1, Protocol: Ours)));
    }

    [Fact]
    public void Dump_of_ten_thousand_routes()
    {
        var routes = Enumerable.Range(1, 10_000).Select(i => Route.ViaGateway(Host(i), Gateway4, _ns.Veth0, Ours)).ToList();
        Assert.All(Client.Apply(routes.Select(RouteOperation.Replace).ToList()), result => Assert.True(result.Succeeded));

        var listed = _ns.OurRoutes();

        Assert.Equal(10_000, listed.Count);
        Assert.Equal(routes.ToHashSet(), listed.ToHashSet());
        Assert.Equal(10_000, _ns.IpRoutes("proto", "80").Length);
    }

    private static List<Route> Sorted(IEnumerable<Route> routes) => [.. routes.OrderBy(r => r.ToString(), StringComparer.Ordinal)];
}
