using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Calico.Api.Hosting;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Calico.Api.Auth;

/// <summary>What Keystone says of a caller's token (<c>GET /v3/auth/tokens</c>, 200).</summary>
internal sealed record KeystoneToken(string UserId, string UserName, string? ProjectId, IReadOnlyList<string> Roles, DateTimeOffset ExpiresAt);

/// <summary>The API's own token: renewed at <see cref="RenewAt"/>, before Keystone's expiry (both on this machine's clock).</summary>
internal sealed record ServiceToken(string Value, DateTimeOffset RenewAt, DateTimeOffset ExpiresAt);

/// <summary>Keystone could not give an answer (unreachable, too slow, an error of its own, or refusing the API itself).</summary>
internal sealed class KeystoneUnavailableException(string reason, Exception? inner = null) : Exception(reason, inner);

/// <summary>
/// The two calls the API makes to Keystone's identity v3 API: a token for its service user (password method, project
/// scope) and the validation of a caller's token with it. Every request says <c>Connection: close</c>: Keystone is
/// commonly served by uwsgi's http-socket, which resets the second request on a kept-alive connection.
/// </summary>
internal sealed class KeystoneClient
{
    public const string HttpClientName = "Calico.Api.Keystone";

    /// <summary>A token issued for longer than this renews this long before its expiry; a shorter one at half its life.</summary>
    private static readonly TimeSpan RenewAhead = TimeSpan.FromMinutes(5);

    private readonly IHttpClientFactory _clients;
    private readonly KeystoneOptions _options;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _retry;

    public KeystoneClient(IHttpClientFactory clients, IOptions<CalicoApiOptions> options, TimeProvider time)
    {
        _clients = clients;
        _options = options.Value.Keystone;
        _time = time;
        // Both calls are safe to repeat. Only a failed connection is retried (a reset or refused socket, as a
        // Keystone restart or a dropped kept-alive connection gives): an answer, or a timeout, is not.
        _retry = new ResiliencePipelineBuilder { TimeProvider = time }.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>(e => e.StatusCode is null),
            MaxRetryAttempts = 2,
            Delay = TimeSpan.FromMilliseconds(100),
            BackoffType = DelayBackoffType.Exponential,
        }).Build();
    }

    public string Url => _options.V3Url;

    /// <summary><c>POST /v3/auth/tokens</c> for the service user.</summary>
    public async Task<ServiceToken> IssueAsync(CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["auth"] = new JsonObject
            {
                ["identity"] = new JsonObject
                {
                    ["methods"] = new JsonArray("password"),
                    ["password"] = new JsonObject
                    {
                        ["user"] = new JsonObject
                        {
                            ["name"] = _options.Username,
                            ["domain"] = new JsonObject { ["name"] = _options.UserDomainName },
                            ["password"] = _options.Password,
                        },
                    },
                },
                ["scope"] = new JsonObject
                {
                    ["project"] = new JsonObject { ["name"] = _options.ProjectName, ["domain"] = new JsonObject { ["name"] = _options.ProjectDomainName } },
                },
            },
        }.ToJsonString();
        var (status, headers, text) = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, Url + "/auth/tokens?nocatalog")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        }, cancellationToken);
        if (status == HttpStatusCode.Unauthorized)
            throw new KeystoneUnavailableException($"Keystone refused the API's service user '{_options.Username}' in project '{_options.ProjectName}' " +
                "(check Api:Keystone:Username, Password, ProjectName and the domains)");
        if (status != HttpStatusCode.Created)
            throw new KeystoneUnavailableException($"Keystone answered {(int)status} to the API's token request");
        var value = headers.TryGetValues("X-Subject-Token", out var values) ? values.FirstOrDefault() : null;
        var token = Parse(text)?["token"];
        var expires = Time(token?["expires_at"]);
        var issued = Time(token?["issued_at"]);
        if (string.IsNullOrEmpty(value) || expires is null || issued is null || expires <= issued)
            throw new KeystoneUnavailableException("Keystone's answer to the API's token request has no X-Subject-Token or expiry");
        // Keystone's clock may differ from this one: only the token's lifetime is taken from it.
        var lifetime = expires.Value - issued.Value;
        var now = _time.GetUtcNow();
        var ahead = lifetime > 2 * RenewAhead ? RenewAhead : lifetime / 2;
        return new ServiceToken(value, now + lifetime - ahead, now + lifetime);
    }

    /// <summary>
    /// <c>GET /v3/auth/tokens</c>: the token when valid; null when Keystone does not know it or it expired (404);
    /// throws <see cref="ServiceTokenRefusedException"/> when Keystone refuses <paramref name="own"/> (401 or 403).
    /// </summary>
    public async Task<KeystoneToken?> ValidateAsync(string own, string subject, CancellationToken cancellationToken)
    {
        var (status, _, text) = await SendAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, Url + "/auth/tokens?nocatalog");
            request.Headers.TryAddWithoutValidation("X-Auth-Token", own);
            request.Headers.TryAddWithoutValidation("X-Subject-Token", subject);
            return request;
        }, cancellationToken);
        switch (status)
        {
            case HttpStatusCode.NotFound:
                return null;
            case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                throw new ServiceTokenRefusedException((int)status);
            case HttpStatusCode.OK:
                break;
            default:
                throw new KeystoneUnavailableException($"Keystone answered {(int)status} to a token validation");
        }
        try
        {
            var token = Parse(text)?["token"] as JsonObject;
            var user = token?["user"] as JsonObject;
            var expires = Time(token?["expires_at"]);
            if (user?["id"] is not JsonValue userId || expires is null || token!["roles"] is not JsonArray roles)
                throw new KeystoneUnavailableException("Keystone's validation answer has no user, roles or expiry");
            var project = token["project"] as JsonObject;
            return new KeystoneToken(userId.GetValue<string>(), user["name"]?.GetValue<string>() ?? "", project?["id"]?.GetValue<string>(),
                [.. roles.Select(r => r?["name"]?.GetValue<string>() ?? "")], expires.Value);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new KeystoneUnavailableException("Keystone's validation answer could not be read", e);
        }
    }

    private async Task<(HttpStatusCode Status, HttpResponseHeaders Headers, string Text)> SendAsync(
        Func<HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        var client = _clients.CreateClient(HttpClientName);
        try
        {
            return await _retry.ExecuteAsync(async ct =>
            {
                using var request = build();
                request.Headers.ConnectionClose = true;
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(_options.Timeout);
                try
                {
                    using var response = await client.SendAsync(request, timeout.Token);
                    return (response.StatusCode, response.Headers, await response.Content.ReadAsStringAsync(timeout.Token));
                }
                catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
                {
                    throw new KeystoneUnavailableException($"Keystone did not answer within {_options.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s", e);
                }
            }, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new KeystoneUnavailableException($"Keystone at {Url} cannot be reached ({e.HttpRequestError}: {e.Message})", e);
        }
    }

    private static JsonNode? Parse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new KeystoneUnavailableException("Keystone's answer is not JSON", e);
        }
    }

    /// <summary>Keystone's timestamps, e.g. 2026-12-07T01:59:44.000000Z.</summary>
    private static DateTimeOffset? Time(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) &&
        DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t : null;
}

/// <summary>Keystone refused the API's own token when asked to validate another (revoked, expired early, or lacking the role).</summary>
internal sealed class ServiceTokenRefusedException(int status) : Exception($"Keystone answered {status} to the API's own token")
{
    public int Status { get; } = status;
}
