using Calico.Model.Collections;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>The resources Neutron counts against a project's quota, with Neutron's own default limits.</summary>
public static class QuotaResources
{
    /// <summary>Name → Neutron's default (-1: unlimited). Routers, subnet pools and RBAC policies exist only to be shown.</summary>
    public static readonly IReadOnlyDictionary<string, int> NeutronDefaults = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["network"] = 100, ["subnet"] = 100, ["port"] = 500, ["security_group"] = 10, ["security_group_rule"] = 100,
        ["floatingip"] = 50, ["router"] = 10, ["subnetpool"] = -1, ["rbac_policy"] = 10,
    };

    public static IEnumerable<string> Names => NeutronDefaults.Keys;
}

/// <summary>One resource's limit in a project: the most it may hold (-1: no limit).</summary>
[GenerateSerializer, Immutable]
public sealed record QuotaLimit([property: Id(0)] string Resource, [property: Id(1)] int Limit);

/// <summary>
/// A project's own limits (Neutron's quotas), those set for it; a resource it names none for has the configured
/// default.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ProjectQuota([property: Id(0)] string ProjectId, [property: Id(1)] ValueList<QuotaLimit> Limits) : IValidatable
{
    public int? LimitOf(string resource) => Limits.FirstOrDefault(l => l.Resource == resource)?.Limit;

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.MaxLength(ProjectId, 255, "project_id");
        v.Require(ProjectId.Length > 0, "project_id", "must not be empty");
        for (var i = 0; i < Limits.Count; i++)
        {
            var (resource, limit) = (Limits[i].Resource, Limits[i].Limit);
            if (!QuotaResources.NeutronDefaults.ContainsKey(resource))
                v.Add(resource, $"is not a quota resource ({string.Join(", ", QuotaResources.Names)})");
            else if (limit < -1) v.Add(resource, $"'{limit}' must be -1 (no limit) or more");
            if (Limits.Take(i).Any(l => l.Resource == resource)) v.Add(resource, "is named twice");
        }
        return v.Errors;
    }
}
