using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Model.Desired;

namespace Calico.Dataplane.Linux.Policy;

/// <summary>
/// The chains whose rules do not depend on endpoints, groups or members: the base chains (one per hook) and the two
/// shared regular chains. They change only with the settings, the IP pools, or when an interval set of source
/// prefixes comes or goes. Packet path, in hook order:
/// <list type="bullet">
/// <item>raw prerouting (-300, before conntrack): a packet from a workload interface passes only if its interface,
/// MAC and source address are in the anti-spoofing set; admin-down and unknown workloads match nothing there;</item>
/// <item>nat prerouting (dstnat): metadata DNAT, floating IP DNAT (before routing, so a packet for a floating address
/// arriving on the fabric is routed to the workload);</item>
/// <item>filter input: failsafe ports first (non-workload interfaces), then workload-to-host rules;</item>
/// <item>filter forward: the source workload's egress profile, then the destination workload's ingress profile;</item>
/// <item>filter output: failsafe ports, admin-down workloads;</item>
/// <item>nat postrouting (srcnat): nothing between pools; floating IP SNAT; masquerade for outgoing-NAT pools.</item>
/// </list>
/// </summary>
public static class StaticChains
{
    public const int RawPriority = -300;
    public const int DstNatPriority = -100;
    public const int FilterPriority = 0;
    public const int SrcNatPriority = 100;

    public static IEnumerable<NftChain> All(PolicySettings settings, IEnumerable<IpPoolItem> pools, bool sourcePrefixes4, bool sourcePrefixes6) =>
    [
        RawPrerouting(settings, sourcePrefixes4, sourcePrefixes6),
        NatPrerouting(settings),
        NatOutput(),
        NatPostrouting(pools),
        FilterInput(settings),
        WorkloadToHost(settings),
        FilterForward(settings),
        ForwardToDestination(settings),
        FilterOutput(settings),
    ];

    public static NftChain RawPrerouting(PolicySettings settings, bool sourcePrefixes4, bool sourcePrefixes6)
    {
        NftConcatField[] v4 = [NftConcatField.InputInterfaceName, NftConcatField.EtherSource, NftConcatField.Ipv4Source];
        NftConcatField[] v6 = [NftConcatField.InputInterfaceName, NftConcatField.EtherSource, NftConcatField.Ipv6Source];
        var rules = new List<NftRule>
        {
            Rule("not from a workload", Workload(settings, NftSelector.InputInterfaceName, negate: true), Accept),
            Rule("administratively down", new NftSetMatch(NftSelector.InputInterfaceName, PolicyNames.DownWorkloads), new NftVerdictStatement(NftVerdict.Drop)),
            Rule("port security disabled", new NftSetMatch(NftSelector.InputInterfaceName, PolicyNames.UnsecuredWorkloads), Accept),
            Rule("own address and MAC, or an allowed pair", new NftConcatSetMatch(v4, PolicyNames.Sources(4)), Accept),
        };
        if (sourcePrefixes4) rules.Add(Rule("allowed pair (prefix)", new NftConcatSetMatch(v4, PolicyNames.SourcePrefixes(4)), Accept));
        rules.Add(Rule("own address and MAC, or an allowed pair", new NftConcatSetMatch(v6, PolicyNames.Sources(6)), Accept));
        if (sourcePrefixes6) rules.Add(Rule("allowed pair (prefix)", new NftConcatSetMatch(v6, PolicyNames.SourcePrefixes(6)), Accept));
        rules.Add(Rule("DHCP before an address", new NftValueMatch(NftSelector.Ipv4Source, Address("0.0.0.0")),
            new NftPortMatch(17, NftPortField.Source, [68]), new NftPortMatch(17, NftPortField.Destination, [67]), Accept));
        // Router solicitation may also come from :: (RFC 4861 6.3.7), before the link-local address passed DAD.
        rules.Add(Rule("DAD, MLD and router solicitation before an address", new NftValueMatch(NftSelector.Ipv6Source, Address("::")),
            new NftIcmpMatch(6, [133, 135, 143]), Accept));
        rules.Add(Rule("spoofed, unknown or administratively down workload", new NftVerdictStatement(NftVerdict.Drop)));
        return new NftChain(PolicyNames.RawPrerouting, rules, new NftBaseChain(NftChainType.Filter, NftHook.Prerouting, RawPriority));
    }

    public static NftChain NatPrerouting(PolicySettings settings)
    {
        var rules = new List<NftRule>();
        if (settings.MetadataAddress is { } metadata)
        {
            rules.Add(Rule("metadata", Workload(settings, NftSelector.InputInterfaceName),
                new NftValueMatch(NftSelector.Ipv4Destination, new NftAddress(PolicySettings.MetadataServiceAddress)),
                new NftPortMatch(6, NftPortField.Destination, [80]),
                new NftNatToAddress(NftNatKind.Destination, metadata, settings.MetadataPort)));
        }
        rules.Add(Rule("floating IPs", new NftNatByMap(NftNatKind.Destination, 4, PolicyNames.FloatingDnat(4))));
        rules.Add(Rule("floating IPs", new NftNatByMap(NftNatKind.Destination, 6, PolicyNames.FloatingDnat(6))));
        return new NftChain(PolicyNames.NatPrerouting, rules, new NftBaseChain(NftChainType.Nat, NftHook.Prerouting, DstNatPriority));
    }

