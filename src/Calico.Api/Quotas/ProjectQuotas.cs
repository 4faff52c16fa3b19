using Calico.Api.Hosting;
using Calico.Api.Http;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Resources;
using Microsoft.Extensions.Options;

namespace Calico.Api.Quotas;

/// <summary>
/// Each project's limits (its own, else <see cref="CalicoApiOptions.QuotaDefaults"/>, else none) and what it uses,
/// and the check every create makes: a create that would take a project over a limit is refused with Neutron's 409
/// <c>OverQuota</c>. Usage is counted from the store when a limit applies (a resource without one costs nothing).
/// There are no reservations: creates of one project racing each other may together pass a limit by as many as race,
/// as with Neutron's quota drivers that count without reserving.
/// </summary>
internal sealed class ProjectQuotas(ResourceStore store, IOptions<CalicoApiOptions> options)
{
    public int DefaultOf(string resource) => options.Value.QuotaDefaults.TryGetValue(resource, out var limit) ? limit : -1;

    public IReadOnlyDictionary<string, int> Defaults => QuotaResources.Names.ToDictionary(r => r, DefaultOf, StringComparer.Ordinal);

    /// <summary>Every resource's limit for <paramref name="projectId"/>.</summary>
    public async Task<IReadOnlyDictionary<string, int>> LimitsAsync(string projectId)
    {
        var own = await store.Grains.GetGrain<IProjectQuotaGrain>(projectId).GetAsync();
        return Effective(own);
    }

    public IReadOnlyDictionary<string, int> Effective(ProjectQuota? own) =>
        QuotaResources.Names.ToDictionary(r => r, r => own?.LimitOf(r) ?? DefaultOf(r), StringComparer.Ordinal);

    /// <summary>Refuses (409 OverQuota) when <paramref name="adding"/> more of <paramref name="resource"/> would pass the project's limit.</summary>
    public async Task EnsureRoomAsync(string projectId, string resource, int adding, CancellationToken cancellationToken)
    {
        var own = await store.Grains.GetGrain<IProjectQuotaGrain>(projectId).GetAsync();
        var limit = own?.LimitOf(resource) ?? DefaultOf(resource);
        if (limit < 0) return;
        if (await UsedAsync(projectId, resource, cancellationToken) + adding > limit)
            throw ApiException.Conflict("OverQuota", $"Quota exceeded for resources: ['{resource}'].");
    }

    /// <summary>How many of <paramref name="resource"/> the project holds (0 for kinds this API has none of).</summary>
    public async Task<int> UsedAsync(string projectId, string resource, CancellationToken cancellationToken) => resource switch
    {
        "network" => await CountAsync<Network>(GrainTypes.Network, n => n.ProjectId == projectId ? 1 : 0, cancellationToken),
        "subnet" => await CountAsync<Subnet>(GrainTypes.Subnet, s => s.ProjectId == projectId ? 1 : 0, cancellationToken),
        "port" => await CountAsync<WorkloadEndpoint>(GrainTypes.Endpoint, p => p.ProjectId == projectId ? 1 : 0, cancellationToken),
        "security_group" => await CountAsync<SecurityGroup>(GrainTypes.SecurityGroup, g => g.ProjectId == projectId ? 1 : 0, cancellationToken),
        "security_group_rule" => await CountAsync<SecurityGroup>(GrainTypes.SecurityGroup, g => g.ProjectId == projectId ? g.Rules.Count : 0, cancellationToken),
        "floatingip" => await CountAsync<FloatingIp>(GrainTypes.FloatingIp, f => f.ProjectId == projectId ? 1 : 0, cancellationToken),
        "subnetpool" => await CountAsync<SubnetPool>(GrainTypes.SubnetPool, p => p.ProjectId == projectId ? 1 : 0, cancellationToken),
        "router" => await CountAsync<Router>(GrainTypes.Router, r => r.ProjectId == projectId ? 1 : 0, cancellationToken),
        _ => 0,
    };

    private async Task<int> CountAsync<T>(string grainType, Func<T, int> count, CancellationToken cancellationToken) where T : class =>
        (await store.ListAsync<T>(grainType, cancellationToken)).Sum(v => count(v.Value));
}
