using System.Net;
using Calico.Netlink;
using static Calico.Dataplane.Linux.Tests.Netlink.RoutingNamespace;

namespace Calico.Dataplane.Linux.Tests.Netlink;

public class BatchKernelTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void One_bad_route_among_good_ones_fails_alone(bool acknowledgeEveryRequest)
    {
        using var ns = new RoutingNamespace(new NetlinkClientOptions { AcknowledgeEveryRequest = acknowledgeEveryRequest });
        var operations = Enumerable.Range(1, 1000)
            .Select(i => RouteOperation.Replace(i == 500
                ? Route.OnDevice(Host(i), 9999, Ours)
                : Route.ViaGateway(Host(i), Gateway4, ns.Veth0, Ours)))
            .ToList();

        var results = ns.Client.Apply(operations);

        Assert.Equal(1000, results.Count);
        var failed = Assert.Single(results, r => !r.Succeeded);
        Assert.Equal(operations[499], failed.Operation);
        Assert.Equal(Errno.ENODEV, failed.Error!.Errno);
        Assert.StartsWith("replace route 10.64.1.244/32 dev if9999 proto 80: No such device (ENODEV)", failed.Error.Message);
        Assert.Equal(999, ns.OurRoutes().Count);
    }

    [Fact]
    public void Failures_in_many_sends_are_each_reported_against_their_own_operation()
    {
        // 4 KiB per send forces ~60 sends; every 97th route names a missing device, every deletion of a
        // route that was never there fails with ESRCH.
        using var ns = new RoutingNamespace(new NetlinkClientOptions { MaxBatchBytes = 4096 });
        var operations = new List<RouteOperation>();
        for (var i = 1; i <= 3000; i++)
            operations.Add(RouteOperation.Replace(Route.OnDevice(Host(i), i % 97 == 0 ? 9999 : ns.Veth0, Ours)));
        for (var i = 5001; i <= 5010; i++)
            operations.Add(RouteOperation.Delete(Route.OnDevice(Host(i), ns.Veth0, Ours)));

        var results = ns.Client.Apply(operations);

        for (var i = 0; i < operations.Count; i++)
        {
            var expected = i >= 3000 ? Errno.ESRCH : (i + 1) % 97 == 0 ? Errno.ENODEV : 0;
            Assert.Equal(expected, results[i].Error?.Errno ?? 0);
        }
        Assert.Equal(3000 - 3000 / 97, ns.OurRoutes().Count);
    }

    [Fact]
    public async Task Operations_on_one_key_take_effect_in_order()
    {
        using var ns = new RoutingNamespace();
        var a = Route.OnDevice(IPNetwork.Parse("10.65.0.3/32"), ns.Veth0, Ours);
        var b = Route.OnDevice(IPNetwork.Parse("10.65.0.4/32"), ns.Veth0, Ours);

        var results = await ns.Client.ApplyAsync([
            RouteOperation.Replace(a), RouteOperation.Delete(a),
            RouteOperation.Delete(b), RouteOperation.Replace(b), RouteOperation.Replace(b with { OutputInterface = ns.Veth1 }),
        ]);

        Assert.Equal([true, true, false, true, true], results.Select(r => r.Succeeded));
        Assert.Equal([b with { OutputInterface = ns.Veth1 }], ns.OurRoutes());
    }

    [Fact]
    public async Task Cancelled_batch_throws_before_sending()
    {
        using var ns = new RoutingNamespace();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ns.Client.ApplyAsync(
            [RouteOperation.Replace(Route.Blackhole(IPNetwork.Parse("10.65.0.0/26"), Ours))], cancelled.Token));
        Assert.Empty(ns.OurRoutes());
    }

    [Fact]
    public async Task Concurrent_callers_share_one_client_safely()
    {
        using var ns = new RoutingNamespace();
        var writers = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var round = 0; round < 5; round++)
            {
                var operations = Enumerable.Range(t * 1000 + round * 100, 100)
                    .Select(i => RouteOperation.Replace(Route.OnDevice(Host(i), ns.Veth0, Ours))).ToList();
                Assert.All(ns.Client.Apply(operations), r => Assert.True(r.Succeeded));
                Assert.NotEmpty(ns.Client.ListLinks());
                Assert.NotEmpty(ns.OurRoutes());
            }
        })).ToArray();

        await Task.WhenAll(writers);

        Assert.Equal(2000, ns.OurRoutes().Count);
    }
}
