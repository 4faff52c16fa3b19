using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Dataplane.Linux.Policy;

/// <summary>
/// One Neutron security-group rule as nft rules (usually one; two when its remote group also has prefix members).
/// Ingress rules look at the source (the remote is who sends to the member), egress rules at the destination.
/// An ingress match accepts; an egress match goes on to the destination's side (<see cref="PolicyNames.ForwardToDestination"/>),
/// since a packet between two local workloads must also pass the receiver's ingress rules.
/// </summary>
public static class SecurityGroupRules
{
    /// <summary>The group's chain for one direction, its rules in the group's order.</summary>
    public static NftChain Chain(SecurityGroupPolicyItem group, RuleDirection direction, Func<string, int, bool> hasMemberPrefixes,
        ICollection<string>? problems = null)
    {
        var rules = new List<NftRule>();
        foreach (var rule in group.Rules.Where(r => r.Direction == direction))
        {
            try
            {
                rules.AddRange(Compile(rule, hasMemberPrefixes));
            }
            catch (ArgumentException e)
            {
                // A rule nft cannot express is left out (it allows nothing) and reported; the others still apply.
                problems?.Add($"security group {group.GroupId}, rule {rule.Id}: {e.Message}");
            }
        }
        var name = direction == RuleDirection.Ingress ? PolicyNames.GroupIngress(group.GroupId) : PolicyNames.GroupEgress(group.GroupId);
        return new NftChain(name, rules);
    }

    /// <summary>
    /// The nft rules of one security-group rule. <paramref name="hasMemberPrefixes"/> says whether a remote group's
    /// prefix set exists for a family (it exists only while it holds something).
    /// </summary>
    public static IEnumerable<NftRule> Compile(SecurityGroupRule rule, Func<string, int, bool> hasMemberPrefixes)
    {
        var version = rule.EtherType == EtherType.IPv6 ? 6 : 4;
        var ingress = rule.Direction == RuleDirection.Ingress;
        var remote = (ingress, version) switch
        {
            (true, 4) => NftSelector.Ipv4Source,
            (true, _) => NftSelector.Ipv6Source,
            (false, 4) => NftSelector.Ipv4Destination,
            _ => NftSelector.Ipv6Destination,
        };
        var remotes = new List<NftStatement>();
        if (rule.RemoteGroupId is { } group)
        {
            remotes.Add(new NftSetMatch(remote, PolicyNames.GroupMembers(group, version)));
            if (hasMemberPrefixes(group, version)) remotes.Add(new NftSetMatch(remote, PolicyNames.GroupMemberPrefixes(group, version)));
        }
        else if (rule.RemoteIpPrefix is { Length: > 0 } prefix)
        {
            if (prefix.Version != version) throw new ArgumentException($"remote prefix {prefix} is not IPv{version}");
            remotes.Add(new NftValueMatch(remote, new NftAddress(prefix.ToNetwork())));
        }
        else
        {
            // Any address of the rule's family: the family alone (an inet table sees both).
            remotes.Add(new NftIpVersionMatch(version));
        }
        var protocol = ProtocolMatch(rule, version);
        NftStatement verdict = ingress
            ? new NftVerdictStatement(NftVerdict.Accept)
            : new NftVerdictStatement(NftVerdict.Goto(PolicyNames.ForwardToDestination));
        var comment = Comment(rule.Id);
        return remotes.Select(r => new NftRule([r, .. protocol, verdict], comment)).ToList();
    }

    private static List<NftStatement> ProtocolMatch(SecurityGroupRule rule, int version)
    {
        if (rule.Protocol is not { } number || number == 0) return [];
        if (number is < 0 or > 255) throw new ArgumentException($"protocol {number} is outside 0..255");
        var protocol = (byte)number;
        NftPortRange? ports = null;
        if (rule is { IsIcmp: false, PortRangeMin: { } min, PortRangeMax: { } max })
        {
            if (min is < 1 or > 65535 || max is < 1 or > 65535 || min > max) throw new ArgumentException($"port range {min}-{max} is not within 1..65535");
            ports = new NftPortRange((ushort)min, (ushort)max);
        }
        switch (number)
        {
            case IpProtocols.Tcp or IpProtocols.Udp or IpProtocols.Sctp:
                return ports is { } range ? [new NftPortMatch(protocol, NftPortField.Destination, [range])] : [new NftProtocolMatch(protocol)];
            case IpProtocols.Dccp or IpProtocols.UdpLite:
                return ports is { } other ? [new NftTransportPortMatch(protocol, other)] : [new NftProtocolMatch(protocol)];
            case IpProtocols.Icmp when version == 4:
            case IpProtocols.Icmpv6 when version == 6:
                // Neutron puts the ICMP type in port_range_min and the code in port_range_max.
                if (rule.PortRangeMin is not { } type) return [new NftProtocolMatch(protocol)];
                if (type is < 0 or > 255 || rule.PortRangeMax is < 0 or > 255) throw new ArgumentException($"ICMP type {type} / code {rule.PortRangeMax} outside 0..255");
                return [new NftIcmpMatch(version, (byte)type, rule.PortRangeMax is { } code ? (byte)code : null)];
            default:
                return [new NftProtocolMatch(protocol)];
        }
    }

    /// <summary>"sg-rule ID", cut to what an nft comment holds; only characters nft takes unquoted survive.</summary>
    private static string Comment(string ruleId)
    {
        var safe = new string([.. ruleId.Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':').Take(80)]);
        return safe.Length == 0 ? "sg-rule" : "sg-rule " + safe;
    }
}
