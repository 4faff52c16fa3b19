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
        json["protocol"] = r.Protocol is { } p ? IpProtocols.Name(p) : null;
        json["port_range_min"] = r.PortRangeMin;
        json["port_range_max"] = r.PortRangeMax;
        json["remote_ip_prefix"] = r.RemoteIpPrefix?.ToString();
        json["remote_group_id"] = r.RemoteGroupId;
        json["remote_address_group_id"] = null;
        return json;
    }

    /// <summary>A new rule from a request (Neutron's defaults: ethertype IPv4, any protocol, any address).</summary>
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
            null or "IPv4" => EtherType.IPv4,
            "IPv6" => EtherType.IPv6,
            var e => throw RequestObject.Invalid("ethertype", $"'{e}' is not 'IPv4' or 'IPv6'"),
        };
        var protocolText = ProtocolText(body);
        if (!IpProtocols.TryParse(protocolText, out var protocol, out var error)) throw RequestObject.Invalid("protocol", error);
        return new SecurityGroupRule(id, direction, etherType, protocol,
            body.Int("port_range_min", nullable: true), body.Int("port_range_max", nullable: true),
            body.Prefix("remote_ip_prefix", nullable: true), body.Id("remote_group_id", nullable: true),
            body.String("description") ?? "");
    }

    /// <summary>The protocol may be a name, a number, or a number sent as a JSON number.</summary>
    private static string? ProtocolText(RequestObject body)
    {
        if (!body.Has("protocol") || body.IsNull("protocol")) return null;
        return body.Body["protocol"] is JsonValue v && v.TryGetValue<int>(out var n) ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : body.String("protocol");
    }
}
