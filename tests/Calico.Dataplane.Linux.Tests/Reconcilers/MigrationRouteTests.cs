using Calico.Dataplane.Linux.Components;
using System.Net;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Routes;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Netlink;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Reconcilers;

/// <summary>
/// A live migration's routes on the fake kernel (issue 14, item 3): the target holds its route to the tap on standby (a
/// higher metric) and the VM's /32 via the source one metric higher still, on a tap that skips routes without carrier;
/// the tap going live (up, carrier, and a frame from the VM: carrier alone is libvirt holding the tap for the incoming
/// QEMU) makes the target take the route over at normal priority, without waiting for the control plane, and report
/// the arrival; the control plane's state after it changes no route.
/// </summary>
public class MigrationRouteTests
{
    private const string Tap = "tap00000001-00";
    private static readonly uint Standby = new RouteOptions().MigrationRouteMetric;

    private static Dictionary<DesiredKey, DesiredItem> Prepared() => State(
        Interface(Tap, "fa:16:3e:00:00:03", "10.65.0.3"),
        RouteItem.Local(IpPrefix.Parse("10.65.0.3/32"), Tap, standby: true),
        Via("10.65.0.3/32", "172.18.203.31"),
        Via("10.65.0.0/26", "172.18.203.31"));

    /// <summary>What the control plane tells the target once it learned of the arrival: the port as bound here.</summary>
    private static Dictionary<DesiredKey, DesiredItem> Arrived() => State(
        Interface(Tap, "fa:16:3e:00:00:03", "10.65.0.3"),
        Local("10.65.0.3/32", Tap),
        Via("10.65.0.0/26", "172.18.203.31"));

    /// <summary>A host on the fabric 172.18.203.0/24 (eth0), where the other hosts of these tests are.</summary>
    private static FakeKernel Fabric(string address = "172.18.203.57/24")
    {
        var kernel = new FakeKernel();
        var eth0 = kernel.AddLink("eth0", up: true);
        var (ip, length) = (address.Split('/')[0], int.Parse(address.Split('/')[1], System.Globalization.CultureInfo.InvariantCulture));
        kernel.ReplaceAddress(new Address(eth0.Index, IPAddress.Parse(ip), length));
        return kernel;
    }

    private static List<Route> RoutesTo(FakeKernel kernel, string destination) =>
        [.. kernel.Routes.Values.Where(r => r.Destination.ToString() == destination).OrderBy(r => r.Key.Priority)];

    [Fact]
    public async Task The_target_takes_the_route_over_when_its_tap_goes_live_and_reports_the_arrival()
    {
        var kernel = Fabric();
        var notices = new FakeLinkNotifications();
        var dataplane = On(kernel, Options(), links: notices);

        // Prepared, no tap yet: the /32 via the source only.
        var result = await dataplane.ApplyAsync(Prepared());
        Assert.Equal(EndpointStatusKind.Down, result.Endpoints["port-" + Tap].Status);
        var route = Assert.Single(RoutesTo(kernel, "10.65.0.3/32"));
        Assert.Equal((Standby + 1, IPAddress.Parse("172.18.203.31")), (route.Key.Priority, route.Gateway));

        // Nova plugs the tap (up, no carrier: nothing attached yet): the route to it goes in on standby.
        var tap = kernel.AddLink(Tap, up: true);
        notices.Changed(tap);
        await dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        result = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);
        var routes = RoutesTo(kernel, "10.65.0.3/32");
        Assert.Equal(2, routes.Count);
        Assert.Equal((Standby, tap.Index), (routes[0].Key.Priority, routes[0].OutputInterface));
        Assert.Equal((Standby + 1, IPAddress.Parse("172.18.203.31")), (routes[1].Key.Priority, routes[1].Gateway));
        Assert.Equal("1", kernel.SysctlValues[$"net/ipv4/conf/{Tap}/ignore_routes_with_linkdown"]);
        Assert.Equal(EndpointStatusKind.Down, result.Endpoints["port-" + Tap].Status);
        Assert.False(result.Endpoints["port-" + Tap].Arrived);

