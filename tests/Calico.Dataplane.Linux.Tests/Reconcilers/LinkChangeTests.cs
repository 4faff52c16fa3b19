using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Kernel;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Netlink;
using Microsoft.Extensions.Logging.Abstractions;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Reconcilers;

/// <summary>
/// Workload interfaces that come, go, or go up or down between applies, on a fake kernel whose link notices the tests
/// raise: what wakes the agent, how notices are coalesced, and what the reconcile that follows does (and reads).
/// </summary>
public class LinkChangeTests
{
    private const string Mac = "fa:16:3e:00:00:03";

    private static string TapOf(int i) => $"tap{i:d8}-00";

    private static Dictionary<DesiredKey, DesiredItem> Ports(int count) => State(
        [.. Enumerable.Range(1, count).SelectMany(i => new DesiredItem[]
        {
            Interface(TapOf(i), Mac, $"10.65.{i / 250}.{i % 250 + 2}"),
            Local($"10.65.{i / 250}.{i % 250 + 2}/32", TapOf(i)),
        }),
        Via("10.65.1.0/26", "172.18.203.31"),
        Blackhole("10.65.0.0/26")]);

    private static (FakeKernel Kernel, FakeLinkNotifications Notices, LinuxDataplane Dataplane) Start()
    {
        var kernel = new FakeKernel();
        kernel.AddLink("eth0", up: true);
        var notices = new FakeLinkNotifications();
        var options = Options();
        var dataplane = On(kernel, options, links: notices);
        return (kernel, notices, dataplane);
    }

    private static Route? LocalRoute(FakeKernel kernel, string destination) =>
        kernel.Routes.Values.SingleOrDefault(r => r.Destination.ToString() == destination);

    private static EndpointStatusKind StatusOf(DataplaneResult result, string tap) => result.Endpoints["port-" + tap].Status;

    [Fact]
    public async Task A_tap_plugged_after_its_port_was_applied_is_programmed_by_the_next_reconcile_without_reading_every_route()
    {
        var (kernel, notices, dataplane) = Start();
        var applied = await dataplane.ApplyAsync(Ports(1));
        Assert.True(notices.Started);
        Assert.Equal(EndpointStatusKind.Down, StatusOf(applied, TapOf(1)));
        var waiting = dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        var tap = kernel.AddLink(TapOf(1));
        kernel.RouteListings.Clear();
        notices.Changed(tap);
        await waiting;
        var result = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);

