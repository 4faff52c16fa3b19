using Calico.Api.Http;
using Calico.Grains;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Api.SecurityGroups;

/// <summary>Security groups and rules as Neutron shows them. A rule is stored inside its group and shares its revision.</summary>
internal static class SecurityGroupJson
{
    public static readonly IReadOnlySet<string> GroupAttributes = new HashSet<string>(StandardAttributes.Names)
    {
        "name", "security_group_rules", "stateful", "shared",
    };

    public static readonly IReadOnlySet<string> GroupUpdatable = new HashSet<string> { "name", "description", "stateful" };

    public static readonly IReadOnlySet<string> GroupCreatable = new HashSet<string>(GroupUpdatable.Concat(Projects.Attributes));

    public static readonly IReadOnlySet<string> RuleAttributes = new HashSet<string>(StandardAttributes.Names)
    {
        "security_group_id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max",
        "remote_ip_prefix", "remote_group_id", "remote_address_group_id",
    };

    public static readonly IReadOnlySet<string> RuleCreatable = new HashSet<string>(Projects.Attributes)
    {
        "security_group_id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max",
        "remote_ip_prefix", "remote_group_id", "description",
    };

    public static JsonObject RenderGroup(Versioned<SecurityGroup> stored)
    {
        var g = stored.Value;
        var json = StandardAttributes.Render(stored, g.Id, g.ProjectId, g.Description);
        json["name"] = g.Name;
        json["stateful"] = g.Stateful;
        json["shared"] = false;
        json["security_group_rules"] = StandardAttributes.Array(g.Rules.Select(r => (JsonNode)RenderRule(stored, r)));
        return json;
    }

    public static JsonObject RenderRule(Versioned<SecurityGroup> group, SecurityGroupRule r)
    {
        var json = StandardAttributes.Render(group, r.Id, group.Value.ProjectId, r.Description);
        json.Remove("tags");
        json["security_group_id"] = group.Value.Id;
        json["direction"] = r.Direction == RuleDirection.Ingress ? "ingress" : "egress";
        json["ethertype"] = r.EtherType == EtherType.IPv6 ? "IPv6" : "IPv4";
        json["protocol"] = r.ProtocolName ?? (r.Protocol is { } p ? IpProtocols.Name(p) : null);
        json["port_range_min"] = r.PortRangeMin;
        json["port_range_max"] = r.PortRangeMax;
        json["remote_ip_prefix"] = r.RemoteIpPrefix?.ToString();
        json["remote_group_id"] = r.RemoteGroupId;
        json["remote_address_group_id"] = null;
        return json;
    }

    /// <summary>
    /// A new rule from a request (Neutron's defaults: ethertype IPv4, any protocol, any address), refused with
    /// Neutron's own exception names and wording, which clients match on (Tempest looks for "Invalid value for port",
    /// "Conflicting value ethertype", ...).
    /// </summary>
    public static SecurityGroupRule ParseRule(RequestObject body, string id)
    {
        var direction = body.String("direction") switch
        {
            "ingress" => RuleDirection.Ingress,
            "egress" => RuleDirection.Egress,
            null => throw RequestObject.Invalid("direction", "is required ('ingress' or 'egress')"),
            var d => throw RequestObject.Invalid("direction", $"'{d}' is not 'ingress' or 'egress'"),
        };
        var etherType = body.String("ethertype") switch
        {
            null => EtherType.IPv4,
            var e when e.Equals("IPv4", StringComparison.OrdinalIgnoreCase) => EtherType.IPv4,
            var e when e.Equals("IPv6", StringComparison.OrdinalIgnoreCase) => EtherType.IPv6,
            var e => throw RequestObject.Invalid("ethertype", $"'{e}' is not 'IPv4' or 'IPv6'"),
        };
        var protocolName = ProtocolName(body);
        if (!SecurityGroupRule.TryResolveProtocol(protocolName, etherType, out var protocol, out _))
            throw ApiException.BadRequest($"Security group rule protocol {protocolName} not supported. Only protocol values " +
                "[None, 'tcp', 'udp', 'icmp', ...] and their integer representation (0 to 255) are supported.", "SecurityGroupRuleInvalidProtocol");
        var min = Port(body, "port_range_min");
        var max = Port(body, "port_range_max");
        CheckPorts(protocolName, protocol, min, max);
        var prefix = body.Prefix("remote_ip_prefix", nullable: true);
        if (prefix is { } p && p.Version != (int)etherType)
            throw ApiException.BadRequest($"Conflicting value ethertype {etherType} for CIDR {p}", "SecurityGroupRuleParameterConflict");
        if (protocol == IpProtocols.Icmpv6 && etherType == EtherType.IPv4)
            throw ApiException.BadRequest($"Invalid ethertype {etherType} for protocol {protocolName}.", "SecurityGroupEthertypeConflictWithProtocol");
        var remoteGroup = body.Id("remote_group_id", nullable: true);
        if (prefix is not null && remoteGroup is not null)
            throw ApiException.BadRequest("Only remote_ip_prefix or remote_group_id may be provided.", "SecurityGroupRemoteGroupAndRemoteIpPrefix");
        return new SecurityGroupRule(id, direction, etherType, protocol, min, max, prefix, remoteGroup, body.String("description") ?? "",
            protocol is null ? null : protocolName);
    }

