using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Api.Quotas;
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
internal sealed class SecurityGroupRuleEndpoints(ResourceStore store, SecurityGroupEndpoints groups, ProjectQuotas quotas)
    : IReadableCollection, IBulkCreatableCollection
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

    public string Singular => "security_group_rule";

    public async Task<JsonObject> CreateAsync(HttpContext http, RequestObject body) => (await AddAsync(http, [body], bulk: false))[0];

    public Task<IReadOnlyList<JsonObject>> CreateAllAsync(HttpContext http, IReadOnlyList<RequestObject> items) => AddAsync(http, items, bulk: true);

    /// <summary>
    /// Adds the rules: all checked first, then each group's rules in one write, so a list of rules for one group (the
    /// usual bulk) is stored all at once or not at all. A list spanning groups writes them one after the other, and
    /// takes back the groups already written if a later one refuses.
    /// </summary>
    private async Task<IReadOnlyList<JsonObject>> AddAsync(HttpContext http, IReadOnlyList<RequestObject> items, bool bulk)
    {
        var caller = Caller.Of(http);
        Exception Refused(Exception e, int i, IReadOnlyList<string>? left = null) => bulk ? BulkCreates.ItemRefused(e, "security_group_rules", i, left ?? []) : e;
        var rules = new List<(string GroupId, SecurityGroupRule Rule)>(items.Count);
        var projects = new List<string>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            try
            {
                var (groupId, project, rule) = await ParseAsync(caller, items[i]);
                if (rules.FindIndex(r => r.GroupId == groupId && r.Rule.SameMatchAs(rule)) is >= 0)
                    throw ApiException.Conflict("DuplicateSecurityGroupRuleInPost", "Duplicate Security Group Rule in POST.");
                rules.Add((groupId, rule));
                projects.Add(project);
            }
            catch (Exception e)
            {
                throw Refused(e, i);
            }
        }
        // Each project's rules are counted against its quota at once (the refusal names its first rule).
        foreach (var project in projects.Distinct())
        {
            var first = projects.IndexOf(project);
            try
            {
                await quotas.EnsureRoomAsync(project, "security_group_rule", projects.Count(p => p == project), http.RequestAborted);
            }
            catch (Exception e)
            {
                throw Refused(e, first);
            }
        }
        var stored = new Dictionary<string, Versioned<SecurityGroup>>();
        foreach (var groupId in rules.Select(r => r.GroupId).Distinct())
        {
            var adding = rules.Where(r => r.GroupId == groupId).Select(r => r.Rule).ToList();
            try
            {
                stored[groupId] = await Writes.UpdateAsync(store.Grains.GetGrain<ISecurityGroupGrain>(groupId), current =>
                {
                    var group = current is not null && caller.CanSee(current.Value.ProjectId) ? current.Value : throw SecurityGroupEndpoints.NotFound(groupId);
                    foreach (var rule in adding)
                    {
                        if (group.Rules.FirstOrDefault(r => r.SameMatchAs(rule)) is { } existing)
                            throw new RuleRefusedException(rule.Id, ApiException.Conflict("SecurityGroupRuleExists", $"Security group rule already exists. Rule id is {existing.Id}."));
                    }
                    return Task.FromResult(group with { Rules = group.Rules.Concat(adding).ToValueList() });
                });
            }
            catch (Exception e)
            {
                var (refused, index) = e is RuleRefusedException r ? (r.Refusal, rules.FindIndex(x => x.Rule.Id == r.RuleId))
                    : (e, rules.FindIndex(x => x.GroupId == groupId));
                var left = new List<string>();
                foreach (var (written, group) in stored)
                {
                    var ids = rules.Where(x => x.GroupId == written).Select(x => x.Rule.Id).ToHashSet();
                    try
                    {
                        await Writes.UpdateAsync(store.Grains.GetGrain<ISecurityGroupGrain>(written), current => Task.FromResult(current is null ? group.Value
                            : current.Value with { Rules = current.Value.Rules.Where(x => !ids.Contains(x.Id)).ToValueList() }));
                    }
                    catch (Exception)
                    {
                        left.AddRange(ids);
                    }
                }
                throw Refused(refused, index, left);
            }
        }
        return [.. rules.Select(r => SecurityGroupJson.RenderRule(stored[r.GroupId], r.Rule))];
    }

    /// <summary>One rule of a request, checked against its group (which must be visible, as must a remote group).</summary>
    private async Task<(string GroupId, string ProjectId, SecurityGroupRule Rule)> ParseAsync(Caller caller, RequestObject body)
    {
        body.Accept(SecurityGroupJson.RuleCreatable, SecurityGroupJson.RuleAttributes, update: false);
        var groupId = body.Id("security_group_id") ?? throw RequestObject.Invalid("security_group_id", "is required");
        var target = await groups.GetVisibleAsync(caller, groupId);
        // A rule belongs to its group's project; naming another one is a mistake worth saying.
        var named = body.Has("project_id") || body.Has("tenant_id");
        if (named && Projects.ForCreate(caller, body) != target.Value.ProjectId)
            throw ApiException.BadRequest($"A rule belongs to its security group's project ({target.Value.ProjectId}).");
        var rule = SecurityGroupJson.ParseRule(body, Ids.New());
        if (rule.RemoteGroupId is { } remote && remote != groupId) await groups.GetVisibleAsync(caller, remote);
        return (groupId, target.Value.ProjectId, rule);
    }

    /// <summary>A rule of a bulk list refused while its group was written: which one, and why.</summary>
    private sealed class RuleRefusedException(string ruleId, ApiException refusal) : Exception(refusal.Message)
    {
        public string RuleId { get; } = ruleId;

        public ApiException Refusal { get; } = refusal;
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
