using Calico.Api.Auth;

namespace Calico.Api.Http;

/// <summary>Which project a new resource belongs to, and who may act on whose resources.</summary>
internal static class Projects
{
    public static readonly IReadOnlySet<string> Attributes = new HashSet<string> { "project_id", "tenant_id" };

    /// <summary>The caller's project, or the one the body names (project_id or tenant_id; only admins may name another).</summary>
    public static string ForCreate(Caller caller, RequestObject body)
    {
        var project = body.String("project_id");
        var tenant = body.String("tenant_id");
        if (project is not null && tenant is not null && project != tenant)
            throw ApiException.BadRequest($"project_id '{project}' and tenant_id '{tenant}' differ; send one of them.");
        var named = project ?? tenant;
        if (named is null || named == caller.ProjectId) return caller.ProjectId;
        if (!caller.IsAdmin)
            throw ApiException.BadRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges.");
        if (named.Length is 0 or > 255) throw ApiException.BadRequest("project_id must be 1..255 characters.");
        return named;
    }

    /// <summary>Only the owner (or an admin) changes or deletes a resource; others who can see it (shared) get 403.</summary>
    public static void RequireOwner(Caller caller, string projectId, string what)
    {
        if (!caller.CanSee(projectId)) throw ApiException.Forbidden($"{what} belongs to another project and may only be changed by it or an admin.");
    }

    public static void RequireAdmin(Caller caller, string what)
    {
        if (!caller.IsAdmin) throw ApiException.Forbidden($"{what} requires admin privileges.");
    }
}
