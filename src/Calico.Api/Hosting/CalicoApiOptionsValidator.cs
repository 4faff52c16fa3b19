using Microsoft.Extensions.Options;

namespace Calico.Api.Hosting;

public sealed class CalicoApiOptionsValidator : IValidateOptions<CalicoApiOptions>
{
    /// <summary>Shorter tokens can be guessed; 16 characters is what <c>openssl rand -hex 8</c> gives.</summary>
    public const int MinimumTokenLength = 16;

    /// <summary>A refused delete waits this long at most; more would hold the resource deleted for no benefit.</summary>
    public static readonly TimeSpan MaxDeleteSettleTime = TimeSpan.FromSeconds(30);

    public ValidateOptionsResult Validate(string? name, CalicoApiOptions o)
    {
        var errors = new List<string>();
        if (o.Auth is not (ApiAuthModes.Auto or ApiAuthModes.Token or ApiAuthModes.None or ApiAuthModes.Keystone))
            errors.Add($"Api:Auth '{o.Auth}' is unknown; use 'keystone', or 'auto', 'token' or 'none' for development.");
        if (o.Auth == ApiAuthModes.Keystone) ValidateKeystone(o.Keystone, errors);
        if (o.Auth == ApiAuthModes.Token && o.Tokens.Count == 0)
            errors.Add("Api:Auth is 'token' but Api:Tokens is empty; add one, e.g. Api:Tokens:<token>:ProjectId=<project> " +
                       "(environment CALICO_Api__Tokens__<token>__ProjectId), or set Api:Auth=none for development.");
        foreach (var (token, entry) in o.Tokens)
        {
            var shown = Shown(token);
            if (token.Length < MinimumTokenLength)
                errors.Add($"Api:Tokens '{shown}' is shorter than {MinimumTokenLength} characters; generate one with 'openssl rand -hex 16'.");
            if (!IsProjectId(entry.ProjectId))
                errors.Add($"Api:Tokens '{shown}' needs a ProjectId of 1..255 letters, digits, '-', '_' or '.' (Api:Tokens:<token>:ProjectId).");
        }
        if (!IsProjectId(o.NoAuthProjectId))
            errors.Add($"Api:NoAuthProjectId '{o.NoAuthProjectId}' must be 1..255 letters, digits, '-', '_' or '.'.");
        if (o.MaxRequestBodyBytes is < 1024 or > 64 * 1024 * 1024)
            errors.Add($"Api:MaxRequestBodyBytes {o.MaxRequestBodyBytes} is outside 1024..67108864.");
        if (o.DeleteSettleTime <= TimeSpan.Zero || o.DeleteSettleTime > MaxDeleteSettleTime)
            errors.Add($"Api:DeleteSettleTime {o.DeleteSettleTime} must be more than 00:00:00 and at most {MaxDeleteSettleTime} " +
                       "(the default 00:00:01 covers a datastore write with room to spare).");
        foreach (var (resource, limit) in o.QuotaDefaults)
        {
            if (!Calico.Model.Resources.QuotaResources.NeutronDefaults.ContainsKey(resource))
                errors.Add($"Api:QuotaDefaults:{resource} names no quota resource; use one of {string.Join(", ", Calico.Model.Resources.QuotaResources.Names)}.");
            else if (limit < -1) errors.Add($"Api:QuotaDefaults:{resource} {limit} must be -1 (no limit) or more.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateKeystone(Auth.KeystoneOptions k, List<string> errors)
    {
        if (!Uri.TryCreate(k.AuthUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            errors.Add($"Api:Keystone:AuthUrl '{k.AuthUrl}' must be Keystone's http(s) URL, e.g. http://controller:5000/v3 (Api:Auth is 'keystone').");
        foreach (var (name, value) in new[] { ("Username", k.Username), ("Password", k.Password), ("ProjectName", k.ProjectName),
                     ("UserDomainName", k.UserDomainName), ("ProjectDomainName", k.ProjectDomainName) })
        {
            if (string.IsNullOrEmpty(value))
                errors.Add($"Api:Keystone:{name} is empty; the API's service user (e.g. neutron in project service, with the admin or service role) needs it.");
        }
        if (k.CacheTime < TimeSpan.Zero || k.CacheTime > TimeSpan.FromHours(1))
            errors.Add($"Api:Keystone:CacheTime {k.CacheTime} must be between 00:00:00 and 01:00:00 (default 00:05:00).");
        if (k.Timeout <= TimeSpan.Zero || k.Timeout > TimeSpan.FromMinutes(2))
            errors.Add($"Api:Keystone:Timeout {k.Timeout} must be more than 00:00:00 and at most 00:02:00 (default 00:00:10).");
        if (k.CacheEntries is < 1 or > 10_000_000)
            errors.Add($"Api:Keystone:CacheEntries {k.CacheEntries} is outside 1..10000000.");
    }

    /// <summary>Enough of a configured token to tell which one is meant, in messages and the audit log; never all of it.</summary>
    internal static string Shown(string token) => token.Length > 4 ? token[..4] + "…" : token;

    private static bool IsProjectId(string? id) =>
        id is { Length: > 0 and <= 255 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
