using System.Net;
using System.Net.Sockets;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Cli.Policy;

/// <summary>What a host's desired state says about policy: its workload interfaces, groups, remote-group members, floating IPs and pools.</summary>
public sealed class HostPolicyView
{
    public HostPolicyView(string host, IEnumerable<DesiredItem> items)
    {
        Host = host;
        foreach (var item in items)
        {
            switch (item)
            {
                case WorkloadInterfaceItem i: Interfaces[i.EndpointId] = i; break;
                case SecurityGroupPolicyItem g: Groups[g.GroupId] = g; break;
                case IpSetMembersItem m:
                    if (!Members.TryGetValue(m.GroupId, out var set)) Members[m.GroupId] = set = [];
                    set.UnionWith(m.Members);
                    break;
                case FloatingNatItem f: Floating[f.FloatingAddress] = f; break;
                case IpPoolItem p: Pools.Add(p.Cidr); break;
            }
        }
    }

    public string Host { get; }

    public Dictionary<string, WorkloadInterfaceItem> Interfaces { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, SecurityGroupPolicyItem> Groups { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, HashSet<IpPrefix>> Members { get; } = new(StringComparer.Ordinal);

    public Dictionary<IPAddress, FloatingNatItem> Floating { get; } = [];

    public List<IpPrefix> Pools { get; } = [];

    public bool IsMember(string groupId, IPAddress address) => Members.TryGetValue(groupId, out var m) && m.Any(p => p.Contains(address));
}

/// <summary>A new connection's first packet: addresses as the source workload sends it; Port is the destination port, or the ICMP type.</summary>
public sealed record ExplainPacket(IPAddress Source, IPAddress Destination, int Protocol, int? Port)
{
    public EtherType EtherType => Destination.AddressFamily == AddressFamily.InterNetworkV6 ? EtherType.IPv6 : EtherType.IPv4;

    public override string ToString() =>
        $"{EtherType} {IpProtocols.Name(Protocol)} {Source} -> {Destination}" +
        (Port is { } p ? (Protocol is IpProtocols.Icmp or IpProtocols.Icmpv6 ? $" type {p}" : $" port {p}") : "");
}

/// <summary>One stage of the packet's way through the policy: whether it passed, why, and the rule that decided (if one did).</summary>
public sealed record ExplainStep(string Stage, string Host, bool Passed, string Reason, string? GroupId = null, string? RuleId = null);

public sealed record Explanation(bool Allowed, IReadOnlyList<ExplainStep> Steps)
{
    public ExplainStep Decisive => Allowed ? Steps[^1] : Steps.First(s => !s.Passed);
}

/// <summary>
/// Decides whether a workload's packet would be allowed or dropped, and by which rule or for lack of one, from the
/// desired state of the hosts concerned — the same items the hosts compile into nftables (PolicyCompiler), in the
/// order the kernel meets them: the source's anti-spoofing (raw prerouting), a floating IP's DNAT when the
/// destination is one (on the host that owns it, before routing), the source's egress rules (forward, on its host:
/// they see the destination as the packet carries it there), the source's floating-IP SNAT when the destination is
/// outside the pools, then the destination's ingress rules (forward, on its host: they see the source as it arrives).
/// Security groups allow only; the first rule of a port's groups (in group-id order, rules in order) that matches
/// decides; none matching drops ("no rule of the groups allows it"). A port without port security has no policy of
/// its own; an administratively down port sends and receives nothing. A new connection: replies of one a stateful
/// group allowed pass without a rule. Pure: no I/O.
/// </summary>
public static class PolicyExplainer
{
    public static Explanation Explain(HostPolicyView sourceHost, string sourcePort, HostPolicyView? destinationHost, string? destinationPort,
        ExplainPacket packet)
    {
        var steps = new List<ExplainStep>();
        Explanation Done(bool allowed) => new(allowed, steps);

        if (Usable(sourceHost, sourcePort, "source", "anti-spoofing", "send", steps) is not { } from) return Done(false);
        steps.Add(AntiSpoofing(sourceHost.Host, from, packet.Source));
        if (!steps[^1].Passed) return Done(false);

        var sameHost = destinationHost is not null && destinationHost.Host == sourceHost.Host;
        var destination = packet.Destination;
        var dnat = destinationHost?.Floating.GetValueOrDefault(destination);
        if (dnat is not null && sameHost)
        {
            // Both on one host: its nat prerouting comes before its forward chain.
            steps.Add(new("floating IP", destinationHost!.Host, true, $"{destination} is floating IP {dnat.FloatingIpId}: DNAT to {dnat.FixedAddress}"));
            destination = dnat.FixedAddress;
        }
        steps.Add(Rules(sourceHost, from, RuleDirection.Egress, packet with { Destination = destination }, destination));
        if (!steps[^1].Passed) return Done(false);

        if (destinationPort is null || destinationHost is null)
        {
            steps.Add(new("destination", sourceHost.Host, true, $"{destination} is no port's address: the packet leaves host {sourceHost.Host} by its routes; " +
                                                                  "no Calico ingress rule applies beyond"));
            return Done(true);
        }
        var source = packet.Source;
        if (!sameHost && !destinationHost.Pools.Concat(sourceHost.Pools).Any(p => p.Contains(destination))
            && sourceHost.Floating.Values.FirstOrDefault(f => f.FixedAddress.Equals(source)) is { } snat)
        {
            steps.Add(new("floating IP", sourceHost.Host, true, $"{destination} is outside the pools: SNAT from {source} to its floating IP {snat.FloatingAddress}"));
            source = snat.FloatingAddress;
        }
        if (dnat is not null && !sameHost)
        {
            steps.Add(new("floating IP", destinationHost.Host, true, $"{destination} is floating IP {dnat.FloatingIpId}: DNAT to {dnat.FixedAddress}"));
            destination = dnat.FixedAddress;
        }
        if (Usable(destinationHost, destinationPort, "destination", "ingress", "receive", steps) is not { } to) return Done(false);
        steps.Add(Rules(destinationHost, to, RuleDirection.Ingress, new ExplainPacket(source, destination, packet.Protocol, packet.Port), source));
        return Done(steps[^1].Passed);
    }

    /// <summary>The port's interface on its host, if the host holds it and it is up; otherwise the step that says why not.</summary>
    private static WorkloadInterfaceItem? Usable(HostPolicyView view, string port, string stage, string downStage, string verb, List<ExplainStep> steps)
    {
        if (!view.Interfaces.TryGetValue(port, out var item))
            steps.Add(new(stage, view.Host, false, $"port {port} is not in host {view.Host}'s desired state (not bound there, or not yet computed)"));
        else if (!item.AdminUp)
            steps.Add(new(downStage, view.Host, false, $"port {port} is administratively down: it may {verb} nothing"));
        else return item;
        return null;
    }

    private static ExplainStep AntiSpoofing(string host, WorkloadInterfaceItem from, IPAddress source)
    {
        const string stage = "anti-spoofing";
        if (!from.PortSecurity) return new(stage, host, true, $"port security disabled on {from.EndpointId}: any source address passes");
        if (from.Addresses.Any(a => a.Contains(source))) return new(stage, host, true, $"{source} is port {from.EndpointId}'s own address");
        foreach (var pair in from.AllowedAddressPairs.Where(p => p.IpAddress.Contains(source)))
        {
            if (pair.MacAddress is null || string.Equals(pair.MacAddress, from.MacAddress, StringComparison.OrdinalIgnoreCase))
                return new(stage, host, true, $"{source} is in allowed address pair {pair.IpAddress}");
            return new(stage, host, false, $"{source} is in allowed address pair {pair.IpAddress}, but only from MAC {pair.MacAddress}, not the port's {from.MacAddress}");
        }
        return new(stage, host, false, $"spoofed: {source} is neither an address of port {from.EndpointId} ({string.Join(", ", from.Addresses)}) nor in an allowed address pair");
    }

    private static ExplainStep Rules(HostPolicyView view, WorkloadInterfaceItem port, RuleDirection direction, ExplainPacket packet, IPAddress remote)
    {
        var stage = $"{(direction == RuleDirection.Egress ? "egress" : "ingress")} of {port.EndpointId}";
        if (!port.PortSecurity) return new(stage, view.Host, true, "port security disabled: no security group rules apply");
        var groups = port.SecurityGroupIds.Where(view.Groups.ContainsKey).Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (var groupId in groups)
        {
            foreach (var rule in view.Groups[groupId].Rules.Where(r => r.Direction == direction))
            {
                if (Matches(rule, packet, remote, view)) return new(stage, view.Host, true, $"allowed by security group {groupId} rule {rule.Id}: {Describe(rule)}", groupId, rule.Id);
            }
        }
        var missing = port.SecurityGroupIds.Where(g => !view.Groups.ContainsKey(g)).ToList();
        var what = direction == RuleDirection.Egress ? $"to {remote}" : $"from {remote}";
        var reason = groups.Count == 0
            ? $"dropped: port {port.EndpointId} is in no security group{(missing.Count > 0 ? $" this host knows ({string.Join(", ", missing)} missing)" : "")}, so nothing is allowed"
            : $"dropped: no {(direction == RuleDirection.Egress ? "egress" : "ingress")} rule of security groups {string.Join(", ", groups)} allows " +
              $"{packet.EtherType} {IpProtocols.Name(packet.Protocol)}{PortText(packet)} {what}";
        return new(stage, view.Host, false, reason);
    }

    private static string PortText(ExplainPacket packet) =>
        packet.Port is not { } p ? "" : packet.Protocol is IpProtocols.Icmp or IpProtocols.Icmpv6 ? $" type {p}" : $" port {p}";

    /// <summary>Whether the rule matches, as its nft rule would (SecurityGroupRules.Compile).</summary>
    public static bool Matches(SecurityGroupRule rule, ExplainPacket packet, IPAddress remote, HostPolicyView view)
    {
        if (rule.EtherType != packet.EtherType) return false;
        if (rule.RemoteGroupId is { } group) { if (!view.IsMember(group, remote)) return false; }
        else if (rule.RemoteIpPrefix is { Length: > 0 } prefix && !prefix.Contains(remote)) return false;
        if (rule.Protocol is not { } protocol || protocol == 0) return true;
        if (protocol != packet.Protocol) return false;
        if (rule.IsIcmp) return rule.PortRangeMin is not { } type || (packet.Port == type && (rule.PortRangeMax is null or 0));
        if (rule.HasPorts && rule.PortRangeMin is { } min && rule.PortRangeMax is { } max) return packet.Port is { } port && port >= min && port <= max;
        return true;
    }

    /// <summary>A rule as a line: "ingress IPv4 tcp 22 from 10.0.0.0/8", "egress IPv6 any protocol to remote group web".</summary>
    public static string Describe(SecurityGroupRule rule)
    {
        var protocol = rule.Protocol is { } p and not 0 ? IpProtocols.Name(p) : "any protocol";
        var ports = rule.IsIcmp
            ? rule.PortRangeMin is { } type ? $" type {type}" + (rule.PortRangeMax is { } code ? $" code {code}" : "") : ""
            : rule.PortRangeMin is { } min && rule.PortRangeMax is { } max ? (min == max ? $" {min}" : $" {min}-{max}") : "";
        var remote = rule.RemoteGroupId is { } g ? $"remote group {g}"
            : rule.RemoteIpPrefix is { Length: > 0 } prefix ? prefix.ToString() : "any address";
        return $"{(rule.Direction == RuleDirection.Ingress ? "ingress" : "egress")} {rule.EtherType} {protocol}{ports} " +
               $"{(rule.Direction == RuleDirection.Ingress ? "from" : "to")} {remote}";
    }
}
