using Calico.Model.Resources;
using Calico.Netlink;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Reconcilers;

/// <summary>The reconcilers on a fake kernel: diffs, ownership, drift, adoption, failures.</summary>
public class ReconcilerTests
{
    private const string Tap = "tap12345678-9a";
    private const string Mac = "fa:16:3e:00:00:03";

    private static (FakeKernel Kernel, Dictionary<Calico.Model.Desired.DesiredKey, Calico.Model.Desired.DesiredItem> State) Seed()
    {
        var kernel = new FakeKernel();
        kernel.AddLink("eth0", up: true);
        kernel.AddLink(Tap);
        var state = State(
            Interface(Tap, Mac, "10.65.0.3"),
            Local("10.65.0.3/32", Tap),
            Via("10.65.1.0/26", "172.18.203.31"),
            Blackhole("10.65.0.0/26"));
        return (kernel, state);
    }

    [Fact]
    public async Task Applies_the_seed_routes_and_configures_the_tap()
    {
        var (kernel, state) = Seed();
        var result = await On(kernel).ApplyAsync(state);

        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        var ours = kernel.ListRoutes(new RouteFilter(Protocol: (RouteProtocol)80));
        Assert.Equal(3, ours.Count);
        var local = ours.Single(r => r.Destination.ToString() == "10.65.0.3/32");
        Assert.Equal(kernel.Links.Values.Single(l => l.Name == Tap).Index, local.OutputInterface);
        Assert.Equal(RouteType.Blackhole, ours.Single(r => r.Destination.ToString() == "10.65.0.0/26").Type);
        Assert.Equal("1", kernel.SysctlValues[$"net/ipv4/conf/{Tap}/proxy_arp"]);
        Assert.Equal("0", kernel.SysctlValues[$"net/ipv4/neigh/{Tap}/proxy_delay"]);
        Assert.Equal("1", kernel.SysctlValues["net/ipv4/ip_forward"]);
        Assert.True(kernel.Links.Values.Single(l => l.Name == Tap).IsUp);
        Assert.Single(kernel.Neighbours, n => n.Destination.ToString() == "10.65.0.3" && n.State == NeighbourState.Permanent);
    }

    [Fact]
    public async Task The_same_state_again_writes_nothing()
    {
        var (kernel, state) = Seed();
        var dataplane = On(kernel);
        await dataplane.ApplyAsync(state);
        var (writes, deletes, other) = (kernel.RouteWrites, kernel.RouteDeletes, kernel.OtherWrites);
        await dataplane.ApplyAsync(state);
        Assert.Equal((writes, deletes, other), (kernel.RouteWrites, kernel.RouteDeletes, kernel.OtherWrites));
    }

    [Fact]
    public async Task A_restarted_agent_adopts_matching_state_and_changes_nothing()
    {
        var (kernel, state) = Seed();
        await On(kernel).ApplyAsync(state);
        var (writes, deletes, other) = (kernel.RouteWrites, kernel.RouteDeletes, kernel.OtherWrites);

        var restarted = On(kernel);
        var result = await restarted.ApplyAsync(state);
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        Assert.Equal((writes, deletes, other), (kernel.RouteWrites, kernel.RouteDeletes, kernel.OtherWrites));
    }

    [Fact]
    public async Task Routes_of_others_are_never_touched_even_at_the_same_destination()
    {
        var (kernel, state) = Seed();
        var foreignStatic = Route.ViaGateway(FakeKernel.Net("10.65.1.0/26"), System.Net.IPAddress.Parse("172.18.203.99"), protocol: RouteProtocol.Static);
        var foreignBird = Route.Blackhole(FakeKernel.Net("192.168.0.0/16"), protocol: RouteProtocol.Bird);
        kernel.Routes[foreignStatic.Key] = foreignStatic;
        kernel.Routes[foreignBird.Key] = foreignBird;

        var dataplane = On(kernel);
        await dataplane.ApplyAsync(state);
        await dataplane.ResyncAsync(CancellationToken.None);
        await dataplane.ApplyAsync(State());
        await dataplane.ResyncAsync(CancellationToken.None);

        Assert.Equal(foreignStatic, kernel.Routes[foreignStatic.Key]);
        Assert.Equal(foreignBird, kernel.Routes[foreignBird.Key]);
        Assert.Empty(kernel.ListRoutes(new RouteFilter(Protocol: (RouteProtocol)80)));
    }

    [Fact]
    public async Task Drift_is_repaired_at_the_resync()
    {
        var (kernel, state) = Seed();
        var dataplane = On(kernel);
        await dataplane.ApplyAsync(state);

        // By hand: a route deleted, another pointed elsewhere, a sysctl turned off, a neighbour removed.
        kernel.Routes.Remove(kernel.Routes.Keys.Single(k => k.Destination.ToString() == "10.65.0.3/32"));
        var via = kernel.Routes.Keys.Single(k => k.Destination.ToString() == "10.65.1.0/26");
        kernel.Routes[via] = kernel.Routes[via] with { Gateway = System.Net.IPAddress.Parse("172.18.203.77") };
        kernel.SysctlValues[$"net/ipv4/conf/{Tap}/proxy_arp"] = "0";
        kernel.Neighbours.Clear();

        // An update without changes believes the kernel; the resync reads it back.
        await dataplane.ApplyAsync(state);
        Assert.Equal(2, kernel.ListRoutes(new RouteFilter(Protocol: (RouteProtocol)80)).Count);
        await dataplane.ResyncAsync(CancellationToken.None);

        Assert.Equal(3, kernel.ListRoutes(new RouteFilter(Protocol: (RouteProtocol)80)).Count);
        Assert.Equal("172.18.203.31", kernel.Routes[via].Gateway!.ToString());
        Assert.Equal("1", kernel.SysctlValues[$"net/ipv4/conf/{Tap}/proxy_arp"]);
        Assert.Single(kernel.Neighbours);
    }

