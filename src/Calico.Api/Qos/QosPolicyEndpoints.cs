using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Api.Tags;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.AspNetCore.Routing;

namespace Calico.Api.Qos;

/// <summary>
/// /v2.0/qos/policies, their rules (/v2.0/qos/policies/{id}/bandwidth_limit_rules, …/packet_rate_limit_rules) and
/// /v2.0/qos/rule-types. A policy's grain holds it with its rules, so a rule change is a write of the policy (its
/// revision grows). As in Neutron's default policy, only admins create, change and delete policies and rules; a
/// policy is visible to its project, or to all when shared. A port's effective policy (its own, else its network's)
/// reaches the port's host in its interface item.
/// </summary>
internal sealed class QosPolicyEndpoints(ResourceStore store, RequestBody bodies, References references)
    : IReadableCollection, ITaggableCollection<QosPolicy>, ICreatableCollection, IUpdatableCollection, IDeletableCollection
{
    public static ApiException NotFound(string id) => ApiException.NotFound("QosPolicyNotFound", $"QoS policy {id} could not be found.");

    public IResourceGrain<QosPolicy> Grain(string id) => store.Grains.GetGrain<IQosPolicyGrain>(id);

    public string ProjectOf(QosPolicy value) => value.ProjectId;

    private static bool IsVisible(Caller caller, QosPolicy policy) => caller.CanSee(policy.ProjectId) || policy.Shared;

    public async Task<Versioned<QosPolicy>> GetVisibleAsync(Caller caller, string id) =>
        await store.Grains.GetGrain<IQosPolicyGrain>(id).GetAsync() is { } policy && IsVisible(caller, policy.Value) ? policy : throw NotFound(id);

    public async Task<IResult> ListAsync(HttpContext http)
    {
        var caller = Caller.Of(http);
        var query = new ListQuery(http.Request.Query, QosJson.Attributes);
        var all = await store.ListAsync<QosPolicy>(GrainTypes.QosPolicy, http.RequestAborted);
        return NeutronResults.List(http, "policies", all.Where(p => IsVisible(caller, p.Value)).Select(QosJson.Render), query);
    }

    public async Task<IResult> ShowAsync(HttpContext http, string id) =>
        NeutronResults.One("policy", new ListQuery(http.Request.Query, QosJson.Attributes).Project(QosJson.Render(await GetVisibleAsync(Caller.Of(http), id))));

    public string Singular => "policy";

    public async Task<JsonObject> CreateAsync(HttpContext http, RequestObject body)
    {
        var caller = Caller.Of(http);
        body.Accept(QosJson.Creatable, QosJson.Attributes, update: false);
        Projects.RequireAdmin(caller, "Creating a QoS policy");
        var policy = QosJson.Apply(body, new QosPolicy(Ids.New(), "", Projects.ForCreate(caller, body), ValueList<QosRule>.Empty)).EnsureValid();
        var tags = body.Tags();
        await RefuseSecondDefaultAsync(policy, http.RequestAborted);
        return QosJson.Render(await store.Grains.GetGrain<IQosPolicyGrain>(policy.Id).CreateAsync(policy, tags));
    }

    public async Task<IResult> UpdateAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var body = await bodies.ReadAsync(http, "policy");
        body.Accept(QosJson.Updatable, QosJson.Attributes, update: true);
        var stored = await Writes.UpdateAsync(store.Grains.GetGrain<IQosPolicyGrain>(id), async current =>
        {
            var policy = current is not null && IsVisible(caller, current.Value) ? current.Value : throw NotFound(id);
            Projects.RequireAdmin(caller, "Changing a QoS policy");
            var next = QosJson.Apply(body, policy).EnsureValid();
            await RefuseSecondDefaultAsync(next, http.RequestAborted);
            return next;
        });
        return NeutronResults.One("policy", QosJson.Render(stored));
    }

    /// <summary>Refused with 409 QosPolicyInUse while a port or network names the policy (checked before and after, see References).</summary>
    public async Task<IResult> DeleteAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var policy = await GetVisibleAsync(caller, id);
        Projects.RequireAdmin(caller, "Deleting a QoS policy");
        await references.DeleteUnlessUsedAsync(store.Grains.GetGrain<IQosPolicyGrain>(id), policy, async () =>
        {
            var port = (await store.ListAsync<WorkloadEndpoint>(GrainTypes.Endpoint, http.RequestAborted)).FirstOrDefault(p => p.Value.QosPolicyId == id);
            if (port is not null) return InUse(id, "port", port.Value.Id);
            var network = (await store.ListAsync<Network>(GrainTypes.Network, http.RequestAborted)).FirstOrDefault(n => n.Value.QosPolicyId == id);
            return network is not null ? InUse(id, "network", network.Value.Id) : null;
        });
        return Results.NoContent();
    }

    private static ApiException InUse(string policyId, string type, string objectId) =>
        ApiException.Conflict("QosPolicyInUse", $"QoS Policy {policyId} is used by {type} {objectId}.");

    /// <summary>Neutron's qos-default: at most one default policy per project.</summary>
    private async Task RefuseSecondDefaultAsync(QosPolicy policy, CancellationToken cancellationToken)
    {
        if (!policy.IsDefault) return;
        if ((await store.ListAsync<QosPolicy>(GrainTypes.QosPolicy, cancellationToken))
            .Any(p => p.Value.IsDefault && p.Value.Id != policy.Id && p.Value.ProjectId == policy.ProjectId))
            throw ApiException.Conflict("QoSPolicyDefaultAlreadyExists", $"A default QoS policy exists for project {policy.ProjectId}.");
    }

    /// <summary>The project's default policy (qos-default), which a network created without qos_policy_id gets; null if none.</summary>
    public async Task<string?> DefaultForAsync(string projectId, CancellationToken cancellationToken) =>
        (await store.ListAsync<QosPolicy>(GrainTypes.QosPolicy, cancellationToken))
            .Where(p => p.Value.IsDefault && p.Value.ProjectId == projectId).Select(p => p.Value.Id).Order(StringComparer.Ordinal).FirstOrDefault();

    /// <summary>
    /// The <c>qos_policy_id</c> a network or port request names, checked to exist and be visible; null when absent or
    /// null. The writer checks again after storing (see <see cref="References"/>).
    /// </summary>
    public async Task<string?> RequestedAsync(Caller caller, RequestObject body)
    {
        if (body.Id("qos_policy_id", nullable: true) is not { } id) return null;
        await GetVisibleAsync(caller, id);
        return id;
    }

    // ---- Rules ----

    public void MapRules(RouteGroupBuilder api)
    {
        foreach (var kind in QosJson.RuleKinds)
        {
            var all = $"/qos/policies/{{id}}/{kind.Collection}";
            var one = all + "/{ruleId}";
            api.MapGet(all, async (HttpContext h, string id) =>
            {
                var policy = await GetVisibleAsync(Caller.Of(h), Existing(id));
                var query = new ListQuery(h.Request.Query, kind.Attributes);
                return NeutronResults.List(h, kind.Collection, policy.Value.Rules.Where(r => r.Type == kind.Type).Select(r => QosJson.RenderRule(id, r)), query);
            });
            api.MapGet(one, async (HttpContext h, string id, string ruleId) =>
            {
                var policy = await GetVisibleAsync(Caller.Of(h), Existing(id));
                var rule = policy.Value.Rules.FirstOrDefault(r => r.Id == ruleId && r.Type == kind.Type) ?? throw kind.NotFound(ruleId, id);
                return NeutronResults.One(kind.Singular, new ListQuery(h.Request.Query, kind.Attributes).Project(QosJson.RenderRule(id, rule)));
            });
            api.MapPost(all, async (HttpContext h, string id) =>
            {
                var body = await bodies.ReadAsync(h, kind.Singular);
                body.Accept(kind.Updatable, kind.Attributes, update: false);
                var ruleId = Ids.New();
                var rule = QosJson.ApplyRule(body, kind, null, ruleId);
                var stored = await ChangeRulesAsync(h, Existing(id), rules => [.. rules, Unique(id, rules, rule)]);
                return NeutronResults.Created(kind.Singular, QosJson.RenderRule(id, stored.Value.Rules.First(r => r.Id == ruleId)));
            });
            api.MapPut(one, async (HttpContext h, string id, string ruleId) =>
            {
                var body = await bodies.ReadAsync(h, kind.Singular);
                body.Accept(kind.Updatable, kind.Attributes, update: true);
                var stored = await ChangeRulesAsync(h, Existing(id), rules =>
                {
                    var current = rules.FirstOrDefault(r => r.Id == ruleId && r.Type == kind.Type) ?? throw kind.NotFound(ruleId, id);
                    var next = QosJson.ApplyRule(body, kind, current, ruleId);
                    var others = rules.Where(r => r.Id != ruleId).ToList();
                    Unique(id, others, next);
                    return [.. rules.Select(r => r.Id == ruleId ? next : r)];
                });
                return NeutronResults.One(kind.Singular, QosJson.RenderRule(id, stored.Value.Rules.First(r => r.Id == ruleId)));
            });
            api.MapDelete(one, async (HttpContext h, string id, string ruleId) =>
            {
                await ChangeRulesAsync(h, Existing(id), rules =>
                    rules.Any(r => r.Id == ruleId && r.Type == kind.Type) ? [.. rules.Where(r => r.Id != ruleId)] : throw kind.NotFound(ruleId, id));
                return Results.NoContent();
            });
        }
        api.MapGet("/qos/rule-types", (HttpContext h) => NeutronResults.List(h, "rule_types",
            QosJson.RuleKinds.Select(k => new JsonObject { ["type"] = k.Type }), new ListQuery(h.Request.Query, RuleTypeAttributes)));
        api.MapGet("/qos/rule-types/{type}", (string type) =>
            QosJson.RuleKinds.FirstOrDefault(k => k.Type == type) is { } kind
                ? NeutronResults.One("rule_type", RuleTypeDetails(kind))
                : throw ApiException.NotFound("QosRuleTypeNotFound", $"QoS rule type {type} could not be found."));
    }

    private static readonly IReadOnlySet<string> RuleTypeAttributes = new HashSet<string> { "type", "all_supported", "all_rules" };

    /// <summary>qos-rule-type-details: the one "driver" is Calico's; the dataplane carries the limits (enforcement is its own issue).</summary>
    private static JsonObject RuleTypeDetails(QosJson.RuleKind kind) => new()
    {
        ["type"] = kind.Type,
        ["drivers"] = new JsonArray(new JsonObject
        {
            ["name"] = "calico",
            ["supported_parameters"] = new JsonArray(
                Range(kind.Max), Range(kind.MaxBurst),
                new JsonObject { ["parameter_name"] = "direction", ["parameter_type"] = "choices", ["parameter_values"] = new JsonArray(QosRule.Ingress, QosRule.Egress) }),
        }),
    };

    private static JsonObject Range(string name) => new()
    {
        ["parameter_name"] = name,
        ["parameter_type"] = "range",
        ["parameter_values"] = new JsonObject { ["start"] = 0, ["end"] = QosRule.Largest },
    };

    /// <summary>One rule per type and direction in a policy, as Neutron's database keeps it (409 on a second).</summary>
    private static QosRule Unique(string policyId, IEnumerable<QosRule> others, QosRule rule) =>
        others.Any(r => r.Type == rule.Type && r.Direction == rule.Direction)
            ? throw ApiException.Conflict("NeutronDbObjectDuplicateEntry",
                $"Failed to create a duplicate {QosJson.KindOf(rule).Singular}: for attribute(s) ['qos_policy_id', 'direction'] with value(s) {policyId}, {rule.Direction}")
            : rule;

    /// <summary>Read-modify-write of the policy's rules with its revision as precondition (retried), by an admin.</summary>
    private async Task<Versioned<QosPolicy>> ChangeRulesAsync(HttpContext http, string id, Func<IReadOnlyList<QosRule>, IReadOnlyList<QosRule>> change)
    {
        var caller = Caller.Of(http);
        return await Writes.UpdateAsync(store.Grains.GetGrain<IQosPolicyGrain>(id), current =>
        {
            var policy = current is not null && IsVisible(caller, current.Value) ? current.Value : throw NotFound(id);
            Projects.RequireAdmin(caller, "Changing the rules of a QoS policy");
            return Task.FromResult(policy with { Rules = change(policy.Rules).ToValueList() });
        });
    }

    private static string Existing(string id) => Ids.CanExist(id) ? id : throw NotFound(id);
}
