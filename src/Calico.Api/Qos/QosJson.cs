using Calico.Api.Http;
using Calico.Grains;
using Calico.Model.Resources;

namespace Calico.Api.Qos;

/// <summary>QoS policies and their rules as Neutron shows them, and the request attributes that set them.</summary>
internal static class QosJson
{
    public static readonly IReadOnlySet<string> Attributes = new HashSet<string>(StandardAttributes.Names)
    {
        "name", "shared", "is_default", "rules",
    };

    public static readonly IReadOnlySet<string> Updatable = new HashSet<string> { "name", "description", "shared", "is_default" };

    public static readonly IReadOnlySet<string> Creatable = new HashSet<string>(Updatable.Concat(Projects.Attributes));

    /// <summary>One rule type's collection under a policy: its path segment, its singular key and attribute names.</summary>
    public sealed record RuleKind(string Type, string Collection, string Singular, string Max, string MaxBurst)
    {
        public IReadOnlySet<string> Attributes { get; } = new HashSet<string> { "id", Max, MaxBurst, "direction", "qos_policy_id", "type" };

        public IReadOnlySet<string> Updatable { get; } = new HashSet<string> { Max, MaxBurst, "direction" };

        public ApiException NotFound(string ruleId, string policyId) =>
            ApiException.NotFound("QosRuleNotFound", $"QoS rule {ruleId} for policy {policyId} could not be found.");
    }

    public static readonly RuleKind BandwidthLimit = new(QosRule.BandwidthLimit, "bandwidth_limit_rules", "bandwidth_limit_rule", "max_kbps", "max_burst_kbps");

    public static readonly RuleKind PacketRateLimit = new(QosRule.PacketRateLimit, "packet_rate_limit_rules", "packet_rate_limit_rule", "max_kpps", "max_burst_kpps");

    public static readonly IReadOnlyList<RuleKind> RuleKinds = [BandwidthLimit, PacketRateLimit];

    public static RuleKind KindOf(QosRule rule) => RuleKinds.First(k => k.Type == rule.Type);

    public static JsonObject Render(Versioned<QosPolicy> stored)
    {
        var p = stored.Value;
        var json = StandardAttributes.Render(stored, p.Id, p.ProjectId, p.Description);
        json["name"] = p.Name;
        json["shared"] = p.Shared;
        json["is_default"] = p.IsDefault;
        json["rules"] = StandardAttributes.Array(p.Rules.Select(r => (JsonNode)RenderRule(p.Id, r)));
        return json;
    }

    public static JsonObject RenderRule(string policyId, QosRule rule)
    {
        var kind = KindOf(rule);
        return new JsonObject
        {
            ["id"] = rule.Id,
            [kind.Max] = rule.Max,
            [kind.MaxBurst] = rule.MaxBurst,
            ["direction"] = rule.Direction,
            ["qos_policy_id"] = policyId,
            ["type"] = rule.Type,
        };
    }

    public static QosPolicy Apply(RequestObject body, QosPolicy current) => current with
    {
        Name = body.String("name") ?? current.Name,
        Description = body.String("description") ?? current.Description,
        Shared = body.Bool("shared") ?? current.Shared,
        IsDefault = body.Bool("is_default") ?? current.IsDefault,
    };

    /// <summary>A rule from a create (<paramref name="current"/> null: the limit is required, burst 0, direction egress) or an update.</summary>
    public static QosRule ApplyRule(RequestObject body, RuleKind kind, QosRule? current, string id)
    {
        var max = Long(body, kind.Max) ?? current?.Max ?? throw RequestObject.Invalid(kind.Max, "is required");
        var rule = new QosRule(id, kind.Type, max, Long(body, kind.MaxBurst) ?? current?.MaxBurst ?? 0,
            body.String("direction") ?? current?.Direction ?? QosRule.Egress);
        if (rule.Problem() is { } problem) throw RequestObject.Invalid(problem.Field, problem.Reason);
        return rule;
    }

    private static long? Long(RequestObject body, string name) => body.Int(name);
}
