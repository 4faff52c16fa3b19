namespace Calico.Api.Auth;

/// <summary>Who is calling: the project whose resources they see, and whether they may see every project's.</summary>
internal sealed record Caller(string ProjectId, bool IsAdmin)
{
    private static readonly object Key = new();

    public bool CanSee(string projectId) => IsAdmin || projectId == ProjectId;

    public static Caller Of(HttpContext http) =>
        http.Items.TryGetValue(Key, out var caller) && caller is Caller c
            ? c
            : throw new InvalidOperationException("The API's authentication filter did not run for this request.");

    public void AttachTo(HttpContext http) => http.Items[Key] = this;
}
