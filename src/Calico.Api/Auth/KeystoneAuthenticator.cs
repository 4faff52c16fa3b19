using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Calico.Api.Hosting;
using Calico.Api.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calico.Api.Auth;

/// <summary>
/// Api:Auth=keystone: a caller is whoever Keystone says their X-Auth-Token stands for (project and roles), never
/// what the request's other headers claim. Validations are remembered for <see cref="KeystoneOptions.CacheTime"/>
/// (refusals too, so a bad token costs Keystone one call as well), never beyond the token's expiry, keyed by the
/// token's SHA-256 digest; concurrent requests with one token share one validation. A missing, unknown or expired
/// token is answered 401 with <c>WWW-Authenticate: Keystone uri="..."</c>; Keystone being unreachable, 503.
/// </summary>
internal sealed partial class KeystoneAuthenticator(KeystoneClient keystone, KeystoneServiceToken own, IOptions<CalicoApiOptions> options,
    TimeProvider time, ILogger<KeystoneAuthenticator> logger)
{
    /// <summary>Longer than any token Keystone issues (a JWS token is about 800 bytes): refused without asking it.</summary>
    private const int MaxTokenLength = 8192;

    private readonly KeystoneOptions _options = options.Value.Keystone;
    /// <summary>Lazy: of two requests adding one token at once, only the entry that is kept asks Keystone.</summary>
    private readonly ConcurrentDictionary<string, Lazy<Task<Validation>>> _cache = new(StringComparer.Ordinal);

    /// <summary>The header value every 401 carries: where to get a token.</summary>
    public string Challenge => $"Keystone uri=\"{_options.AuthUrl.TrimEnd('/')}\"";

    public async ValueTask<Caller> AuthenticateAsync(string token, CancellationToken cancellationToken)
    {
        if (token.Length == 0) throw Unauthorized("Authentication required: send an X-Auth-Token header with a Keystone token.");
        if (token.Length > MaxTokenLength || !token.All(c => c is > ' ' and < (char)127))
            throw Unauthorized("The X-Auth-Token is not a Keystone token.");
        var key = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(token)));
        Validation validation;
        while (true)
        {
            var entry = _cache.GetOrAdd(key, _ => new Lazy<Task<Validation>>(() => StartValidation(token)));
            var pending = entry.Value;
            var remembered = pending.IsCompleted;
            try
            {
                validation = await pending.WaitAsync(cancellationToken);
            }
            catch (KeystoneUnavailableException e)
            {
                // Not remembered: the next request asks Keystone again.
                _cache.TryRemove(new(key, entry));
                LogUnavailable(logger, keystone.Url, e.Message);
                throw new ApiException(StatusCodes.Status503ServiceUnavailable, "ServiceUnavailable",
                    $"Authentication is unavailable: {e.Message}. Retry the request.");
            }
            // An answer this request waited for is used even when it may not be remembered (CacheTime 0).
            if (!remembered || time.GetUtcNow() < validation.CachedUntil) break;
            _cache.TryRemove(new(key, entry));
        }
        var found = validation.Token ?? throw Unauthorized("The X-Auth-Token is invalid or has expired: get a new token from Keystone.");
        if (found.ProjectId is not { Length: > 0 } project)
            throw ApiException.Forbidden("The token is not scoped to a project: Neutron's resources belong to projects, so get a project-scoped token.");
        return new Caller(project, Policy.FromNames(found.Roles), found.UserId);
    }

    private ApiException Unauthorized(string message) =>
        new(StatusCodes.Status401Unauthorized, "HTTPUnauthorized", message) { Challenge = Challenge };

    private Task<Validation> StartValidation(string token)
    {
        Sweep();
        // Not the first caller's cancellation: others may be waiting for the same validation.
        return Task.Run(() => ValidateAsync(token));
    }

    private async Task<Validation> ValidateAsync(string token)
    {
        var service = await own.GetAsync(refused: null);
        KeystoneToken? found;
        try
        {
            found = await keystone.ValidateAsync(service, token, CancellationToken.None);
        }
        catch (ServiceTokenRefusedException)
        {
            // Revoked, or Keystone's keys rotated under it: one new token, one more try.
            service = await own.GetAsync(refused: service);
            try
            {
                found = await keystone.ValidateAsync(service, token, CancellationToken.None);
            }
            catch (ServiceTokenRefusedException e)
            {
                throw new KeystoneUnavailableException(
                    $"Keystone refuses to validate tokens for the API's service user ({e.Status}): give user '{_options.Username}' the admin or service role", e);
            }
        }
        var now = time.GetUtcNow();
        var until = now + _options.CacheTime;
        if (found is null) return new Validation(null, until);
        if (found.ExpiresAt <= now) return new Validation(null, until);
        return new Validation(found, found.ExpiresAt < until ? found.ExpiresAt : until);
    }

    /// <summary>Keeps the cache within <see cref="KeystoneOptions.CacheEntries"/>: the stale first, then every finished one.</summary>
    private void Sweep()
    {
        if (_cache.Count < _options.CacheEntries) return;
        var now = time.GetUtcNow();
        foreach (var entry in _cache)
        {
            var task = entry.Value.IsValueCreated ? entry.Value.Value : null;
            if (task is { IsCompleted: true } && (!task.IsCompletedSuccessfully || task.Result.CachedUntil <= now)) _cache.TryRemove(entry);
        }
        if (_cache.Count < _options.CacheEntries) return;
        foreach (var entry in _cache)
            if (entry.Value is { IsValueCreated: true, Value.IsCompleted: true }) _cache.TryRemove(entry);
    }

    /// <summary>Keystone's answer (null token: unknown or expired), and until when it holds.</summary>
    private sealed record Validation(KeystoneToken? Token, DateTimeOffset CachedUntil);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A token could not be validated: Keystone at {Url}: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string url, string reason);
}
