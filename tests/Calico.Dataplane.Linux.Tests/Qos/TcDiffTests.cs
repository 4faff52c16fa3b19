using Calico.Dataplane.Linux.Qos;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Netlink;
using static Calico.Dataplane.Linux.Qos.TcOperationKind;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Qos;

/// <summary>What a port's QoS means in tc terms, and the writes from any kernel state to it: pure, without a kernel.</summary>
public class TcDiffTests
{
    private const string Tap = "tap1234abcd-ef";
    private const string Ifb = "qos1234abcd-ef";
    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(50);
    private static readonly TokenBucket Ten = TapShaping.Bucket(10_000, 1000, 1500, Latency);
    private static readonly TokenBucket Twenty = TapShaping.Bucket(20_000, 1000, 1500, Latency);

    private static WorkloadInterfaceItem Item(params QosRule[] rules) =>
        Interface(Tap, "fa:16:3e:00:00:01", "10.65.0.3") with { Qos = new WorkloadQos("p", rules.ToValueList()) };

    private static QosRule Rule(string type, string direction, long max, long burst = 0) => new($"{type}-{direction}", type, max, burst, direction);

    [Fact]
    public void Neutron_ingress_shapes_towards_the_vm_and_egress_what_the_vm_sends()
    {
        var shaping = TapShaping.For(Item(Rule(QosRule.BandwidthLimit, QosRule.Ingress, 20_000, 1000),
            Rule(QosRule.BandwidthLimit, QosRule.Egress, 10_000, 1000)), Latency);

        Assert.Equal(new TokenBucket(2_500_000, 125_000, 125_000 + 125_000), shaping.ToWorkload);
        Assert.Equal(new TokenBucket(1_250_000, 125_000, 125_000 + 62_500), shaping.FromWorkload);
    }

    [Fact]
    public void A_burst_of_0_is_80_percent_of_the_rate_and_never_below_a_full_frame_and_a_limit_of_0_limits_nothing()
    {
        Assert.Equal(100_000u, TapShaping.Bucket(1_000, 0, 1500, Latency).BurstBytes);     // 800 kbit
        Assert.Equal(1514u, TapShaping.Bucket(1_000, 1, 1500, Latency).BurstBytes);        // 125 bytes would drop every full frame
        Assert.Equal(9014u, TapShaping.Bucket(1_000, 1, 9000, Latency).BurstBytes);
        Assert.True(TapShaping.For(Item(Rule(QosRule.BandwidthLimit, QosRule.Ingress, 0)), Latency).IsNone);
        Assert.True(TapShaping.For(Interface(Tap, "fa:16:3e:00:00:01", "10.65.0.3"), Latency).IsNone);
    }

    [Fact]
    public void Packet_rate_limits_are_left_to_the_policy_component_and_the_bandwidth_limits_apply()
    {
        var shaping = TapShaping.For(Item(Rule(QosRule.PacketRateLimit, QosRule.Egress, 100), Rule(QosRule.BandwidthLimit, QosRule.Egress, 10_000)), Latency);

        Assert.Equal(new TapShaping(null, TapShaping.Bucket(10_000, 0, 1500, Latency)), shaping);
        Assert.True(TapShaping.For(Item(Rule(QosRule.PacketRateLimit, QosRule.Ingress, 100)), Latency).IsNone);
    }

    [Fact]
    public void From_nothing_the_ifb_shapes_before_anything_is_redirected_to_it()
    {
        var ops = TcDiff.Operations(Tap, new TapShaping(Twenty, Ten), new TapTc(5, null, false, null, false), Ifb, null, out var failure);

        Assert.Null(failure);
        Assert.Equal([SetBucket, AddIfb, SetBucket, AddIngress, AddRedirect], ops.Select(o => o.Kind));
        Assert.Equal([Tap, Ifb, Ifb, Tap, Tap], ops.Select(o => o.Device));
        Assert.Equal(Ifb, ops[^1].Target);
        Assert.DoesNotContain(ops, o => o.InPlace);
    }

    [Fact]
    public void What_matches_needs_no_write_even_with_the_kernels_rounding_of_the_burst()
    {
        var (tap, ifb) = Programmed(Twenty with { BurstBytes = Twenty.BurstBytes - 3 }, Ten);

        Assert.Empty(TcDiff.Operations(Tap, new TapShaping(Twenty, Ten), tap, Ifb, ifb, out var failure));
        Assert.Null(failure);
    }

    [Fact]
    public void A_new_rate_changes_our_buckets_in_place()
    {
        var (tap, ifb) = Programmed(Twenty, Ten);

        var ops = TcDiff.Operations(Tap, new TapShaping(Ten, Twenty), tap, Ifb, ifb, out _);

        Assert.Equal([new TcOperation(SetBucket, Tap, Ten, InPlace: true), new TcOperation(SetBucket, Ifb, Twenty, InPlace: true)], ops);
        Assert.StartsWith("change qdisc tbf rate 10Mbit", ops[0].ToString());
    }

    [Fact]
    public void Removal_goes_the_other_way_round_and_the_ifb_goes_last()
    {
        var (tap, ifb) = Programmed(Twenty, Ten);

        var ops = TcDiff.Operations(Tap, TapShaping.None, tap, Ifb, ifb, out _);

        Assert.Equal([DeleteBucket, DeleteRedirect, DeleteIngress, DeleteIfb], ops.Select(o => o.Kind));
    }

    [Fact]
    public void A_root_qdisc_of_someone_else_and_an_ingress_qdisc_with_others_filters_are_left_alone()
    {
        var foreign = new Qdisc(5, TcHandle.Make(1, 0), TcHandle.Root, "htb");
        var tap = new TapTc(5, foreign, true, new TcFilter(5, TcHandle.IngressQdisc, TcDiff.Priority, "u32", 0x80000800, 9), true);

        var ops = TcDiff.Operations(Tap, new TapShaping(Twenty, null), tap, Ifb, new IfbTc(Ifb, 9, true, null), out var failure);

        Assert.Equal($"QoS: the root qdisc htb 1: of {Tap} is not ours; the limit towards the workload is not applied", failure);
        Assert.Equal([DeleteRedirect, DeleteIfb], ops.Select(o => o.Kind));
    }

    [Fact]
    public void A_redirect_to_an_ifb_that_was_recreated_is_replaced_and_a_down_ifb_set_up()
    {
        var (tap, ifb) = Programmed(Twenty, Ten);

        var ops = TcDiff.Operations(Tap, new TapShaping(Twenty, Ten), tap, Ifb, ifb with { Index = 12, Up = false }, out _);

        Assert.Equal([SetIfbUp, DeleteRedirect, AddRedirect], ops.Select(o => o.Kind));
    }

    [Fact]
    public void A_tap_that_is_gone_leaves_only_its_ifb_to_remove()
    {
        var (_, ifb) = Programmed(Twenty, Ten);

        Assert.Equal([new TcOperation(DeleteIfb, Ifb)], TcDiff.Operations(Tap, new TapShaping(Twenty, Ten), null, Ifb, ifb, out _));
    }

    private static (TapTc Tap, IfbTc Ifb) Programmed(TokenBucket toWorkload, TokenBucket fromWorkload) =>
        (new TapTc(5, Qdisc.RootTokenBucket(5, TcDiff.Handle, toWorkload), true,
            new TcFilter(5, TcHandle.IngressQdisc, TcDiff.Priority, "u32", 0x80000800, 9), false),
         new IfbTc(Ifb, 9, true, Qdisc.RootTokenBucket(9, TcDiff.Handle, fromWorkload)));
}
