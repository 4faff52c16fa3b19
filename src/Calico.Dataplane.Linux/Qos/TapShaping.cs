using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Qos;

/// <summary>
/// What a workload's QoS limits mean in tc terms, a pure function of its interface item. Neutron names directions
/// from the VM: <c>ingress</c> (to the VM) leaves the tap on the host's side, so it is shaped by a TBF as the tap's
/// root qdisc; <c>egress</c> (what the VM sends) arrives on the tap, where nothing can queue it, so an ingress qdisc
/// redirects it to an IFB device of its own and a TBF there shapes it. Rates are in kbit/s of 1,000 bits, bursts in
/// kbit; a burst of 0 means 80% of a second at the rate (what Neutron's agents use), and a burst never falls below
/// one full frame (a TBF drops packets larger than its bucket). A limit of 0 limits nothing.
/// Packet-rate limits are not tc's here: the policy component enforces them with nftables (<c>PacketRateLimits</c>).
/// </summary>
public sealed record TapShaping(TokenBucket? ToWorkload, TokenBucket? FromWorkload)
{
    public static readonly TapShaping None = new(null, null);

    /// <summary>Ethernet header on top of the MTU: the largest frame a bucket must hold.</summary>
    private const int FrameOverhead = 14;

    public bool IsNone => ToWorkload is null && FromWorkload is null;

    public static TapShaping For(WorkloadInterfaceItem item, TimeSpan queueLatency)
    {
        if (item.Qos is not { } qos) return None;
        TokenBucket? to = null, from = null;
        foreach (var rule in qos.Rules)
        {
            if (rule.Max <= 0 || rule.Type != QosRule.BandwidthLimit) continue;
            var bucket = Bucket(rule.Max, rule.MaxBurst, item.Mtu, queueLatency);
            if (rule.Direction == QosRule.Ingress) to = bucket;
            else from = bucket;
        }
        return new TapShaping(to, from);
    }

    /// <summary>The TBF for <paramref name="kbps"/> with a burst of <paramref name="burstKbit"/> (0: 80% of the rate).</summary>
    public static TokenBucket Bucket(long kbps, long burstKbit, int mtu, TimeSpan queueLatency)
    {
        var rate = (ulong)kbps * 125;
        var burst = burstKbit > 0 ? (ulong)burstKbit * 125 : (ulong)kbps * 100;
        burst = Math.Clamp(burst, (ulong)Math.Max(mtu, 1280) + FrameOverhead, uint.MaxValue / 2);
        var limit = Math.Min(burst + (ulong)(rate * queueLatency.TotalSeconds), uint.MaxValue);
        return new TokenBucket(rate, (uint)burst, (uint)limit);
    }
}
