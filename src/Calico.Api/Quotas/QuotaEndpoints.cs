using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.AspNetCore.Routing;

namespace Calico.Api.Quotas;

/// <summary>
/// /v2.0/quotas (Neutron's quotas and quota_details extensions): <c>GET /quotas</c> lists the projects with limits of
/// their own (admin); <c>GET /quotas/{project}</c> a project's limits (the project itself or an admin),
/// <c>…/default</c> the defaults, <c>…/details</c> limit and use per resource; <c>PUT /quotas/{project}</c>
/// (<c>{"quota": {"network": 5}}</c>) sets limits and <c>DELETE</c> returns to the defaults (admin).
/// </summary>
internal static class QuotaEndpoints
{
    private static readonly IReadOnlySet<string> Attributes = new HashSet<string>(QuotaResources.Names) { "project_id", "tenant_id" };

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/quotas", async (HttpContext http, ResourceStore store, ProjectQuotas quotas) =>
        {
            Projects.RequireAdmin(Caller.Of(http), "Listing the quotas of every project");
            var query = new ListQuery(http.Request.Query, Attributes);
            var items = new List<JsonObject>();
            await foreach (var (_, state) in store.Catalog.ListAsync<ProjectQuotaState>(GrainTypes.ProjectQuota, http.RequestAborted))
                if (state.Value is { } own) items.Add(Render(quotas.Effective(own), own.ProjectId));
            return NeutronResults.List(http, "quotas", items, query);
        });
        api.MapGet("/quotas/{project}", async (HttpContext http, string project, ProjectQuotas quotas) =>
            One(await quotas.LimitsAsync(Visible(http, project))));
        api.MapGet("/quotas/{project}/default", (HttpContext http, string project, ProjectQuotas quotas) =>
        {
            Visible(http, project);
            return One(quotas.Defaults);
        });
        api.MapGet("/quotas/{project}/details", DetailsAsync);
        api.MapGet("/quotas/{project}/details.json", DetailsAsync);
        api.MapPut("/quotas/{project}", async (HttpContext http, string project, RequestBody bodies, ResourceStore store, ProjectQuotas quotas) =>
        {
            Projects.RequireAdmin(Caller.Of(http), "Changing quotas");
            CheckProject(project);
            var body = await bodies.ReadAsync(http, "quota");
            body.Accept(QuotaResources.Names.ToHashSet(), Attributes, update: true);
            var limits = new List<QuotaLimit>();
            foreach (var resource in body.Names)
            {
                var limit = body.Int(resource)!.Value;
                if (limit < -1) throw RequestObject.Invalid(resource, $"'{limit}' must be -1 (no limit) or more");
                limits.Add(new QuotaLimit(resource, limit));
            }
            var stored = await store.Grains.GetGrain<IProjectQuotaGrain>(project).SetAsync(limits.ToValueList());
            return One(quotas.Effective(stored));
        });
        api.MapDelete("/quotas/{project}", async (HttpContext http, string project, ResourceStore store) =>
        {
            Projects.RequireAdmin(Caller.Of(http), "Resetting quotas");
            CheckProject(project);
            await store.Grains.GetGrain<IProjectQuotaGrain>(project).ResetAsync();
            return Results.NoContent();
        });
    }

    private static async Task<IResult> DetailsAsync(HttpContext http, string project, ProjectQuotas quotas)
    {
        var limits = await quotas.LimitsAsync(Visible(http, project));
        var quota = new JsonObject();
        foreach (var (resource, limit) in limits)
        {
            quota[resource] = new JsonObject
            {
                ["used"] = await quotas.UsedAsync(project, resource, http.RequestAborted), ["limit"] = limit, ["reserved"] = 0,
            };
        }
        return NeutronResults.One("quota", quota);
    }

    /// <summary>A project's own quotas are its to read; another's only an admin's (Neutron's policy).</summary>
    private static string Visible(HttpContext http, string project)
    {
        CheckProject(project);
        if (!Caller.Of(http).CanSee(project)) throw ApiException.Forbidden($"The quotas of project {project} may only be seen by it or an admin.");
        return project;
    }

    private static void CheckProject(string project)
    {
        if (Validator.IdProblem(project) is { } problem) throw new InvalidInputException("project_id", problem);
    }

    private static IResult One(IReadOnlyDictionary<string, int> limits) => NeutronResults.One("quota", Render(limits, null));

    private static JsonObject Render(IReadOnlyDictionary<string, int> limits, string? projectId)
    {
        var json = new JsonObject();
        if (projectId is not null)
        {
            json["project_id"] = projectId;
            json["tenant_id"] = projectId;
        }
        foreach (var (resource, limit) in limits) json[resource] = limit;
        return json;
    }
}
