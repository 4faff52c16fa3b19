using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Driver;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Xunit.Abstractions;
using static Calico.Dataplane.Linux.Tests.Policy.PolicySamples;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Qos;

/// <summary>
/// QoS packet-rate limits on the real kernel: the whole Linux dataplane (policy included) in a host namespace of the
/// test's own, a VM namespace behind its tap and another machine on the fabric, as in <see cref="QosKernelTests"/>.
/// A sender floods small UDP datagrams as fast as it can; the packets a second arriving at the receiver's interface
/// must be within 10% of the limit, each way (Neutron's ingress: to the VM; egress: what the VM sends).
/// </summary>
[Collection(QosRates.Name)]
public sealed class PacketRateKernelTests : IDisposable
{
    private const string Tap = "tappps2345-6a";
    private const string Mac = "fa:16:3e:00:00:06";
    private const string HostAddress = "172.18.204.44";
    private const string VmAddress = "10.65.0.6";
    private const string RemoteAddress = "172.18.204.45";
    private readonly ForwardingHost _net = new(Tap, Mac, HostAddress, VmAddress, RemoteAddress);
    private readonly ITestOutputHelper _output;

    public PacketRateKernelTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _net.Dispose();
    }

    private LinuxDataplane Dataplane() => _net.Dataplane(FeatureOptions.Defaults);

    /// <summary>The port in a group open to UDP in and to anything out, so only the limits stand in the way.</summary>
    private static Dictionary<DesiredKey, DesiredItem> Port(params QosRule[] rules) => State(
        Group("open", Ingress("udp-in", protocol: 17), Egress("all-out")),
        Interface(Tap, Mac, VmAddress) with
        {
            SecurityGroupIds = ValueList.Create("open"),
            Qos = rules.Length == 0 ? null : new WorkloadQos("policy-1", rules.ToValueList()),
        },
        Local($"{VmAddress}/32", Tap));

    private static QosRule Pps(string direction, long kpps) => new($"pps-{direction}", QosRule.PacketRateLimit, kpps, 0, direction);

    private double ToVm() => UdpFlood.ReceivedPps(_net.Remote, VmAddress, _net.Vm, "eth0");

    private double FromVm() => UdpFlood.ReceivedPps(_net.Vm, RemoteAddress, _net.Remote, "eth0");

    private void AssertNear(double limit, double measured, string what)
    {
        _output.WriteLine($"{what}: {measured:F0} packets/s");
        Assert.True(Math.Abs(measured - limit) <= limit * 0.10, $"{what}: {measured:F0} packets/s measured against a limit of {limit} (10% allowed)");
    }

    private string Chain(string suffix) => _net.Host.Exec("nft", "list", "chain", "inet", "calico", $"cali-rl-{Tap}-{suffix}");

    [Fact]
    public async Task Each_direction_gets_its_packet_rate_a_change_takes_effect_in_place_and_removal_restores_the_full_rate()
    {
        using var dataplane = Dataplane();
        var limited = Port(Pps(QosRule.Ingress, 1), Pps(QosRule.Egress, 1));

        var plan = await dataplane.PlanAsync(limited, CancellationToken.None);
        Assert.Contains(plan, l => l.Contains($"add rule inet calico cali-rl-{Tap}-e limit rate over 1000/second burst 100 packets drop", StringComparison.Ordinal));
        Assert.Contains(plan, l => l.Contains($"add rule inet calico cali-rl-{Tap}-i limit rate over 1000/second burst 100 packets drop", StringComparison.Ordinal));

        var result = await dataplane.ApplyAsync(limited);
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        Assert.Contains("limit rate over 1000/second burst 100 packets drop", Chain("e"));
        AssertNear(1000, ToVm(), "to the VM at 1 kpps");
        AssertNear(1000, FromVm(), "from the VM at 1 kpps");

        // A new limit: the chains keep their names (the dispatch entries stay), their rules change.
        result = await dataplane.ApplyAsync(Port(Pps(QosRule.Ingress, 3), Pps(QosRule.Egress, 2)));
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        Assert.Contains("limit rate over 3000/second burst 300 packets drop", Chain("i"));
        Assert.Contains("limit rate over 2000/second burst 200 packets drop", Chain("e"));
        AssertNear(3000, ToVm(), "to the VM at 3 kpps after the change");
        AssertNear(2000, FromVm(), "from the VM at 2 kpps after the change");

        // The policy removed: no limit chain is left, and both directions pass well above the old limits.
        result = await dataplane.ApplyAsync(Port());
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        Assert.DoesNotContain("cali-rl-", _net.Host.Exec("nft", "list", "table", "inet", "calico"));
        var (to, from) = (ToVm(), FromVm());
        _output.WriteLine($"unlimited: to the VM {to:F0} packets/s, from the VM {from:F0} packets/s");
        Assert.True(to > 9000, $"to the VM, unlimited: {to:F0} packets/s");
        Assert.True(from > 9000, $"from the VM, unlimited: {from:F0} packets/s");
    }
}
