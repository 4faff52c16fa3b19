using Calico.Api.Http;

namespace Calico.Api.Auth;

/// <summary>
/// Neutron's default policy, decided from the <see cref="Caller"/> alone, whatever the authentication mode: an admin
/// does everything in every project; a member reads and changes its own project's resources (and reads shared
/// ones); a reader only reads. Another project's resources do not exist for a non-admin (404, through
/// <see cref="Caller.CanSee"/> in the collections); attributes that place a resource in the infrastructure (which
/// host a port is bound to, provider networks, sharing with every project) are an admin's alone.
/// </summary>
internal static class Policy
{
    /// <summary>
    /// Attributes only an admin may set: on create when given a value other than the default (null, false, "",
    /// {} or []), on update whenever named, as Neutron's <c>rule:admin_only</c> entries. (Naming another project in
    /// project_id or tenant_id is refused with 400 by <see cref="Projects.ForCreate"/>, as neutron-lib does.)
    /// </summary>
    public static readonly IReadOnlySet<string> AdminOnlyAttributes = new HashSet<string>(StringComparer.Ordinal)
    {
        "shared", "router:external", "is_default", "binding:host_id", "binding:profile",
        "provider:network_type", "provider:physical_network", "provider:segmentation_id", "segments",
    };

    /// <summary>Reading needs a reader (or member, or admin); any change needs a member or an admin.</summary>
    public static void RequireMethodAllowed(Caller caller, string method)
    {
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method))
        {
            if (!caller.CanRead)
                throw ApiException.Forbidden($"Reading is disallowed by policy: it needs the reader, member or admin role, and this token has {Describe(caller.Roles)}.");
        }
        else if (!caller.CanWrite)
        {
            throw ApiException.Forbidden($"{method} is disallowed by policy: changes need the member or admin role, and this token has {Describe(caller.Roles)}.");
        }
    }

    /// <summary>Refuses (403, naming it) the first admin-only attribute a non-admin's request sets.</summary>
    public static void RequireAdminForAttributes(Caller caller, RequestObject body, bool update)
    {
        if (caller.IsAdmin) return;
        foreach (var name in body.Names)
        {
            if (AdminOnlyAttributes.Contains(name) && (update || IsSet(body.Body[name])))
                throw ApiException.Forbidden($"Setting '{name}' is disallowed by policy: only an admin may set it.");
        }
    }

    private static bool IsSet(JsonNode? value) => value switch
    {
        null => false,
        JsonObject o => o.Count > 0,
        JsonArray a => a.Count > 0,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when v.TryGetValue<string>(out var s) => s.Length > 0 && !s.Equals("false", StringComparison.OrdinalIgnoreCase),
        _ => true,
    };

    private static string Describe(CallerRoles roles) => roles == CallerRoles.None
        ? "none of them"
        : "only " + string.Join(", ", Enum.GetValues<CallerRoles>().Where(r => r is not (CallerRoles.None or CallerRoles.All) && roles.HasFlag(r)).Select(r => r.ToString().ToLowerInvariant()));

    /// <summary>The policy's roles among a token's role names (Keystone's, or the legacy _member_); others are ignored.</summary>
    public static CallerRoles FromNames(IEnumerable<string> names)
    {
        var roles = CallerRoles.None;
        foreach (var name in names)
        {
            roles |= name.ToLowerInvariant() switch
            {
                "admin" => CallerRoles.Admin,
                "member" or "_member_" => CallerRoles.Member,
                "reader" => CallerRoles.Reader,
                _ => CallerRoles.None,
            };
        }
        return roles;
    }
}