    /// <summary>The host's own traffic to a floating address of one of its workloads.</summary>
    public static NftChain NatOutput() => new(PolicyNames.NatOutput, new NftBaseChain(NftChainType.Nat, NftHook.Output, DstNatPriority),
        Rule("floating IPs", new NftNatByMap(NftNatKind.Destination, 4, PolicyNames.FloatingDnat(4))),
        Rule("floating IPs", new NftNatByMap(NftNatKind.Destination, 6, PolicyNames.FloatingDnat(6))));

    /// <summary>
    /// Traffic to any pool keeps its addresses (workloads see each other's fixed IPs); traffic leaving the pools from
    /// a fixed IP with a floating IP leaves from the floating IP; other traffic from an outgoing-NAT pool is
    /// masqueraded. Pools are few and change rarely, so they are rules rather than a set (no interval set).
    /// </summary>
    public static NftChain NatPostrouting(IEnumerable<IpPoolItem> pools)
    {
        var ordered = pools.OrderBy(p => p.Cidr.Version).ThenBy(p => new NftAddress(p.Cidr.ToNetwork())).ThenBy(p => p.Name, StringComparer.Ordinal).ToList();
        var rules = new List<NftRule>();
        foreach (var cidr in ordered.Select(p => p.Cidr.Network).Distinct())
        {
            var selector = cidr.Version == 4 ? NftSelector.Ipv4Destination : NftSelector.Ipv6Destination;
            rules.Add(Rule("within the pools", new NftValueMatch(selector, new NftAddress(cidr.ToNetwork())), new NftVerdictStatement(NftVerdict.Return)));
        }
        rules.Add(Rule("floating IPs", new NftNatByMap(NftNatKind.Source, 4, PolicyNames.FloatingSnat(4))));
        rules.Add(Rule("floating IPs", new NftNatByMap(NftNatKind.Source, 6, PolicyNames.FloatingSnat(6))));
        foreach (var cidr in ordered.Where(p => p.OutgoingNat).Select(p => p.Cidr.Network).Distinct())
        {
            var selector = cidr.Version == 4 ? NftSelector.Ipv4Source : NftSelector.Ipv6Source;
            rules.Add(Rule("outgoing NAT", new NftValueMatch(selector, new NftAddress(cidr.ToNetwork())), NftMasquerade.Instance));
        }
        return new NftChain(PolicyNames.NatPostrouting, rules, new NftBaseChain(NftChainType.Nat, NftHook.Postrouting, SrcNatPriority));
    }

    /// <summary>Failsafe ports first, for every interface but workloads', so no workload rule can ever come before them.</summary>
    public static NftChain FilterInput(PolicySettings settings)
    {
        var rules = Failsafe(settings, settings.FailsafeInbound, NftSelector.InputInterfaceName, "failsafe inbound");
        rules.Add(Rule("from a workload", Workload(settings, NftSelector.InputInterfaceName), new NftVerdictStatement(NftVerdict.Goto(PolicyNames.WorkloadToHost))));
        return new NftChain(PolicyNames.FilterInput, rules, new NftBaseChain(NftChainType.Filter, NftHook.Input, FilterPriority));
    }

    public static NftChain WorkloadToHost(PolicySettings settings)
    {
        var rules = new List<NftRule>
        {
            Rule("replies", new NftConnectionStateMatch(NftConnectionStates.Established | NftConnectionStates.Related), Accept),
            Rule("invalid", new NftConnectionStateMatch(NftConnectionStates.Invalid), new NftVerdictStatement(NftVerdict.Drop)),
            Rule("DHCP", new NftPortMatch(17, NftPortField.Source, [68]), new NftPortMatch(17, NftPortField.Destination, [67]), Accept),
            Rule("DHCPv6", new NftPortMatch(17, NftPortField.Source, [546]), new NftPortMatch(17, NftPortField.Destination, [547]), Accept),
            Rule("DNS", new NftPortMatch(17, NftPortField.Destination, [53]), Accept),
            Rule("DNS", new NftPortMatch(6, NftPortField.Destination, [53]), Accept),
            // Router and neighbour solicitations and advertisements, MLD.
            Rule("IPv6 neighbour discovery", new NftIcmpMatch(6, [130, 131, 132, 133, 135, 136, 143]), Accept),
            Rule("metadata", new NftValueMatch(NftSelector.Ipv4Destination, new NftAddress(PolicySettings.MetadataServiceAddress)),
                new NftPortMatch(6, NftPortField.Destination, [80]), Accept),
        };
        if (settings.MetadataAddress is { } metadata)
            rules.Add(Rule("metadata", [.. MetadataAfterDnat(metadata), new NftPortMatch(6, NftPortField.Destination, [settings.MetadataPort]), Accept]));
        foreach (var (protocol, ports) in ByProtocol(settings.WorkloadToHostPorts))
            rules.Add(Rule("Dataplane:WorkloadToHostPorts", new NftPortMatch(protocol, NftPortField.Destination, ports), Accept));
        rules.Add(settings.WorkloadToHost == WorkloadToHostAction.Accept
            ? Rule("Dataplane:WorkloadToHostAction", Accept)
            : Rule("Dataplane:WorkloadToHostAction", new NftVerdictStatement(NftVerdict.Drop)));
        return new NftChain(PolicyNames.WorkloadToHost, rules);
    }