        Assert.Equal(EndpointStatusKind.Active, StatusOf(result, TapOf(1)));
        Assert.Equal(tap.Index, LocalRoute(kernel, "10.65.0.3/32")?.OutputInterface);
        Assert.True(kernel.Links[tap.Index].IsUp);
        Assert.Equal("1", kernel.SysctlValues[$"net/ipv4/conf/{TapOf(1)}/proxy_arp"]);
        // Only the tap's own routes were read back, with the kernel filtering by device.
        Assert.All(kernel.RouteListings, filter => Assert.Equal(tap.Index, filter?.OutputInterface));
        Assert.False(dataplane.WaitForKernelChangeAsync(CancellationToken.None).IsCompleted);
    }

    [Fact]
    public async Task A_burst_of_taps_is_reconciled_at_once()
    {
        var (kernel, notices, dataplane) = Start();
        await dataplane.ApplyAsync(Ports(50));

        foreach (var i in Enumerable.Range(1, 50)) notices.Changed(kernel.AddLink(TapOf(i)));
        await dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        var result = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);

        Assert.All(Enumerable.Range(1, 50), i => Assert.Equal(EndpointStatusKind.Active, StatusOf(result, TapOf(i))));
        Assert.Equal(50, kernel.Routes.Values.Count(r => r.Kind == Calico.Netlink.RouteKind.OnDevice));
        // Nothing left over: the fifty notices were one reconcile.
        Assert.False(dataplane.WaitForKernelChangeAsync(CancellationToken.None).IsCompleted);
    }

    [Fact]
    public async Task A_tap_that_appears_during_a_reconcile_leads_to_exactly_one_more()
    {
        var (kernel, notices, dataplane) = Start();
        await dataplane.ApplyAsync(Ports(3));
        notices.Changed(kernel.AddLink(TapOf(1)));
        // While the reconcile for tap 1 lists the links, taps 2 and 3 are plugged.
        kernel.OnListLinks = () =>
        {
            kernel.OnListLinks = null;
            notices.Changed(kernel.AddLink(TapOf(2)));
            notices.Changed(kernel.AddLink(TapOf(3)));
        };

        await dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);
        var again = dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        Assert.True(again.IsCompleted);
        var result = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);

        Assert.All(Enumerable.Range(1, 3), i => Assert.Equal(EndpointStatusKind.Active, StatusOf(result, TapOf(i))));
        Assert.False(dataplane.WaitForKernelChangeAsync(CancellationToken.None).IsCompleted);
    }

    [Fact]
    public async Task Other_links_and_changes_of_carrier_or_mtu_wake_nobody_but_up_and_down_do()
    {
        var (kernel, notices, dataplane) = Start();
        await dataplane.ApplyAsync(Ports(1));
        var tap = kernel.AddLink(TapOf(1), up: true);
        notices.Changed(tap);
        await dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);

        notices.Changed(kernel.AddLink("eth1"));
        notices.Deleted(kernel.RemoveLink("eth1"));
        notices.Changed(tap with { Flags = tap.Flags | LinkFlags.LowerUp | LinkFlags.Running });
        notices.Changed(tap with { Mtu = 1450 });
        Assert.False(dataplane.WaitForKernelChangeAsync(CancellationToken.None).IsCompleted);

        notices.Changed(tap with { Flags = LinkFlags.None });
        Assert.True(dataplane.WaitForKernelChangeAsync(CancellationToken.None).IsCompleted);
    }

    [Fact]
    public async Task A_tap_set_down_by_someone_is_set_up_again_and_gets_its_route_back()
    {
        var (kernel, notices, dataplane) = Start();
        var tap = kernel.AddLink(TapOf(1));
        Assert.Equal(EndpointStatusKind.Active, StatusOf(await dataplane.ApplyAsync(Ports(1)), TapOf(1)));
        Assert.NotNull(LocalRoute(kernel, "10.65.0.3/32"));

        notices.Changed(kernel.SetLinkDown(TapOf(1)));
        Assert.Null(LocalRoute(kernel, "10.65.0.3/32"));
        await dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        var result = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);

        Assert.Equal(EndpointStatusKind.Active, StatusOf(result, TapOf(1)));
        Assert.True(kernel.Links[tap.Index].IsUp);
        Assert.Equal(tap.Index, LocalRoute(kernel, "10.65.0.3/32")?.OutputInterface);
    }

    [Fact]
    public async Task A_tap_unplugged_turns_its_port_down_and_one_plugged_again_is_routed_to_its_new_index()
    {
        var (kernel, notices, dataplane) = Start();
        kernel.AddLink(TapOf(1));
        kernel.AddLink(TapOf(2));
        await dataplane.ApplyAsync(Ports(2));

        notices.Deleted(kernel.RemoveLink(TapOf(1)));
        await dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        var unplugged = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);
        Assert.Equal(EndpointStatusKind.Down, StatusOf(unplugged, TapOf(1)));
        Assert.Equal(EndpointStatusKind.Active, StatusOf(unplugged, TapOf(2)));
        Assert.Null(LocalRoute(kernel, "10.65.0.3/32"));

        var replugged = kernel.AddLink(TapOf(1));
        notices.Changed(replugged);
        await dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        var result = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);
        Assert.Equal(EndpointStatusKind.Active, StatusOf(result, TapOf(1)));
        Assert.Equal(replugged.Index, LocalRoute(kernel, "10.65.0.3/32")?.OutputInterface);

        // What the dataplane believes is what the kernel holds: the same state again writes nothing.
        var (writes, deletes) = (kernel.RouteWrites, kernel.RouteDeletes);
        await dataplane.ApplyAsync(Ports(2));
        Assert.Equal((writes, deletes), (kernel.RouteWrites, kernel.RouteDeletes));
    }

    [Fact]
    public async Task Lost_notices_make_the_next_reconcile_a_full_resync_that_repairs_any_drift()
    {
        var (kernel, notices, dataplane) = Start();
        kernel.AddLink(TapOf(1));
        await dataplane.ApplyAsync(Ports(1));
        var blackhole = kernel.Routes.Values.Single(r => r.Type == RouteType.Blackhole);
        kernel.Routes.Remove(blackhole.Key);

        notices.Lost("the socket overran");
        await dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        kernel.RouteListings.Clear();
        await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);

        Assert.Contains(kernel.RouteListings, filter => filter?.OutputInterface is null);
        Assert.Equal(blackhole, kernel.Routes[blackhole.Key]);
    }

    [Fact]
    public async Task A_failed_reconcile_keeps_its_changes_for_the_next()
    {
        var (kernel, notices, dataplane) = Start();
        await dataplane.ApplyAsync(Ports(1));
        var tap = kernel.AddLink(TapOf(1));
        notices.Changed(tap);
        kernel.OnListLinks = () => throw new NetlinkException("list links", Errno.EPERM);

        await dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        await Assert.ThrowsAsync<NetlinkException>(() => dataplane.ReconcileKernelChangesAsync(CancellationToken.None));
        Assert.True(dataplane.WaitForKernelChangeAsync(CancellationToken.None).IsCompleted);
        kernel.OnListLinks = null;
        var result = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);

        Assert.Equal(EndpointStatusKind.Active, StatusOf(result, TapOf(1)));
    }

    [Fact]
    public async Task Results_are_numbered_in_the_order_they_are_computed()
    {
        var (kernel, notices, dataplane) = Start();
        var first = await dataplane.ApplyAsync(Ports(1));
        notices.Changed(kernel.AddLink(TapOf(1)));
        var second = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);
        var third = await dataplane.ResyncAsync(CancellationToken.None);

        Assert.True(first.Sequence > 0);
        Assert.True(second.Sequence > first.Sequence);
        Assert.True(third.Sequence > second.Sequence);
    }

    [Fact]
    public async Task Without_link_notifications_no_kernel_change_is_ever_announced()
    {
        var kernel = new FakeKernel();
        var dataplane = On(kernel);
        await dataplane.ApplyAsync(Ports(1));
        using var cancel = new CancellationTokenSource();

        var waiting = dataplane.WaitForKernelChangeAsync(cancel.Token);
        kernel.AddLink(TapOf(1));
        Assert.False(waiting.IsCompleted);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }
}
