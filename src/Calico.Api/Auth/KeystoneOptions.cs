namespace Calico.Api.Auth;

/// <summary>
/// Keystone authentication (section "Api:Keystone", used when Api:Auth=keystone): where Keystone is, and the API's own
/// service user, whose token lets it validate callers' tokens (as keystonemiddleware's auth_token does for Neutron).
/// The service user needs the admin or service role to validate others' tokens.
/// </summary>
public sealed class KeystoneOptions
{
    /// <summary>
    /// Keystone's identity v3 URL, e.g. http://controller:5000/v3 (given without a version, /v3 is added). It is also
    /// the uri of the <c>WWW-Authenticate: Keystone</c> header a refused caller gets.
    /// </summary>
    public string AuthUrl { get; set; } = "";

    /// <summary>The service user's name, e.g. "neutron".</summary>
    public string Username { get; set; } = "";

    public string Password { get; set; } = "";

    /// <summary>The project the service user's token is scoped to, e.g. "service".</summary>
    public string ProjectName { get; set; } = "";

    public string UserDomainName { get; set; } = "Default";

    public string ProjectDomainName { get; set; } = "Default";

    /// <summary>
    /// How long a validation (valid or invalid) is remembered, so that a client's requests cost Keystone one call;
    /// never longer than the token's own expiry. Zero validates every request.
    /// </summary>
    public TimeSpan CacheTime { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>How long one call to Keystone may take before the request is answered 503.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>At most this many validations are remembered (each is a digest and a few ids).</summary>
    public int CacheEntries { get; set; } = 10_000;

    /// <summary>The identity v3 root, without a trailing slash.</summary>
    internal string V3Url
    {
        get
        {
            var url = AuthUrl.TrimEnd('/');
            return url.EndsWith("/v3", StringComparison.Ordinal) ? url : url + "/v3";
        }
    }
}
