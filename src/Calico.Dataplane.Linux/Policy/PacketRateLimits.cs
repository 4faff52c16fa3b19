using System.Globalization;
using Calico.Nftables;
using Calico.Model.Desired;
using Calico.Model.Resources;

namespace Calico.Dataplane.Linux.Policy;

/// <summary>
/// A port's QoS packet-rate limits (Neutron's <c>packet_rate_limit</c> rules) as nftables: per direction, a chain of
/// the endpoint's own that drops what exceeds <c>max_kpps</c> and then takes the verdict its dispatch entry would
/// have taken. nftables rather than tc, because kernels without the police action (CONFIG_NET_ACT_POLICE) cannot
/// police packet rates in tc, while nft's <c>limit</c> is in every kernel with nf_tables. Neutron names directions
/// from the VM: <c>egress</c> is what it sends (dispatched by <c>iifname</c>), <c>ingress</c> what it receives
/// (<c>oifname</c>). Rates are max_kpps × 1,000 packets a second; the burst is max_burst_kpps × 1,000 packets, or a
/// tenth of a second at the rate when 0 (nft's own default, 5 packets, would drop the ordinary jitter of a fast port).
/// A limit of 0 limits nothing. The bandwidth rules are the QoS component's (tc).
/// </summary>
public static class PacketRateLimits
{
    /// <summary>The limit on what the workload sends (egress) and on what it receives (ingress); null where none.</summary>
    public static (NftPacketRateOver? From, NftPacketRateOver? To) Of(WorkloadInterfaceItem endpoint)
    {
        NftPacketRateOver? from = null, to = null;
        foreach (var rule in endpoint.Qos?.Rules ?? [])
        {
            if (rule.Type != QosRule.PacketRateLimit || rule.Max <= 0) continue;
            var rate = rule.Max * 1000;
            var limit = new NftPacketRateOver(rate, rule.MaxBurst > 0 ? rule.MaxBurst * 1000 : Math.Max(rate / 10, 1));
            if (rule.Direction == QosRule.Egress) from = limit;
            else to = limit;
        }
        return (from, to);
    }

    /// <summary>
    /// The verdict the endpoint's dispatch entry takes for one direction: <paramref name="verdict"/> itself without a
    /// limit (or when it drops everything anyway), else a goto to the endpoint's limit chain, added to
    /// <paramref name="chains"/>, which drops the excess and then takes <paramref name="verdict"/>.
    /// </summary>
    public static NftVerdict Wrap(string interfaceName, bool fromWorkload, NftPacketRateOver? limit, NftVerdict verdict, List<NftChain> chains)
    {
        if (limit is null || verdict == NftVerdict.Drop) return verdict;
        var name = PolicyNames.PacketRateLimit(interfaceName, fromWorkload);
        var comment = string.Create(CultureInfo.InvariantCulture,
            $"QoS packet_rate_limit {(fromWorkload ? QosRule.Egress : QosRule.Ingress)} {limit.PacketsPerSecond / 1000} kpps");
        chains.Add(new NftChain(name,
        [
            new NftRule([limit, new NftVerdictStatement(NftVerdict.Drop)], comment),
            new NftRule(new NftVerdictStatement(verdict)),
        ]));
        return NftVerdict.Goto(name);
    }
}
