using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Policy;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Xunit.Abstractions;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Qos;

/// <summary>
/// Port QoS on the real kernel: the whole Linux dataplane in a host namespace of the test's own, a VM namespace behind
/// its tap, another machine on the fabric, and iperf3 each way, forwarded by the host. Neutron's ingress (to the VM)
/// is measured by the VM receiving from the other machine, its egress (what the VM sends) by the other machine
/// receiving from the VM, each as bytes arriving on the receiver's interface.
/// </summary>
[Collection(QosRates.Name)]
public sealed class QosKernelTests : IDisposable
{
    private const string Tap = "tapq0s12345-6a";
    private const string Mac = "fa:16:3e:00:00:05";
    private const string HostAddress = "172.18.203.44";
    private const string VmAddress = "10.65.0.5";
    private const string RemoteAddress = "172.18.203.45";
    private readonly ForwardingHost _net = new(Tap, Mac, HostAddress, VmAddress, RemoteAddress);
    private readonly Iperf _iperf = new();

    private readonly ITestOutputHelper _output;

    public QosKernelTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        _iperf.Dispose();
        _net.Dispose();
    }

    private LinuxDataplane Dataplane() => _net.Dataplane(FeatureOptions.Defaults.With(new PolicyOptions { PolicyEnabled = false }));

    private static Dictionary<DesiredKey, DesiredItem> Port(params QosRule[] rules) => State(
        Interface(Tap, Mac, VmAddress) with { Qos = rules.Length == 0 ? null : new WorkloadQos("policy-1", rules.ToValueList()) },
        Local($"{VmAddress}/32", Tap));

    private static QosRule Bandwidth(string direction, long kbps, long burstKbit = 1000) =>
        new($"rule-{direction}", QosRule.BandwidthLimit, kbps, burstKbit, direction);

    private double ToVm() => Iperf.ReceivedMbps(_net.Vm, "eth0", RemoteAddress);

    private double FromVm() => Iperf.ReceivedMbps(_net.Remote, "eth0", VmAddress);

    private void AssertNear(double limitMbps, double measured, string what)
    {
        _output.WriteLine($"{what}: {measured:F2} Mbit/s");
        Assert.True(Math.Abs(measured - limitMbps) <= limitMbps * 0.10,
            $"{what}: {measured:F2} Mbit/s measured against a limit of {limitMbps} Mbit/s (10% allowed)");
    }

    [Fact]
    public async Task Each_direction_gets_its_limit_a_change_takes_effect_in_place_and_removal_restores_the_full_rate()
    {
        _iperf.Serve(_net.Remote, RemoteAddress);
        _iperf.Serve(_net.Vm, VmAddress);
        using var dataplane = Dataplane();

        var result = await dataplane.ApplyAsync(Port(Bandwidth(QosRule.Ingress, 20_000), Bandwidth(QosRule.Egress, 10_000)));
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        Assert.Contains("qdisc tbf ca1: root", _net.Host.Exec("tc", "qdisc", "show", "dev", Tap));
        Assert.Contains("qdisc ingress ffff:", _net.Host.Exec("tc", "qdisc", "show", "dev", Tap));
        Assert.Contains("Egress Redirect to device qosq0s12345-6a", _net.Host.Exec("tc", "filter", "show", "dev", Tap, "ingress"));
        Assert.Contains("rate 10Mbit", _net.Host.Exec("tc", "qdisc", "show", "dev", "qosq0s12345-6a"));
        AssertNear(20, ToVm(), "to the VM at 20 Mbit/s");
        AssertNear(10, FromVm(), "from the VM at 10 Mbit/s");

        // A change of limit: the same qdiscs, changed in place (their counters keep counting), and the new rates hold.
        var sentBefore = SentBytes(Tap);
        result = await dataplane.ApplyAsync(Port(Bandwidth(QosRule.Ingress, 40_000), Bandwidth(QosRule.Egress, 5_000)));
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        Assert.True(SentBytes(Tap) >= sentBefore && sentBefore > 0, "the tap's TBF was replaced, not changed in place");
        Assert.Contains("rate 40Mbit", _net.Host.Exec("tc", "qdisc", "show", "dev", Tap));
        AssertNear(40, ToVm(), "to the VM at 40 Mbit/s after the change");
        AssertNear(5, FromVm(), "from the VM at 5 Mbit/s after the change");

        // The policy removed: nothing of ours is left, and both directions run at the veth's own speed again.
        result = await dataplane.ApplyAsync(Port());
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        Assert.DoesNotContain("tbf", _net.Host.Exec("tc", "qdisc", "show", "dev", Tap));
        Assert.DoesNotContain("ingress", _net.Host.Exec("tc", "qdisc", "show", "dev", Tap));
        Assert.DoesNotContain("qos", _net.Host.Ip("link", "show"));
        var (to, from) = (ToVm(), FromVm());
        _output.WriteLine($"unlimited: to the VM {to:F0} Mbit/s, from the VM {from:F0} Mbit/s");
        Assert.True(to > 200, $"to the VM, unlimited: {to:F0} Mbit/s");
        Assert.True(from > 200, $"from the VM, unlimited: {from:F0} Mbit/s");
    }

    [Fact]
    public async Task A_restarted_agent_adopts_what_it_finds_and_writes_nothing_and_a_resync_repairs_drift()
    {
        var port = Port(Bandwidth(QosRule.Ingress, 20_000), Bandwidth(QosRule.Egress, 10_000));
        using (var first = Dataplane()) await first.ApplyAsync(port);
        _net.Host.Exec("ping", "-c", "3", "-i", "0.2", VmAddress);
        var before = _net.Host.Exec("tc", "qdisc", "show", "dev", Tap) + _net.Host.Exec("tc", "filter", "show", "dev", Tap, "ingress");
        var sentBefore = SentBytes(Tap);

        using var second = Dataplane();
        Assert.DoesNotContain(await second.PlanAsync(port, CancellationToken.None), l => l.Contains("qdisc") || l.Contains("filter") || l.Contains("ifb"));
        await second.ApplyAsync(port);
        Assert.Equal(before, _net.Host.Exec("tc", "qdisc", "show", "dev", Tap) + _net.Host.Exec("tc", "filter", "show", "dev", Tap, "ingress"));
        Assert.True(SentBytes(Tap) >= sentBefore && sentBefore > 0, "the tap's TBF was written again");

        // Someone deletes our filter and our TBF: the plan names them, a resync puts them back.
        _net.Host.Exec("tc", "filter", "del", "dev", Tap, "ingress", "prio", "3233");
        _net.Host.Exec("tc", "qdisc", "del", "dev", Tap, "root");
        var plan = await second.PlanAsync(port, CancellationToken.None);
        Assert.Contains(plan, l => l.StartsWith("add    qdisc tbf rate 20Mbit", StringComparison.Ordinal) && l.EndsWith($"dev {Tap}", StringComparison.Ordinal));
        Assert.Contains(plan, l => l == $"add    filter dev {Tap} ingress prio 3233 u32 match all action mirred egress redirect dev qosq0s12345-6a");
        await second.ResyncAsync(CancellationToken.None);
        Assert.Contains("qdisc tbf ca1: root", _net.Host.Exec("tc", "qdisc", "show", "dev", Tap));
        Assert.Contains("Egress Redirect to device qosq0s12345-6a", _net.Host.Exec("tc", "filter", "show", "dev", Tap, "ingress"));
    }

    [Fact]
    public async Task A_root_qdisc_of_someone_else_is_left_alone_and_reported_and_packet_rates_without_the_policy_component_too()
    {
        _net.Host.Exec("tc", "qdisc", "add", "dev", Tap, "root", "handle", "1:", "htb");
        using var dataplane = Dataplane();
        var result = await dataplane.ApplyAsync(Port(Bandwidth(QosRule.Ingress, 20_000),
            new QosRule("pps", QosRule.PacketRateLimit, 100, 0, QosRule.Egress)));

        var status = result.Endpoints["port-" + Tap];
        Assert.Equal(EndpointStatusKind.Error, status.Status);
        Assert.Contains($"the root qdisc htb 1: of {Tap} is not ours", status.Message);
        // This dataplane runs without the policy component, which is what enforces packet rates.
        Assert.Contains("packet_rate_limit egress 100 kpps not enforced: packet rates are enforced in nftables by the policy component, which is off", status.Message);
        Assert.Contains("qdisc htb 1: root", _net.Host.Exec("tc", "qdisc", "show", "dev", Tap));
    }

    private long SentBytes(string device)
    {
        var line = _net.Host.Exec("tc", "-s", "qdisc", "show", "dev", device).Split('\n').First(l => l.TrimStart().StartsWith("Sent ", StringComparison.Ordinal));
        return long.Parse(line.Trim().Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// The rate tests run alone in this assembly: under the other kernel tests' load (2 cores) the traffic generator
/// itself is starved and a sender that waits its turn for hundreds of milliseconds lets the shaper's queue run dry, so
/// what is measured is the CPU, not the shaping (CI measured 3.99 Mbit/s for a 5 Mbit/s limit).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class QosRates
{
    public const string Name = "QoS rates (run alone)";
}
