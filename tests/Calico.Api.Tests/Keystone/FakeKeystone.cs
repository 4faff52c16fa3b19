using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Calico.Api.Tests.Keystone;

/// <summary>
/// Keystone's two token calls as the identity v3 API documents them, served by Kestrel on loopback: <c>POST
/// /v3/auth/tokens</c> (password method, project scope) issues a service token, <c>GET /v3/auth/tokens</c> validates
/// X-Subject-Token for a valid X-Auth-Token (404 for an unknown or expired token, 401 for an unknown X-Auth-Token).
/// Time is <see cref="Time"/>'s; it counts the calls and notes whether each said <c>Connection: close</c>.
/// </summary>
public sealed class FakeKeystone(TimeProvider time) : IAsyncDisposable
{
    public const string ServiceUser = "neutron";
    public const string ServicePassword = "service-password";

    private readonly ConcurrentDictionary<string, (string User, string? Project, string[] Roles, DateTimeOffset Expires)> _tokens = new();
    private WebApplication? _app;
    private int _issued;
    private int _validations;
    private int _withoutClose;

    public TimeProvider Time => time;

    public string Url { get; private set; } = "";

    /// <summary>How long service tokens live.</summary>
    public TimeSpan ServiceTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>While set, every call is answered with this status.</summary>
    public int? FailWith { get; set; }

    public int Issued => _issued;

    public int Validations => _validations;

    public int RequestsWithoutConnectionClose => _withoutClose;

    /// <summary>A caller's token that Keystone knows.</summary>
    public string AddToken(string? project, TimeSpan lifetime, params string[] roles)
    {
        var token = "gAAAAA" + Guid.NewGuid().ToString("N");
        _tokens[token] = ("user-" + token[^6..], project, roles, time.GetUtcNow() + lifetime);
        return token;
    }

    /// <summary>Revokes every token the service user was issued (as a key rotation or an operator would).</summary>
    public void RevokeServiceTokens()
    {
        foreach (var (token, entry) in _tokens)
            if (entry.User == ServiceUser) _tokens.TryRemove(token, out _);
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/v3/auth/tokens", (Func<HttpContext, Task<IResult>>)IssueAsync);
        _app.MapGet("/v3/auth/tokens", (Func<HttpContext, IResult>)Validate);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Url = address.TrimEnd('/') + "/v3";
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    private void Note(HttpContext http)
    {
        if (!string.Equals(http.Request.Headers.Connection.ToString(), "close", StringComparison.OrdinalIgnoreCase))
            Interlocked.Increment(ref _withoutClose);
    }

    private async Task<IResult> IssueAsync(HttpContext http)
    {
        Note(http);
        if (FailWith is { } status) return Results.StatusCode(status);
        var body = await JsonNode.ParseAsync(http.Request.Body);
        var identity = body?["auth"]?["identity"];
        var user = identity?["password"]?["user"];
        var scope = body?["auth"]?["scope"]?["project"];
        if ((string?)identity?["methods"]?[0] != "password" || (string?)user?["name"] != ServiceUser || (string?)user?["password"] != ServicePassword ||
            (string?)user?["domain"]?["name"] != "Default" || (string?)scope?["name"] != "service" || (string?)scope?["domain"]?["name"] != "Default")
            return Results.Json(new JsonObject { ["error"] = new JsonObject { ["code"] = 401, ["message"] = "The request you have made requires authentication." } }, statusCode: 401);
        Interlocked.Increment(ref _issued);
        var now = time.GetUtcNow();
        var token = "svc" + Guid.NewGuid().ToString("N");
        _tokens[token] = (ServiceUser, "service", ["admin", "service"], now + ServiceTokenLifetime);
        http.Response.Headers["X-Subject-Token"] = token;
        return Results.Json(new JsonObject
        {
            ["token"] = new JsonObject { ["issued_at"] = Stamp(now), ["expires_at"] = Stamp(now + ServiceTokenLifetime), ["methods"] = new JsonArray("password") },
        }, statusCode: 201);
    }

    private IResult Validate(HttpContext http)
    {
        Note(http);
        Interlocked.Increment(ref _validations);
        if (FailWith is { } status) return Results.StatusCode(status);
        var now = time.GetUtcNow();
        if (!_tokens.TryGetValue(http.Request.Headers["X-Auth-Token"].ToString(), out var own) || own.Expires <= now || own.User != ServiceUser)
            return Results.Json(new JsonObject { ["error"] = new JsonObject { ["code"] = 401, ["message"] = "The request you have made requires authentication." } }, statusCode: 401);
        if (!_tokens.TryGetValue(http.Request.Headers["X-Subject-Token"].ToString(), out var subject) || subject.Expires <= now)
            return Results.Json(new JsonObject { ["error"] = new JsonObject { ["code"] = 404, ["message"] = "Could not recognize Fernet token" } }, statusCode: 404);
        var token = new JsonObject
        {
            ["methods"] = new JsonArray("password"),
            ["user"] = new JsonObject { ["id"] = subject.User, ["name"] = subject.User, ["domain"] = new JsonObject { ["id"] = "default", ["name"] = "Default" } },
            ["expires_at"] = Stamp(subject.Expires),
            ["issued_at"] = Stamp(now),
            ["roles"] = new JsonArray([.. subject.Roles.Select((r, i) => (JsonNode)new JsonObject { ["id"] = $"role{i}", ["name"] = r })]),
        };
        if (subject.Project is not null)
            token["project"] = new JsonObject { ["id"] = subject.Project, ["name"] = subject.Project, ["domain"] = new JsonObject { ["id"] = "default", ["name"] = "Default" } };
        return Results.Json(new JsonObject { ["token"] = token });
    }

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
