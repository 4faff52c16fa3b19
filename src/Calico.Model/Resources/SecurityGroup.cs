using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

public enum RuleDirection { Ingress, Egress }

public enum EtherType { IPv4 = 4, IPv6 = 6 }

/// <summary>
/// One Neutron security-group rule. As in Neutron, for ICMP the port range fields carry the type
/// (<see cref="PortRangeMin"/>) and code (<see cref="PortRangeMax"/>). At most one of remote prefix and
/// remote group is set; neither means any address. <see cref="ProtocolName"/> is the protocol as the request named it
/// (Neutron shows it back unchanged: "17" stays "17", "icmp" with ethertype IPv6 stays "icmp"); only
/// <see cref="Protocol"/>, the number, is compiled (for "icmp" or "1" with IPv6 it is ipv6-icmp's 58, as Neutron's
/// firewall drivers treat that pair).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SecurityGroupRule(
    [property: Id(0)] string Id,
    [property: Id(1)] RuleDirection Direction,
    [property: Id(2)] EtherType EtherType,
    [property: Id(3)] int? Protocol,
    [property: Id(4)] int? PortRangeMin,
    [property: Id(5)] int? PortRangeMax,
    [property: Id(6)] IpPrefix? RemoteIpPrefix,
    [property: Id(7)] string? RemoteGroupId,
    [property: Id(8)] string Description = "",
    [property: Id(9)] string? ProtocolName = null) : IValidatable
{
    public bool IsIcmp => Protocol is IpProtocols.Icmp or IpProtocols.Icmpv6;

    public bool HasPorts => Protocol is IpProtocols.Tcp or IpProtocols.Udp or IpProtocols.Sctp or IpProtocols.UdpLite or IpProtocols.Dccp;

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Id(Id, "id");
        if (!Enum.IsDefined(Direction)) v.Add("direction", "must be 'ingress' or 'egress'");
        if (!Enum.IsDefined(EtherType)) v.Add("ethertype", "must be 'IPv4' or 'IPv6'");
        if (Protocol is < 0 or > 255) v.Add("protocol", $"{Protocol} is outside 0..255");
        if (Protocol == IpProtocols.Icmp && EtherType == EtherType.IPv6)
            v.Add("protocol", "icmp is IPv4-only; use ipv6-icmp with ethertype IPv6");
        if (Protocol == IpProtocols.Icmpv6 && EtherType == EtherType.IPv4)
            v.Add("protocol", "ipv6-icmp needs ethertype IPv6");
        if (ProtocolName is not null && !NameMatchesProtocol())
            v.Add("protocol", $"'{ProtocolName}' does not name protocol {Protocol?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "any"}");
        if (IsIcmp)
        {
            if (PortRangeMin is < 0 or > 255) v.Add("port_range_min", $"ICMP type {PortRangeMin} is outside 0..255");
            if (PortRangeMax is < 0 or > 255) v.Add("port_range_max", $"ICMP code {PortRangeMax} is outside 0..255");
            if (PortRangeMax is not null && PortRangeMin is null) v.Add("port_range_max", "an ICMP code needs an ICMP type (port_range_min)");
        }
        else if (PortRangeMin is not null || PortRangeMax is not null)
        {
            if (!HasPorts) v.Add("protocol", "port ranges need protocol tcp, udp, sctp, udplite or dccp");
            if (PortRangeMin is null || PortRangeMax is null) v.Add("port_range_min", "port_range_min and port_range_max are set together");
            else
            {
                if (PortRangeMin is < 1 or > 65535) v.Add("port_range_min", $"{PortRangeMin} is outside 1..65535");
                if (PortRangeMax is < 1 or > 65535) v.Add("port_range_max", $"{PortRangeMax} is outside 1..65535");
                if (PortRangeMin > PortRangeMax) v.Add("port_range_min", $"{PortRangeMin} is greater than port_range_max {PortRangeMax}");
            }
        }
        if (RemoteIpPrefix is { } prefix && prefix.Version != (int)EtherType)
            v.Add("remote_ip_prefix", $"{prefix} does not match ethertype {EtherType}");
        if (RemoteIpPrefix is not null && RemoteGroupId is not null)
            v.Add("remote_group_id", "remote_ip_prefix and remote_group_id are mutually exclusive");
        if (RemoteGroupId is not null) v.Id(RemoteGroupId, "remote_group_id");
        v.MaxLength(Description, 255, "description");
        return v.Errors;
    }

    /// <summary>The protocol number <paramref name="name"/> stands for with <paramref name="etherType"/>: ICMP with IPv6 is ipv6-icmp.</summary>
    public static bool TryResolveProtocol(string? name, EtherType etherType, out int? protocol, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        if (!IpProtocols.TryParse(name, out protocol, out error)) return false;
        if (protocol == IpProtocols.Icmp && etherType == EtherType.IPv6) protocol = IpProtocols.Icmpv6;
        return true;
    }

    private bool NameMatchesProtocol() => TryResolveProtocol(ProtocolName, EtherType, out var p, out _) && p == Protocol;

    /// <summary>
    /// Two rules that would match the same traffic (Neutron refuses the duplicate with 409): "tcp" and "6" are the
    /// same protocol.
    /// </summary>
    public bool SameMatchAs(SecurityGroupRule other) =>
        this with { Id = other.Id, Description = other.Description, ProtocolName = other.ProtocolName } == other;
}

/// <summary>A security group: a named set of allow rules; traffic an endpoint's groups do not allow is dropped.</summary>
[GenerateSerializer, Immutable]
public sealed record SecurityGroup(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string ProjectId,
    [property: Id(3)] string Description,
    [property: Id(4)] ValueList<SecurityGroupRule> Rules,
    [property: Id(5)] bool Stateful = true) : IValidatable
{
    public IEnumerable<string> RemoteGroupIds => Rules.Select(r => r.RemoteGroupId).OfType<string>().Distinct();

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Id(Id, "id");
        v.MaxLength(Name, 255, "name");
        v.MaxLength(Description, 255, "description");
        for (var i = 0; i < Rules.Count; i++)
        {
            v.Nested(Rules[i].Validate(), $"rules[{i}]");
            for (var j = 0; j < i; j++)
            {
                if (Rules[i].Id == Rules[j].Id) v.Add($"rules[{i}].id", $"duplicates rules[{j}]");
                else if (Rules[i].SameMatchAs(Rules[j])) v.Add($"rules[{i}]", $"matches the same traffic as rules[{j}] ({Rules[j].Id})");
            }
        }
        return v.Errors;
    }
}
