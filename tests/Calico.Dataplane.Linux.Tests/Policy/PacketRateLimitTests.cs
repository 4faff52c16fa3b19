using Calico.Dataplane.Linux.Nftables;
using Calico.Dataplane.Linux.Policy;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Nftables;
using static Calico.Dataplane.Linux.Tests.Policy.PolicySamples;

namespace Calico.Dataplane.Linux.Tests.Policy;

/// <summary>
/// QoS packet-rate limits (Neutron's packet_rate_limit rules) compiled into the policy table: per port and direction
/// a chain of its own that drops the excess and then takes the port's verdict, changed with the limit and gone with it.
/// </summary>
public sealed class PacketRateLimitTests
{
    private const string Tap = "tapaa";

    private static WorkloadInterfaceItem Port(params QosRule[] rules) =>
        Endpoint(Tap, "fa:16:3e:00:00:0a", ["10.65.0.10"], ["web"]) with
        {
            Qos = rules.Length == 0 ? null : new WorkloadQos("policy-1", rules.ToValueList()),
        };

    private static QosRule Pps(string direction, long kpps, long burstKpps = 0) => new($"pps-{direction}", QosRule.PacketRateLimit, kpps, burstKpps, direction);

    private static readonly SecurityGroupPolicyItem Web = Group("web", Ingress("r1", protocol: 6, from: 80, to: 80));

    private static string Script(params DesiredItem[] items) =>
        NftDiff.Plan(PolicyCompiler.Compile(items), kernel: null).Transaction.Render();

    [Fact]
    public void A_port_with_limits_both_ways_gets_one_chain_each_that_drops_the_excess_then_goes_to_its_profile()
    {
        var script = Script(Web, Port(Pps(QosRule.Egress, 2, 1), Pps(QosRule.Ingress, 1)));
        var profile = new PolicyProfile(ValueList.Create("web"), Stateful: true);
        // Egress with a burst of 1 kpps; ingress without one: a tenth of a second at the rate.
        var lines = script.Split('\n').Where(l => l.Contains("tapaa", StringComparison.Ordinal) && !l.Contains("cali-wl-src", StringComparison.Ordinal));

        Assert.Equal($$"""
            add chain inet calico cali-rl-tapaa-e
            add chain inet calico cali-rl-tapaa-i
            add element inet calico cali-from-wl { "tapaa" : goto cali-rl-tapaa-e }
            add element inet calico cali-to-wl { "tapaa" : goto cali-rl-tapaa-i }
            add rule inet calico cali-rl-tapaa-e limit rate over 2000/second burst 1000 packets drop comment "cal:9e7046890ca774c2 QoS packet_rate_limit egress 2 kpps"
            add rule inet calico cali-rl-tapaa-e goto {{profile.EgressChain}} comment "cal:f31ef2c8c6415c99"
            add rule inet calico cali-rl-tapaa-i limit rate over 1000/second burst 100 packets drop comment "cal:60ad9660490b0f5e QoS packet_rate_limit ingress 1 kpps"
            add rule inet calico cali-rl-tapaa-i goto {{profile.IngressChain}} comment "cal:ba777c14e1446885"
            """, string.Join('\n', lines));
    }

    [Fact]
    public void One_direction_limited_leaves_the_other_dispatched_straight_to_the_profile_and_0_limits_nothing()
    {
        var profile = new PolicyProfile(ValueList.Create("web"), Stateful: true);
        var script = Script(Web, Port(Pps(QosRule.Egress, 5), Pps(QosRule.Ingress, 0)));

        Assert.Contains("""add element inet calico cali-from-wl { "tapaa" : goto cali-rl-tapaa-e }""", script);
        Assert.Contains($$"""add element inet calico cali-to-wl { "tapaa" : goto {{profile.IngressChain}} }""", script);
        Assert.DoesNotContain("cali-rl-tapaa-i", script);
        Assert.Equal(Script(Web, Port()), Script(Web, Port(new QosRule("bw", QosRule.BandwidthLimit, 1000, 0, QosRule.Egress))));
    }

    [Fact]
    public void Without_port_security_the_limit_goes_on_to_the_destination_and_down_ports_drop_without_a_chain()
    {
        var unsecured = Port(Pps(QosRule.Egress, 1), Pps(QosRule.Ingress, 1)) with { PortSecurityOff = true };
        var script = Script(unsecured);
        Assert.Contains($"add rule inet calico cali-rl-tapaa-e goto {PolicyNames.ForwardToDestination}", script);
        Assert.Contains("add rule inet calico cali-rl-tapaa-i accept", script);

        var down = Script(Web, Port(Pps(QosRule.Egress, 1), Pps(QosRule.Ingress, 1)) with { AdminUp = false });
        Assert.DoesNotContain("cali-rl-", down);
        Assert.Contains("""add element inet calico cali-from-wl { "tapaa" : drop }""", down);
    }

    [Fact]
    public void A_new_limit_rewrites_only_that_chain_and_removing_it_removes_the_chain_incrementally()
    {
        var compiler = new PolicyCompiler();
        compiler.Reset([Web, Port(Pps(QosRule.Egress, 1))]);
        var before = compiler.Table;

        var changed = Port(Pps(QosRule.Egress, 3));
        compiler.Apply(new DesiredChange(changed.Key, changed));
        Assert.Equal(PolicyCompiler.Compile([Web, changed]), compiler.Table);
        var plan = NftDiff.Plan(compiler.Table, before).Transaction.Render();
        Assert.Contains("limit rate over 3000/second burst 300 packets drop", plan);
        Assert.DoesNotContain("cali-from-wl", plan);
        Assert.DoesNotContain("chain inet calico cali-pe-", plan);
        Assert.DoesNotContain("cali-sg-", plan);

        var without = Port();
        compiler.Apply(new DesiredChange(without.Key, without));
        Assert.Equal(PolicyCompiler.Compile([Web, without]), compiler.Table);
        Assert.DoesNotContain(compiler.Table.Chains.Keys, c => c.StartsWith("cali-rl-", StringComparison.Ordinal));

        compiler.Apply(new DesiredChange(changed.Key, changed));
        compiler.Apply(new DesiredChange(changed.Key, null));
        Assert.Equal(PolicyCompiler.Compile([Web]), compiler.Table);
    }

    [Fact]
    public void Interface_names_nft_would_not_take_in_a_chain_name_are_hashed()
    {
        Assert.Equal("cali-rl-tap1234abcd-ef-e", PolicyNames.PacketRateLimit("tap1234abcd-ef", fromWorkload: true));
        Assert.Equal("cali-rl-" + PolicyNames.Hash("tap@x") + "-i", PolicyNames.PacketRateLimit("tap@x", fromWorkload: false));
    }
}