    [Fact]
    public async Task Transient_errors_are_retried()
    {
        var (kernel, state) = Seed();
        kernel.RouteFaults["10.65.1.0/26"] = (Errno.EBUSY, 2);
        kernel.RouteFaults["10.65.0.3/32"] = (Errno.ENOBUFS, 1);
        var result = await On(kernel).ApplyAsync(state);
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        Assert.Equal(3, kernel.ListRoutes(new RouteFilter(Protocol: (RouteProtocol)80)).Count);
    }

    [Fact]
    public async Task A_persistent_failure_on_one_endpoint_does_not_hold_up_the_others()
    {
        var (kernel, state) = Seed();
        kernel.AddLink("tapbad0000-00");
        state = State([.. state.Values, Interface("tapbad0000-00", "fa:16:3e:00:00:09", "10.65.0.9"), Local("10.65.0.9/32", "tapbad0000-00")]);
        kernel.RouteFaults["10.65.0.9/32"] = (Errno.EINVAL, int.MaxValue);

        var dataplane = On(kernel);
        var result = await dataplane.ApplyAsync(state);
        Assert.Equal(EndpointStatusKind.Error, result.Endpoints["port-tapbad0000-00"].Status);
        Assert.Contains("EINVAL", result.Endpoints["port-tapbad0000-00"].Message, StringComparison.Ordinal);
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        Assert.Equal(3, kernel.ListRoutes(new RouteFilter(Protocol: (RouteProtocol)80)).Count);

        kernel.RouteFaults.Remove("10.65.0.9/32");
        result = await dataplane.ApplyAsync(state);
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-tapbad0000-00"].Status);
    }

    [Fact]
    public async Task A_missing_tap_is_down_until_it_appears_and_an_admin_down_port_is_down()
    {
        var kernel = new FakeKernel();
        var state = State(Interface("tapnew00000-00", Mac, "10.65.0.4"), Local("10.65.0.4/32", "tapnew00000-00"));
        var dataplane = On(kernel);
        var result = await dataplane.ApplyAsync(state);
        Assert.Equal(EndpointStatusKind.Down, result.Endpoints["port-tapnew00000-00"].Status);
        Assert.Empty(kernel.Routes);

        kernel.AddLink("tapnew00000-00");
        result = await dataplane.ResyncAsync(CancellationToken.None);
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-tapnew00000-00"].Status);
        Assert.Single(kernel.Routes);

        var down = Interface("tapnew00000-00", Mac, "10.65.0.4") with { AdminUp = false };
        result = await dataplane.ApplyAsync(State(down));
        Assert.Equal(EndpointStatusKind.Down, result.Endpoints["port-tapnew00000-00"].Status);
        Assert.Empty(kernel.Routes);
    }

    [Fact]
    public async Task An_empty_desired_state_writes_nothing_at_all()
    {
        var kernel = new FakeKernel();
        kernel.AddLink("eth0", up: true);
        var dataplane = On(kernel);
        await dataplane.ApplyAsync(State());
        await dataplane.ResyncAsync(CancellationToken.None);
        Assert.Equal((0, 0, 0), (kernel.RouteWrites, kernel.RouteDeletes, kernel.OtherWrites));
        Assert.Empty(kernel.SysctlValues);
    }
}

public class PlanTests
{
    [Fact]
    public async Task The_plan_lists_what_an_apply_would_change_and_changes_nothing()
    {
        var kernel = new FakeKernel();
        kernel.AddLink("tap12345678-9a");
        var foreign = Route.Blackhole(FakeKernel.Net("192.168.0.0/16"), protocol: RouteProtocol.Bird);
        kernel.Routes[foreign.Key] = foreign;
        var stale = Route.Blackhole(FakeKernel.Net("10.65.9.0/26"), protocol: (RouteProtocol)80);
        kernel.Routes[stale.Key] = stale;
        var state = State(Interface("tap12345678-9a", "fa:16:3e:00:00:03", "10.65.0.3"), Local("10.65.0.3/32", "tap12345678-9a"),
            Via("10.65.1.0/26", "172.18.203.31"), Interface("tapmissing0-00", "fa:16:3e:00:00:04", "10.65.0.4"));

        using var dataplane = On(kernel);
        var plan = await dataplane.PlanAsync(state, CancellationToken.None);

        Assert.Contains("add    route 10.65.0.3/32 dev tap12345678-9a proto 80", plan);
        Assert.Contains("add    route 10.65.1.0/26 via 172.18.203.31 proto 80", plan);
        Assert.Contains("remove route 10.65.9.0/26 blackhole proto 80", plan);
        Assert.Contains("change link tap12345678-9a up", plan);
        Assert.Contains(plan, l => l.StartsWith("change sysctl net.ipv4.conf.tap12345678-9a.proxy_arp=1", StringComparison.Ordinal));
        Assert.Contains(plan, l => l.StartsWith("add    neighbour 10.65.0.3 lladdr fa:16:3e:00:00:03", StringComparison.Ordinal));
        Assert.Contains(plan, l => l.StartsWith("wait   interface tapmissing0-00", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, l => l.Contains("192.168.0.0/16", StringComparison.Ordinal));
        Assert.Equal((0, 0, 0), (kernel.RouteWrites, kernel.RouteDeletes, kernel.OtherWrites));

        await dataplane.ApplyAsync(state);
        Assert.Equal(["wait   interface tapmissing0-00 (does not exist yet; its routes wait for it)"], await dataplane.PlanAsync(state, CancellationToken.None));
    }
}
