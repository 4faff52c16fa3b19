using System.Net;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Dhcp;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Policy;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging.Abstractions;
using static Calico.Dataplane.Linux.Tests.Policy.PolicySamples;
using static Calico.Dataplane.Linux.Tests.Policy.PolicyLab;

namespace Calico.Dataplane.Linux.Tests.Policy;

/// <summary>
/// The Linux dataplane with policy on (Dataplane:PolicyEnabled), against the lab's namespaces: interfaces, policy
/// and routes programmed by one apply, statuses that say when a port's policy is not what its groups say, and the
/// policy path's own plan.
/// </summary>
public sealed class PolicyDriverTests : IDisposable
{
    private readonly PolicyLab _lab = new(programmedByHand: false);
    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("cal-policy-").FullName;

    public void Dispose()
    {
        _lab.Dispose();
        Directory.Delete(_stateDirectory, recursive: true);
    }

    private LinuxDataplane Dataplane() => new(Microsoft.Extensions.Options.Options.Create(new DataplaneOptions
    {
        NetworkNamespace = _lab.Host.Name,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
    }), NullLoggerFactory.Instance, new FeatureOptions([
        new PolicyOptions { PolicyEnabled = true, MetadataAddress = "172.18.203.1" },
        new DhcpOptions { DhcpStateDirectory = _stateDirectory },
    ]));

    private static DesiredItem[] Desired(params SecurityGroupRule[] webRules) =>
    [
        LabState.VmA("web"),
        LabState.VmB("web"),
        RouteItem.Local(IpPrefix.Parse("10.65.0.3/32"), TapA),
        RouteItem.Local(IpPrefix.Parse("10.65.0.4/32"), TapB),
        Group("web", [Ingress("http", IpProtocols.Tcp, 80, 80), Egress("out"), .. webRules]),
    ];

    [Fact]
    public async Task One_apply_programs_interfaces_policy_and_routes_and_the_ports_are_active()
    {
        _lab.ListenTcp(_lab.VmA, IPAddress.Any, 80);
        _lab.ListenTcp(_lab.VmA, IPAddress.Any, 81);
        using var dataplane = Dataplane();
        var state = State(Desired());

        var result = await dataplane.ApplyAsync(state, [.. state.Values.Select(Set)], isSnapshot: true, CancellationToken.None);

        Assert.All(result.Endpoints.Values, e => Assert.Equal(EndpointStatusKind.Active, e.Status));
        Assert.True(await ConnectsAsync(_lab.Outside, A, 80));
        Assert.False(await ConnectsAsync(_lab.Outside, A, 81));
        Assert.Empty(await dataplane.PlanAsync(state, CancellationToken.None));

        // Drift by hand (someone deletes a rule) is repaired by the resync.
        _lab.Host.Exec("nft", "flush", "chain", "inet", "calico", "cali-sg-web-i");
        Assert.False(await ConnectsAsync(_lab.Outside, A, 80));
        await dataplane.ResyncAsync(CancellationToken.None);
        Assert.True(await ConnectsAsync(_lab.Outside, A, 80));
    }

    [Fact]
    public async Task A_rule_nft_cannot_express_puts_the_groups_ports_in_error_and_the_rest_still_applies()
    {
        _lab.ListenTcp(_lab.VmA, IPAddress.Any, 80);
        using var dataplane = Dataplane();
        // An IPv6 prefix on an IPv4 rule: the API refuses it, a hand-written desired-state file may not.
        var state = State(Desired(Ingress("bad", IpProtocols.Tcp, 22, 22, prefix: "fd00::/8")));

        var result = await dataplane.ApplyAsync(state, [.. state.Values.Select(Set)], isSnapshot: true, CancellationToken.None);

        var status = result.Endpoints["port-" + TapA];
        Assert.Equal(EndpointStatusKind.Error, status.Status);
        Assert.Contains("rule bad", status.Message);
        Assert.True(await ConnectsAsync(_lab.Outside, A, 80));
    }
}