    /// <summary>A port bound: an integer 0..65535 (or its text), or null.</summary>
    private static int? Port(RequestObject body, string name)
    {
        if (!body.Has(name) || body.IsNull(name)) return null;
        var node = body.Body[name]!;
        var text = node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node.ToJsonString();
        return int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var port)
            && port is >= 0 and <= 65535
            ? port
            : throw ApiException.BadRequest($"Invalid value for port {text}", "SecurityGroupInvalidPortValue");
    }

    /// <summary>Neutron's rules for port ranges: both bounds for port protocols, type and code for ICMP, none otherwise.</summary>
    private static void CheckPorts(string? protocolName, int? protocol, int? min, int? max)
    {
        if (min is null && max is null) return;
        if (protocol is null)
            throw ApiException.BadRequest("Must also specify protocol if port range is given.", "SecurityGroupProtocolRequiredWithPorts");
        if (protocol is IpProtocols.Tcp or IpProtocols.Udp or IpProtocols.Sctp or IpProtocols.UdpLite or IpProtocols.Dccp)
        {
            if (min == 0 || max == 0) throw ApiException.BadRequest("Invalid value for port 0", "SecurityGroupInvalidPortValue");
            if (min is null || max is null || min > max)
                throw ApiException.BadRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max", "SecurityGroupInvalidPortRange");
            return;
        }
        if (protocol is IpProtocols.Icmp or IpProtocols.Icmpv6)
        {
            foreach (var (value, attribute, field) in new[] { (min, "port_range_min", "type"), (max, "port_range_max", "code") })
            {
                if (value is > 255)
                    throw ApiException.BadRequest($"Invalid value for ICMP {field} ({attribute}) {value}. It must be 0 to 255.", "SecurityGroupInvalidIcmpValue");
            }
            if (min is null)
                throw ApiException.BadRequest($"ICMP code (port-range-max) {max} is provided but ICMP type (port-range-min) is missing.", "SecurityGroupMissingIcmpType");
            return;
        }
        throw ApiException.BadRequest($"Invalid protocol {protocolName} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.",
            "SecurityGroupInvalidProtocolForPortRange");
    }

    /// <summary>
    /// The protocol as Neutron keeps it: a name in lower case, a number (sent as a JSON number or as text) as its
    /// decimal text; null for any protocol (absent, null, "any" or empty).
    /// </summary>
    private static string? ProtocolName(RequestObject body)
    {
        if (!body.Has("protocol") || body.IsNull("protocol")) return null;
        var text = body.Body["protocol"] is JsonValue v && v.TryGetValue<int>(out var n) ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : body.String("protocol")!;
        if (text.Length == 0 || text.Equals("any", StringComparison.OrdinalIgnoreCase)) return null;
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n)
            ? n.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : text.ToLowerInvariant();
    }
}