        // libvirt opens the tap for the incoming QEMU (carrier), the VM not running yet: no frame from it, no takeover.
        kernel.Links[tap.Index] = kernel.Links[tap.Index] with { Flags = LinkFlags.Up | LinkFlags.LowerUp | LinkFlags.Running };
        notices.Changed(kernel.Links[tap.Index]);
        var waiting = dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        result = await dataplane.ApplyAsync(Prepared());
        Assert.Equal(Standby, RoutesTo(kernel, "10.65.0.3/32")[0].Key.Priority);
        Assert.Equal(EndpointStatusKind.Down, result.Endpoints["port-" + Tap].Status);

        // The VM resumes and announces itself: its first frame, which no notice reports, is found by the poll of the
        // waiting tap, and the target routes it at normal priority.
        kernel.Links[tap.Index] = kernel.Links[tap.Index] with { RxPackets = 1 };
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        result = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);
        route = Assert.Single(RoutesTo(kernel, "10.65.0.3/32"));
        Assert.Equal((0u, tap.Index, (IPAddress?)null), (route.Key.Priority, route.OutputInterface, route.Gateway));
        Assert.Equal(new EndpointProgramming(EndpointStatusKind.Active, null, Arrived: true), result.Endpoints["port-" + Tap]);

        // The control plane's state after the arrival holds what the kernel has already.
        var (writes, deletes) = (kernel.RouteWrites, kernel.RouteDeletes);
        result = await dataplane.ApplyAsync(Arrived());
        Assert.Equal((writes, deletes), (kernel.RouteWrites, kernel.RouteDeletes));
        Assert.Equal("0", kernel.SysctlValues[$"net/ipv4/conf/{Tap}/ignore_routes_with_linkdown"]);
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
    }

    [Fact]
    public async Task The_source_keeps_a_standby_route_via_the_target_that_remains_when_its_tap_goes()
    {
        var kernel = Fabric();
        var tap = kernel.AddLink(Tap, up: true);
        var dataplane = On(kernel, Options(), links: new FakeLinkNotifications());
        var source = State(
            Interface(Tap, "fa:16:3e:00:00:03", "10.65.0.3"),
            Local("10.65.0.3/32", Tap),
            RouteItem.Via(IpPrefix.Parse("10.65.0.3/32"), IPAddress.Parse("172.18.203.44"), "h44", standby: true),
            Blackhole("10.65.0.0/26"));
        // `dataplane plan` shows the standby route with its metric.
        Assert.Contains($"add    route 10.65.0.3/32 via 172.18.203.44 proto 80 metric {Standby}", await dataplane.PlanAsync(source, CancellationToken.None));
        await dataplane.ApplyAsync(source);
        var routes = RoutesTo(kernel, "10.65.0.3/32");
        Assert.Equal((0u, tap.Index), (routes[0].Key.Priority, routes[0].OutputInterface));
        Assert.Equal((Standby, IPAddress.Parse("172.18.203.44")), (routes[1].Key.Priority, routes[1].Gateway));
        Assert.Equal("1", kernel.SysctlValues[$"net/ipv4/conf/{Tap}/ignore_routes_with_linkdown"]);

        // The VM leaves (its tap goes): the kernel drops the tap's route, the one via the target is left.
        kernel.RemoveLink(Tap);
        var left = Assert.Single(RoutesTo(kernel, "10.65.0.3/32"));
        Assert.Equal(IPAddress.Parse("172.18.203.44"), left.Gateway);
    }

    [Fact]
    public async Task An_agent_restarted_during_a_migration_sets_the_tap_back_once_the_migration_is_over()
    {
        var kernel = Fabric();
        kernel.AddLink(Tap, up: true);
        await On(kernel, Options(), links: new FakeLinkNotifications()).ApplyAsync(Prepared());
        Assert.Equal("1", kernel.SysctlValues[$"net/ipv4/conf/{Tap}/ignore_routes_with_linkdown"]);

        // A new agent (the old one's memory gone) is told the migration is over: what the kernel shows is set back.
        var restarted = On(kernel, Options(), links: new FakeLinkNotifications());
        Assert.Contains($"change sysctl net.ipv4.conf.{Tap}.ignore_routes_with_linkdown=0 (is 1)", await restarted.PlanAsync(Arrived(), CancellationToken.None));
        await restarted.ApplyAsync(Arrived());
        Assert.Equal("0", kernel.SysctlValues[$"net/ipv4/conf/{Tap}/ignore_routes_with_linkdown"]);
    }

    [Fact]
    public async Task A_tap_plugged_with_carrier_before_the_migration_reached_the_agent_is_still_watched_for_its_vm()
    {
        var kernel = Fabric();
        var tap = kernel.AddLink(Tap, up: true);
        kernel.Links[tap.Index] = tap = tap with { Flags = LinkFlags.Up | LinkFlags.LowerUp | LinkFlags.Running };
        var dataplane = On(kernel, Options(), links: new FakeLinkNotifications());

        // The agent waits for kernel changes before the migration's state arrives; no notice will come for the tap.
        var waiting = dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        var result = await dataplane.ApplyAsync(Prepared());
        Assert.Equal(EndpointStatusKind.Down, result.Endpoints["port-" + Tap].Status);
        Assert.False(waiting.IsCompleted);

        kernel.Links[tap.Index] = tap with { RxPackets = 4 };
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        result = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);
        Assert.True(result.Endpoints["port-" + Tap].Arrived);
        Assert.Equal(0u, Assert.Single(RoutesTo(kernel, "10.65.0.3/32")).Key.Priority);
    }

    /// <summary>
    /// BGP mode across racks: the other host is not on this host's segment, so neither the target's route via the source
    /// nor the source's standby route via the target can go in (the kernel would refuse the gateway): they are left to
    /// BGP, with nothing failing. The taps still skip routes without carrier, and the target still takes over.
    /// </summary>
    [Fact]
    public async Task Across_racks_the_routes_via_the_other_host_are_left_to_bgp()
    {
        // The target, in rack r2 (172.18.204.0/24); the source 172.18.203.31 is in r1.
        var kernel = Fabric("172.18.204.44/24");
        var tap = kernel.AddLink(Tap, up: true);
        var dataplane = On(kernel, Options(), links: new FakeLinkNotifications());
        var result = await dataplane.ApplyAsync(Prepared());
        var route = Assert.Single(RoutesTo(kernel, "10.65.0.3/32"));
        Assert.Equal((Standby, tap.Index), (route.Key.Priority, route.OutputInterface));
        Assert.Equal("1", kernel.SysctlValues[$"net/ipv4/conf/{Tap}/ignore_routes_with_linkdown"]);
        Assert.Equal("live migration to this host: waiting for the VM (tap tap00000001-00 not live yet)", result.Endpoints["port-" + Tap].Message);
        Assert.DoesNotContain(await dataplane.PlanAsync(Prepared(), CancellationToken.None), line => line.Contains("10.65.0.3", StringComparison.Ordinal));

        // The source, in rack r1, its VM leaving for 172.18.204.44 in r2.
        var source = Fabric();
        var sourceTap = source.AddLink(Tap, up: true);
        await On(source, Options(), links: new FakeLinkNotifications()).ApplyAsync(State(
            Interface(Tap, "fa:16:3e:00:00:03", "10.65.0.3"),
            Local("10.65.0.3/32", Tap),
            RouteItem.Via(IpPrefix.Parse("10.65.0.3/32"), IPAddress.Parse("172.18.204.44"), "h44", standby: true),
            Blackhole("10.65.0.0/26")));
        route = Assert.Single(RoutesTo(source, "10.65.0.3/32"));
        Assert.Equal((0u, sourceTap.Index), (route.Key.Priority, route.OutputInterface));
        Assert.Equal("1", source.SysctlValues[$"net/ipv4/conf/{Tap}/ignore_routes_with_linkdown"]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(1500)]
    public void An_arrival_poll_interval_out_of_range_is_refused_with_its_name(int milliseconds)
    {
        var result = new DataplaneOptionsValidator().Validate(null, new DataplaneOptions { ArrivalPollInterval = TimeSpan.FromMilliseconds(milliseconds) });

        Assert.True(result.Failed);
        Assert.Contains("Dataplane:ArrivalPollInterval", result.FailureMessage);
    }
}