    /// <summary>
    /// Traffic from a workload goes through its profile's egress chain (the dispatch map); traffic to a workload
    /// from elsewhere through the receiver's ingress chain. Workload interfaces that the maps do not know are dropped.
    /// Other forwarded traffic is not ours to judge (policy accept).
    /// </summary>
    public static NftChain FilterForward(PolicySettings settings)
    {
        var rules = new List<NftRule>();
        if (settings.MetadataAddress is { } metadata)
        {
            rules.Add(Rule("metadata", [Workload(settings, NftSelector.InputInterfaceName), .. MetadataAfterDnat(metadata),
                new NftPortMatch(6, NftPortField.Destination, [settings.MetadataPort]), Accept]));
        }
        rules.Add(Rule("egress of the source workload", new NftVerdictMapStatement(NftSelector.InputInterfaceName, PolicyNames.FromWorkload)));
        rules.Add(Rule("unknown workload", Workload(settings, NftSelector.InputInterfaceName), new NftVerdictStatement(NftVerdict.Drop)));
        rules.AddRange(ToDestination(settings));
        return new NftChain(PolicyNames.FilterForward, rules, new NftBaseChain(NftChainType.Filter, NftHook.Forward, FilterPriority));
    }

    /// <summary>Where a packet that its source workload's egress rules allowed goes on.</summary>
    public static NftChain ForwardToDestination(PolicySettings settings) =>
        new(PolicyNames.ForwardToDestination, [.. ToDestination(settings), Rule("allowed", Accept)]);

    public static NftChain FilterOutput(PolicySettings settings)
    {
        var rules = Failsafe(settings, settings.FailsafeOutbound, NftSelector.OutputInterfaceName, "failsafe outbound");
        rules.Add(Rule("administratively down", new NftSetMatch(NftSelector.OutputInterfaceName, PolicyNames.DownWorkloads), new NftVerdictStatement(NftVerdict.Drop)));
        return new NftChain(PolicyNames.FilterOutput, rules, new NftBaseChain(NftChainType.Filter, NftHook.Output, FilterPriority));
    }

    private static IEnumerable<NftRule> ToDestination(PolicySettings settings) =>
    [
        Rule("ingress of the destination workload", new NftVerdictMapStatement(NftSelector.OutputInterfaceName, PolicyNames.ToWorkload)),
        Rule("unknown workload", Workload(settings, NftSelector.OutputInterfaceName), new NftVerdictStatement(NftVerdict.Drop)),
    ];

    private static List<NftRule> Failsafe(PolicySettings settings, IReadOnlyList<HostPort> ports, NftSelector interfaceSelector, string comment) =>
        [.. ByProtocol(ports).Select(p => Rule(comment, Workload(settings, interfaceSelector, negate: true),
            new NftPortMatch(p.Protocol, NftPortField.Destination, p.Ports), Accept))];

    private static IEnumerable<(byte Protocol, List<NftPortRange> Ports)> ByProtocol(IEnumerable<HostPort> ports) =>
        ports.GroupBy(p => p.Protocol).OrderBy(g => g.Key).Select(g => (g.Key, g.Select(p => (NftPortRange)p.Port).Distinct().OrderBy(p => p.First).ToList()));

    /// <summary><c>ct original ip daddr 169.254.169.254 ip daddr M</c>: a metadata request after its DNAT.</summary>
    private static NftStatement[] MetadataAfterDnat(System.Net.IPAddress metadata) =>
    [
        new NftOriginalDestinationMatch(PolicySettings.MetadataServiceAddress),
        new NftValueMatch(NftSelector.Ipv4Destination, new NftAddress(metadata)),
    ];

    private static NftValueMatch Workload(PolicySettings settings, NftSelector selector, bool negate = false) =>
        NftValueMatch.InterfaceName(selector, settings.WorkloadInterfacePrefix + "*", negate);

    private static NftVerdictStatement Accept { get; } = new(NftVerdict.Accept);

    private static NftAddress Address(string text) => new(System.Net.IPAddress.Parse(text));

    private static NftRule Rule(string comment, params NftStatement[] statements) => new(statements, comment);
}
