using Calico.Model.Desired;
using Calico.Silo.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Calico.Grains.Tests;

/// <summary>Several silos: controllers and a compute silo with its host agent, silos killed and restarted.</summary>
public sealed class ClusterTests : IAsyncLifetime
{
    private CalicoTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = await CalicoTestCluster.StartAsync(3, c =>
        {
            c.Roles["Silo_0"] = (SiloRoles.Controller, null, null);
            c.Roles["Silo_1"] = (SiloRoles.Controller, null, null);
            c.Roles["Silo_2"] = (SiloRoles.Compute, "h44", "172.18.203.44");
        });
        await _cluster.Grains.GetGrain<IHostGrain>("h31").RegisterAsync(Samples.Host("h31", "172.18.203.31"));
        await _cluster.Grains.GetGrain<INetworkGrain>("net-1").CreateAsync(Samples.Network());
        await _cluster.Grains.GetGrain<ISubnetGrain>("sub-1").CreateAsync(Samples.Subnet());
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private InProcessSiloHandle Silo(string name) => _cluster.Cluster.Silos.Single(s => s.Name == name);

    private static bool HasRoute(IReadOnlyDictionary<DesiredKey, DesiredItem> state, string prefix, RouteKind kind) =>
        state.TryGetValue(new DesiredKey(DesiredKind.Route, prefix), out var item) && ((RouteItem)item).Kind == kind;

    [Fact]
    public async Task Compute_silo_registers_reports_and_applies_its_desired_state()
    {
        await Eventually.TrueAsync(async () => (await _cluster.Grains.GetGrain<IHostGrain>("h44").GetStatusAsync()).Alive, "h44 reports in");
        var status = await _cluster.Grains.GetGrain<IHostGrain>("h44").GetStatusAsync();
        Assert.Equal("172.18.203.44", status.Registration!.Value.Ipv4Address!.ToString());
        Assert.Equal("Silo_2", status.LastReport!.SiloName);

        await _cluster.Grains.GetGrain<IEndpointGrain>("p3").CreateAsync(Samples.Endpoint("p3", "h44", "10.65.0.3"));
        await _cluster.Grains.GetGrain<IEndpointGrain>("p2").CreateAsync(Samples.Endpoint("p2", "h31", "10.65.0.2"));
        await Eventually.TrueAsync(() => HasRoute(_cluster.Dataplane("h44").State, "10.65.0.3/32", RouteKind.Local)
                                         && HasRoute(_cluster.Dataplane("h44").State, "10.65.0.2/32", RouteKind.ViaHost),
            "h44's dataplane holds the local and the remote route");
        // The applied cursor is what the host reports next.
        await Eventually.TrueAsync(async () =>
            (await _cluster.Grains.GetGrain<IHostGrain>("h44").GetStatusAsync()).LastReport?.Applied == _cluster.Agent("h44").Applied,
            "the host reports the version it applied");
    }

    [Fact]
    public async Task A_compute_only_silo_hosts_no_control_plane_grains()
    {
        await _cluster.Grains.GetGrain<IEndpointGrain>("p3").CreateAsync(Samples.Endpoint("p3", "h44", "10.65.0.3"));
        await Eventually.TrueAsync(() => _cluster.Agent("h44").Applied is not null, "h44 applied");
        var management = _cluster.Grains.GetGrain<IManagementGrain>(0);
        var stats = await management.GetSimpleGrainStatistics();
        var compute = Silo("Silo_2").SiloAddress;
        Assert.DoesNotContain(stats, s => s.SiloAddress.Equals(compute) && s.GrainType.StartsWith("Calico.", StringComparison.Ordinal));
        Assert.Contains(stats, s => s.GrainType.Contains("HostDesiredStateGrain", StringComparison.Ordinal));
    }

    [Fact]
    public async Task State_survives_a_killed_controller_and_grains_reactivate_elsewhere()
    {
        await _cluster.Grains.GetGrain<IEndpointGrain>("p3").CreateAsync(Samples.Endpoint("p3", "h44", "10.65.0.3"));
        await Eventually.TrueAsync(() => HasRoute(_cluster.Dataplane("h44").State, "10.65.0.3/32", RouteKind.Local), "p3 applied");

        // Kill whichever controller holds the calculator (and so, often, the host grains).
        var stats = await _cluster.Grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        var calculatorSilo = stats.First(s => s.GrainType.Contains("DesiredStateCalculatorGrain", StringComparison.Ordinal)).SiloAddress;
        await _cluster.Cluster.KillSiloAsync(_cluster.Cluster.Silos.Single(s => s.SiloAddress.Equals(calculatorSilo)));

        Assert.Equal("10.65.0.3", (await _cluster.Grains.GetGrain<IEndpointGrain>("p3").GetAsync())!.Value.FixedIps[0].Address.ToString());
        await _cluster.Grains.GetGrain<IEndpointGrain>("p4").CreateAsync(Samples.Endpoint("p4", "h44", "10.65.0.4"));
        await Eventually.TrueAsync(() => HasRoute(_cluster.Dataplane("h44").State, "10.65.0.4/32", RouteKind.Local)
                                         && HasRoute(_cluster.Dataplane("h44").State, "10.65.0.3/32", RouteKind.Local),
            "the compute silo's watch resumes against the surviving controller");
    }

    [Fact]
    public async Task A_restarted_compute_silo_resumes_its_watch_and_gets_what_changed_meanwhile()
    {
        await _cluster.Grains.GetGrain<IEndpointGrain>("p3").CreateAsync(Samples.Endpoint("p3", "h44", "10.65.0.3"));
        await Eventually.TrueAsync(() => HasRoute(_cluster.Dataplane("h44").State, "10.65.0.3/32", RouteKind.Local), "p3 applied");

        await _cluster.Cluster.StopSiloAsync(Silo("Silo_2"));
        await Eventually.TrueAsync(async () => !(await _cluster.Grains.GetGrain<IHostGrain>("h44").GetStatusAsync()).Alive, "h44 counts as dead");
        // Changes while the compute silo is away.
        await _cluster.Grains.GetGrain<IEndpointGrain>("p3").DeleteAsync();
        await _cluster.Grains.GetGrain<IEndpointGrain>("p5").CreateAsync(Samples.Endpoint("p5", "h44", "10.65.0.5"));

        // The node comes back as a new silo process (a new silo identity), serving the same host.
        _cluster.Roles["Silo_3"] = (SiloRoles.Compute, "h44", "172.18.203.44");
        await _cluster.Cluster.StartAdditionalSiloAsync();
        await Eventually.TrueAsync(() => HasRoute(_cluster.Dataplane("h44").State, "10.65.0.5/32", RouteKind.Local)
                                         && !_cluster.Dataplane("h44").State.ContainsKey(new DesiredKey(DesiredKind.Route, "10.65.0.3/32")),
            "the restarted compute silo holds exactly the current state");
        await Eventually.TrueAsync(async () => (await _cluster.Grains.GetGrain<IHostGrain>("h44").GetStatusAsync()).Alive, "h44 alive again");
    }
}
