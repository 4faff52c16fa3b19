using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Collections;
using Calico.Model.Resources;

namespace Calico.Api.SecurityGroups;

/// <summary>
/// /v2.0/security-group-rules. A rule is part of its group's record, so adding or removing one is a
/// read-modify-write of the group with its revision as precondition: concurrent rule changes never lose each other,
/// and a duplicate added concurrently is caught on the retry.
/// </summary>
internal sealed class SecurityGroupRuleEndpoints(ResourceStore store, RequestBody bodies, SecurityGroupEndpoints groups)
    : IReadableCollection, ICreatableCollection, IDeletableCollection
{
    public static ApiException NotFound(string id) => ApiException.NotFound("SecurityGroupRuleNotFound", $"Security group rule {id} does not exist.");

    public async Task<IResult> ListAsync(HttpContext http)
    {
        var caller = Caller.Of(http);
        var query = new ListQuery(http.Request.Query, SecurityGroupJson.RuleAttributes);
        var all = await store.ListAsync<SecurityGroup>(GrainTypes.SecurityGroup, http.RequestAborted);
        return NeutronResults.List(http, "security_group_rules", all.Where(g => caller.CanSee(g.Value.ProjectId))
            .SelectMany(g => g.Value.Rules.Select(r => SecurityGroupJson.RenderRule(g, r))), query);
    }

    public async Task<IResult> ShowAsync(HttpContext http, string id)
    {
        var (group, rule) = await FindAsync(Caller.Of(http), id, http.RequestAborted);
        return NeutronResults.One("security_group_rule", new ListQuery(http.Request.Query, SecurityGroupJson.RuleAttributes)
            .Project(SecurityGroupJson.RenderRule(group, rule)));
    }

    public async Task<IResult> CreateAsync(HttpContext http)
    {
        var caller = Caller.Of(http);
        var body = await bodies.ReadAsync(http, "security_group_rule");
        body.Accept(SecurityGroupJson.RuleCreatable, SecurityGroupJson.RuleAttributes, update: false);
        var groupId = body.Id("security_group_id") ?? throw RequestObject.Invalid("security_group_id", "is required");
        var target = await groups.GetVisibleAsync(caller, groupId);
        // A rule belongs to its group's project; naming another one is a mistake worth saying.
        var named = body.Has("project_id") || body.Has("tenant_id");
        if (named && Projects.ForCreate(caller, body) != target.Value.ProjectId)
            throw ApiException.BadRequest($"A rule belongs to its security group's project ({target.Value.ProjectId}).");
        var rule = SecurityGroupJson.ParseRule(body, Ids.New());
        if (rule.RemoteGroupId is { } remote && remote != groupId) await groups.GetVisibleAsync(caller, remote);
        var stored = await Writes.UpdateAsync(store.Grains.GetGrain<ISecurityGroupGrain>(groupId), current =>
        {
            var group = current is not null && caller.CanSee(current.Value.ProjectId) ? current.Value : throw SecurityGroupEndpoints.NotFound(groupId);
            if (group.Rules.FirstOrDefault(r => r.SameMatchAs(rule)) is { } existing)
                throw ApiException.Conflict("SecurityGroupRuleExists", $"Security group rule already exists. Rule id is {existing.Id}.");
            return Task.FromResult(group with { Rules = group.Rules.Append(rule).ToValueList() });
        });
        return NeutronResults.Created("security_group_rule", SecurityGroupJson.RenderRule(stored, rule));
    }

    public async Task<IResult> DeleteAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var (group, _) = await FindAsync(caller, id, http.RequestAborted);
        await Writes.UpdateAsync(store.Grains.GetGrain<ISecurityGroupGrain>(group.Value.Id), current =>
        {
            if (current is null || !current.Value.Rules.Any(r => r.Id == id)) throw NotFound(id);
            return Task.FromResult(current.Value with { Rules = current.Value.Rules.Where(r => r.Id != id).ToValueList() });
        });
        return Results.NoContent();
    }

    private async Task<(Versioned<SecurityGroup> Group, SecurityGroupRule Rule)> FindAsync(Caller caller, string id, CancellationToken cancellationToken)
    {
        foreach (var group in await store.ListAsync<SecurityGroup>(GrainTypes.SecurityGroup, cancellationToken))
        {
            if (!caller.CanSee(group.Value.ProjectId)) continue;
            if (group.Value.Rules.FirstOrDefault(r => r.Id == id) is { } rule)
            {
                // The catalog found it; the grain has the current revision.
                var current = await groups.GetVisibleAsync(caller, group.Value.Id);
                return (current, current.Value.Rules.FirstOrDefault(r => r.Id == id) ?? throw NotFound(id));
            }
        }
        throw NotFound(id);
    }
}
