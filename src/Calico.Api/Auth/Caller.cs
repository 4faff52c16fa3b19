namespace Calico.Api.Auth;

/// <summary>The roles of Neutron's default policy that the API acts on; any others a token carries are ignored.</summary>
[Flags]
internal enum CallerRoles
{
    None = 0,

    /// <summary>Reads its own project's resources (and shared ones).</summary>
    Reader = 1,

    /// <summary>Also creates, changes and deletes its own project's resources.</summary>
    Member = 2,

    /// <summary>Everything, in every project, including the admin-only attributes (<see cref="Policy.AdminOnlyAttributes"/>).</summary>
    Admin = 4,

    All = Reader | Member | Admin,
}

/// <summary>
/// Who is calling: the project whose resources they see, and their roles. Every authentication mode (none, configured
/// tokens, Keystone) ends in one of these, and <see cref="Policy"/> decides from it alone.
/// </summary>
internal sealed record Caller(string ProjectId, CallerRoles Roles, string User)
{
    private static readonly object Key = new();

    /// <summary>Admin sees and changes every project's resources.</summary>
    public bool IsAdmin => Roles.HasFlag(CallerRoles.Admin);

    /// <summary>May create, change and delete (its own project's resources, unless admin).</summary>
    public bool CanWrite => IsAdmin || Roles.HasFlag(CallerRoles.Member);

    /// <summary>May read anything at all.</summary>
    public bool CanRead => CanWrite || Roles.HasFlag(CallerRoles.Reader);

    public bool CanSee(string projectId) => IsAdmin || projectId == ProjectId;

    public static Caller Of(HttpContext http) =>
        http.Items.TryGetValue(Key, out var caller) && caller is Caller c
            ? c
            : throw new InvalidOperationException("The API's authentication filter did not run for this request.");

    public void AttachTo(HttpContext http) => http.Items[Key] = this;
}
