using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Hosting;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Dataplane.Linux.Tests.Reconcilers;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Components;

/// <summary>
/// The driver is the loop over its components: each one, in order, is applied, invalidated before a resync, told of
/// link changes, asked for its plan and its statuses, and disposed; a new component is one more registration.
/// </summary>
public sealed class ComponentLoopTests
{
    private const string Tap = "tap12345678-9a";

    /// <summary>A component that records what the loop asks of it, and finds every endpoint's DHCP-like service missing.</summary>
    private sealed class Recorder(List<string> log) : IDataplaneComponent
    {
        public string Name => "recorder";
        public int StatusPrecedence => 3;
        public IReadOnlySet<DesiredKind> Consumes { get; } = new HashSet<DesiredKind> { DesiredKind.Route };

        public void Apply(DataplanePass pass) =>
            log.Add($"apply drift={pass.Drift} changes={pass.Changes?.Count.ToString() ?? "-"} tap={(pass.Interfaces.TryGetValue(Tap, out var i) ? i.State.ToString() : "?")}");

        public void Invalidate() => log.Add("invalidate");
        public void ReconcileLinks(LinkChangePass pass) => log.Add($"links {string.Join(",", pass.Affected)}");
        public IEnumerable<string> Plan(PlanPass pass) => ["recorder plan"];
        public void ReportStatuses(EndpointStatuses statuses)
        {
            foreach (var endpoint in statuses.Endpoints) statuses.Degrade(endpoint.EndpointId, "recorder: not yet");
        }
        public void Dispose() => log.Add("dispose");
    }

    [Fact]
    public void The_dataplane_registers_its_components_in_apply_order_once()
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().Build();

        services.AddCalicoLinuxDataplane(configuration).AddCalicoLinuxDataplane(configuration);

        var names = services.Where(d => d.ServiceType == typeof(DataplaneComponentRegistration))
            .Select(d => ((DataplaneComponentRegistration)d.ImplementationInstance!).Name);
        Assert.Equal(["interfaces", "policy", "qos", "routes", "dhcp", "bgp"], names);
    }

    [Fact]
    public void On_fakes_every_component_is_built_and_policy_as_nftables_is_given()
    {
        var kernel = new FakeKernel();
        var options = Options();
        using var withoutPolicy = On(kernel, options);
        using var withPolicy = On(kernel, options, nftables: new FakeNftables());

        // QoS needs traffic control, which the fake kernel does not have (QosKernelTests run it on the real one).
        Assert.Equal(["interfaces", "routes", "dhcp", "bgp"], withoutPolicy.Components);
        Assert.Equal(["interfaces", "policy", "routes", "dhcp", "bgp"], withPolicy.Components);
    }

    [Fact]
    public async Task A_registered_component_is_driven_through_apply_resync_link_changes_plan_statuses_and_disposal()
    {
        var log = new List<string>();
        var kernel = new FakeKernel();
        kernel.AddLink(Tap, up: true);
        var notices = new FakeLinkNotifications();
        var options = Options();
        var dataplane = On(kernel, options, links: notices,
            components: [.. LinuxDataplaneComponents.All, new DataplaneComponentRegistration("recorder", _ => new Recorder(log))]);
        var state = State(Interface(Tap, "fa:16:3e:00:00:03", "10.65.0.3"), Local("10.65.0.3/32", Tap), Blackhole("10.65.0.0/26"));

        var applied = await dataplane.ApplyAsync(state);
        var route = Blackhole("10.65.1.0/26");
        state[route.Key] = route;
        await dataplane.ApplyAsync(state, [new DesiredChange(route.Key, route)], isSnapshot: false, CancellationToken.None);
        await dataplane.ResyncAsync(CancellationToken.None);
        notices.Changed(kernel.SetLinkDown(Tap));
        await dataplane.WaitForKernelChangeAsync(CancellationToken.None);
        await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);
        var plan = await dataplane.PlanAsync(state, CancellationToken.None);
        dataplane.Dispose();

        // The recorder comes after the interfaces: it sees their states; an update hands it only its kinds' changes.
        Assert.Equal([
            "apply drift=False changes=3 tap=Ready",
            "apply drift=False changes=1 tap=Ready",
            "invalidate",
            "apply drift=True changes=- tap=Ready",
            $"links {Tap}",
            "dispose",
        ], log);
        Assert.Equal("recorder plan", plan[^1]);
        Assert.Equal(new EndpointProgramming(EndpointStatusKind.Error, "recorder: not yet"), applied.Endpoints["port-" + Tap]);
    }
}

/// <summary>How the components' reports make one status per endpoint.</summary>
public sealed class EndpointStatusesTests
{
    private static readonly WorkloadInterfaceItem Up = Interface("tapaaaaaaaa-aa", "fa:16:3e:00:00:01", "10.65.0.1");
    private static readonly WorkloadInterfaceItem AdminDown = Interface("tapbbbbbbbb-bb", "fa:16:3e:00:00:02", "10.65.0.2") with { AdminUp = false };

    [Fact]
    public void The_first_failure_reported_decides_and_a_degradation_errs_an_active_endpoint_or_adds_to_an_error()
    {
        var statuses = new EndpointStatuses([Up, AdminDown]);
        statuses.Degrade(Up.EndpointId, "DHCP: no");
        statuses.Degrade(AdminDown.EndpointId, "DHCP: no");
        var built = statuses.Build();
        Assert.Equal(new EndpointProgramming(EndpointStatusKind.Error, "DHCP: no"), built[Up.EndpointId]);
        Assert.Equal(new EndpointProgramming(EndpointStatusKind.Down, "administratively down"), built[AdminDown.EndpointId]);

        statuses = new EndpointStatuses([Up, AdminDown]);
        statuses.Fail(Up.EndpointId, EndpointStatusKind.Error, "route: EPERM");
        statuses.Fail(Up.EndpointId, EndpointStatusKind.Error, "policy: rule bad");
        statuses.Fail(AdminDown.EndpointId, EndpointStatusKind.Error, "policy: rule bad");
        statuses.Degrade(Up.EndpointId, "DHCP: no");
        statuses.Fail("port-unknown", EndpointStatusKind.Error, "ignored");
        built = statuses.Build();
        Assert.Equal(new EndpointProgramming(EndpointStatusKind.Error, "route: EPERM; DHCP: no"), built[Up.EndpointId]);
        Assert.Equal(new EndpointProgramming(EndpointStatusKind.Error, "policy: rule bad"), built[AdminDown.EndpointId]);
        Assert.Equal(2, built.Count);
    }
}
