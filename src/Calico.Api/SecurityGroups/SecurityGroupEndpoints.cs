using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Api.Quotas;
using Calico.Api.Tags;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Api.SecurityGroups;

/// <summary>/v2.0/security-groups.</summary>
internal sealed class SecurityGroupEndpoints(ResourceStore store, RequestBody bodies, DefaultSecurityGroups defaults, References references, ProjectQuotas quotas)
    : IReadableCollection, ITaggableCollection<SecurityGroup>, ICreatableCollection, IUpdatableCollection, IDeletableCollection
{
    public static ApiException NotFound(string id) => ApiException.NotFound("SecurityGroupNotFound", $"Security group {id} does not exist.");

    public IResourceGrain<SecurityGroup> Grain(string id) => store.Grains.GetGrain<ISecurityGroupGrain>(id);

    public string ProjectOf(SecurityGroup value) => value.ProjectId;

    public Task<Versioned<SecurityGroup>> GetVisibleAsync(Caller caller, string id) =>
        store.GetVisibleAsync<ISecurityGroupGrain, SecurityGroup>(caller, id, g => g.ProjectId, NotFound);

    public async Task<IResult> ListAsync(HttpContext http)
    {
        var caller = Caller.Of(http);
        var query = new ListQuery(http.Request.Query, SecurityGroupJson.GroupAttributes);
        await defaults.EnsureAsync(caller.ProjectId);
        var groups = await store.ListAsync<SecurityGroup>(GrainTypes.SecurityGroup, http.RequestAborted);
        return NeutronResults.List(http, "security_groups",
            groups.Where(g => caller.CanSee(g.Value.ProjectId)).Select(SecurityGroupJson.RenderGroup), query);
    }

    public async Task<IResult> ShowAsync(HttpContext http, string id) =>
        NeutronResults.One("security_group", new ListQuery(http.Request.Query, SecurityGroupJson.GroupAttributes)
            .Project(SecurityGroupJson.RenderGroup(await GetVisibleAsync(Caller.Of(http), id))));

    public string Singular => "security_group";

    public async Task<JsonObject> CreateAsync(HttpContext http, RequestObject body)
    {
        var caller = Caller.Of(http);
        body.Accept(SecurityGroupJson.GroupCreatable, SecurityGroupJson.GroupAttributes, update: false);
        var project = Projects.ForCreate(caller, body);
        var name = body.String("name") ?? "";
        if (name == DefaultSecurityGroups.Name)
            throw ApiException.Conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists; every project has exactly one.");
        var id = Ids.New();
        // Like Neutron, a new group lets everything out; what comes in is for the user's rules to say.
        var rules = ValueList.Create<SecurityGroupRule>(
            new(Ids.New(), RuleDirection.Egress, EtherType.IPv4, null, null, null, null, null),
            new(Ids.New(), RuleDirection.Egress, EtherType.IPv6, null, null, null, null, null));
        var group = new SecurityGroup(id, name, project, body.String("description") ?? "", rules, body.Bool("stateful") ?? true).EnsureValid();
        await quotas.EnsureRoomAsync(project, "security_group", 1, http.RequestAborted);
        await quotas.EnsureRoomAsync(project, "security_group_rule", rules.Count, http.RequestAborted);
        // Only a create that will be stored gives a new project its default group: a refused one changes nothing.
        await defaults.EnsureAsync(project);
        var stored = await store.Grains.GetGrain<ISecurityGroupGrain>(id).CreateAsync(group);
        return SecurityGroupJson.RenderGroup(stored);
    }

    public async Task<IResult> UpdateAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var body = await bodies.ReadAsync(http, "security_group");
        body.Accept(SecurityGroupJson.GroupUpdatable, SecurityGroupJson.GroupAttributes, update: true);
        var stored = await Writes.UpdateAsync(store.Grains.GetGrain<ISecurityGroupGrain>(id), current =>
        {
            var group = current is not null && caller.CanSee(current.Value.ProjectId) ? current.Value : throw NotFound(id);
            var name = body.String("name") ?? group.Name;
            if (group.Name == DefaultSecurityGroups.Name && name != group.Name)
                throw ApiException.Conflict("SecurityGroupCannotUpdateDefault", "Updating default security group name not allowed.");
            if (name == DefaultSecurityGroups.Name && group.Name != name)
                throw ApiException.Conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists; every project has exactly one.");
            return Task.FromResult(group with
            {
                Name = name,
                Description = body.String("description") ?? group.Description,
                Stateful = body.Bool("stateful") ?? group.Stateful,
            });
        });
        return NeutronResults.One("security_group", SecurityGroupJson.RenderGroup(stored));
    }

    /// <summary>
    /// Refused while a port uses the group (409, like Neutron), and for a project's default group unless by an
    /// admin. Rules of other groups that name it as their remote group go with it, as in Neutron.
    /// </summary>
    public async Task<IResult> DeleteAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var group = await GetVisibleAsync(caller, id);
        if (group.Value.Name == DefaultSecurityGroups.Name && !caller.IsAdmin)
            throw ApiException.Conflict("SecurityGroupCannotRemoveDefault", "Removing default security group not allowed.");
        await references.DeleteUnlessUsedAsync(store.Grains.GetGrain<ISecurityGroupGrain>(id), group, async () =>
        {
            var ports = await store.ListAsync<WorkloadEndpoint>(GrainTypes.Endpoint, http.RequestAborted);
            return ports.FirstOrDefault(p => p.Value.SecurityGroupIds.Contains(id)) is { } port
                ? ApiException.Conflict("SecurityGroupInUse", $"Security Group {id} in use by port {port.Value.Id}.")
                : null;
        });
        foreach (var other in await store.ListAsync<SecurityGroup>(GrainTypes.SecurityGroup, http.RequestAborted))
        {
            if (!other.Value.Rules.Any(r => r.RemoteGroupId == id)) continue;
            await Writes.UpdateAsync(store.Grains.GetGrain<ISecurityGroupGrain>(other.Value.Id), current =>
                Task.FromResult(current is null ? other.Value : current.Value with
                {
                    Rules = current.Value.Rules.Where(r => r.RemoteGroupId != id).ToValueList(),
                }));
        }
        return Results.NoContent();
    }
}
