using System.Net;
using Calico.Model.Desired;
using Calico.Model.Ipam;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Model.Tests;

/// <summary>Routes aggregate by block: blackholes for own blocks, one route per remote block, /32s only for borrowed addresses.</summary>
public class BlockRouteTests
{
    private static IntentModel Model(IEnumerable<object> resources)
    {
        var model = new IntentModel();
        foreach (var r in resources) model.Apply(new ResourceChange(ResourceChange.KindOf(r), CalculatorTests.KeyOf(r), 1, r));
        return model;
    }

    private static Dictionary<string, RouteItem> Routes(IntentModel model, string host) =>
        HostSpecCalculator.Compute(model, host).Values.OfType<RouteItem>().ToDictionary(r => r.Destination.ToString());

    private static IpBlock Block(string cidr, string? host) => new(IpPrefix.Parse(cidr), "sub-1", host);

    [Fact]
    public void Own_blocks_are_blackholed_remote_blocks_routed_via_their_host_and_only_borrowed_addresses_get_host_routes()
    {
        var model = Model([
            Sample.Host("h1", "172.18.0.1"), Sample.Host("h2", "172.18.0.2"), Sample.Host("h3", "172.18.0.3"),
            Block("10.65.0.0/26", "h1"), Block("10.65.0.64/26", "h2"), Block("10.65.0.128/26", null),
            Sample.Endpoint("p1", "h1", "10.65.0.2"),    // in its host's block
            Sample.Endpoint("p2", "h2", "10.65.0.65"),   // in its host's block
            Sample.Endpoint("p3", "h2", "10.65.0.3"),    // borrowed from h1's block
            Sample.Endpoint("p4", "h1", "10.65.0.130"),  // in a block without affinity
            Sample.Endpoint("p5", "h3", "10.65.0.200"),  // in no block
        ]);

        var h1 = Routes(model, "h1");
        Assert.Equal(RouteKind.Blackhole, h1["10.65.0.0/26"].Kind);
        Assert.Equal(RouteKind.Local, h1["10.65.0.2/32"].Kind);
        Assert.Equal(RouteKind.Local, h1["10.65.0.130/32"].Kind);
        Assert.Equal(("h2", RouteKind.ViaHost), (h1["10.65.0.64/26"].ViaHost, h1["10.65.0.64/26"].Kind));
        Assert.Equal("h2", h1["10.65.0.3/32"].ViaHost); // more specific than the blackhole of its block
        Assert.Equal("h3", h1["10.65.0.200/32"].ViaHost);
        Assert.Equal(6, h1.Count);

        var h3 = Routes(model, "h3");
        Assert.Equal(
            ["10.65.0.0/26 h1", "10.65.0.130/32 h1", "10.65.0.200/32 ", "10.65.0.3/32 h2", "10.65.0.64/26 h2"],
            h3.Values.Select(r => $"{r.Destination} {r.ViaHost}").Order(StringComparer.Ordinal));
        Assert.Equal(IPAddress.Parse("172.18.0.1"), h3["10.65.0.0/26"].Gateway);
    }

    [Fact]
    public void Ipv6_blocks_go_via_the_hosts_ipv6_address_and_a_host_without_one_gets_no_route()
    {
        var model = Model([
            Sample.Host("h1", "172.18.0.1", "fd00:18::1"), Sample.Host("h2", "172.18.0.2"), Sample.Host("h3", "172.18.0.3", "fd00:18::3"),
            new IpBlock(IpPrefix.Parse("fd00:65::/122"), "sub-6", "h1"), new IpBlock(IpPrefix.Parse("fd00:65::40/122"), "sub-6", "h2"),
        ]);
        var h3 = Routes(model, "h3");
        Assert.Equal(IPAddress.Parse("fd00:18::1"), h3["fd00:65::/122"].Gateway);
        Assert.False(h3.ContainsKey("fd00:65::40/122"));
        Assert.Equal(RouteKind.Blackhole, Routes(model, "h2")["fd00:65::40/122"].Kind);
    }

    [Fact]
    public void A_hosts_route_count_follows_blocks_not_workloads()
    {
        var subnet = Sample.Subnet("sub-1", "10.70.0.0/16", "10.70.0.1");
        var allocator = new SubnetAllocator(new SubnetLayout(subnet, 26), 20, []);
        var now = DateTimeOffset.UnixEpoch;
        var endpoints = new List<object>();
        for (var i = 0; i < 200; i++)
        {
            var host = i % 2 == 0 ? "h1" : "h2";
            var address = allocator.Allocate($"p{i}", host, null, now).Allocation.Address;
            endpoints.Add(Sample.Endpoint($"p{i}", host, address.ToString()));
        }
        var model = Model([
            Sample.Host("h1", "172.18.0.1"), Sample.Host("h2", "172.18.0.2"), Sample.Host("h3", "172.18.0.3"), subnet,
            .. allocator.Blocks.Select(b => b.Block), .. endpoints,
        ]);

        // 100 workloads a host, 62 addresses in its first block (.0 and .1 are reserved) and the rest in its second.
        var h3 = Routes(model, "h3");
        Assert.Equal(4, h3.Count);
        Assert.All(h3.Values, r => Assert.Equal(26, r.Destination.Length));
        var h1 = Routes(model, "h1");
        Assert.Equal(100, h1.Values.Count(r => r.Kind == RouteKind.Local));
        Assert.Equal(2, h1.Values.Count(r => r.Kind == RouteKind.Blackhole));
        Assert.Equal(2, h1.Values.Count(r => r.Kind == RouteKind.ViaHost));
    }
}
