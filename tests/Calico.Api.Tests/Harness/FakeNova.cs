using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Calico.Api.Tests.Harness;

/// <summary>
/// An HTTP endpoint in the test that stands in for Nova's compute API: it takes <c>POST /v2.1/os-server-external-events</c>
/// and checks each request against Nova's documented request format (API reference, "Run Events": a body with exactly
/// one key, <c>events</c>, a non-empty list of objects with <c>name</c> one of Nova's event names, <c>server_uuid</c> a
/// UUID, optional <c>tag</c> and <c>status</c> one of completed, failed, in-progress, nothing else). A request that does
/// not fit is answered 400 and recorded as a violation. Answers as Nova does: 200 with each event's <c>code</c> (404 for
/// an instance it does not know), or 404 when it knows none; or the statuses a test plans (e.g. 503) first.
/// No Nova runs on this machine, so this is where the contract is checked.
/// </summary>
public sealed class FakeNova : IAsyncDisposable
{
    private static readonly HashSet<string> EventNames =
        ["network-changed", "network-vif-plugged", "network-vif-unplugged", "network-vif-deleted", "volume-extended",
         "power-update", "accelerator-request-bound", "volume-reimaged"];

    private static readonly HashSet<string> Statuses = ["completed", "failed", "in-progress"];

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<int> _planned = new();

    public ConcurrentQueue<string> Violations { get; } = new();

    /// <summary>Events Nova accepted (code 200), in arrival order.</summary>
    public ConcurrentQueue<(string Name, string Server, string Tag, string Status)> Accepted { get; } = new();

    /// <summary>Every request's X-Auth-Token (empty when none).</summary>
    public ConcurrentQueue<string> Tokens { get; } = new();

    public int Requests => _requests;

    /// <summary>Instances this Nova knows; events for others get code 404.</summary>
    public ConcurrentDictionary<string, bool> Instances { get; } = new(StringComparer.Ordinal);

    private int _requests;

    private FakeNova(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public static async Task<FakeNova> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var nova = new FakeNova(app);
        app.MapPost("/v2.1/os-server-external-events", (Delegate)nova.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        nova.Url = address.TrimEnd('/') + "/v2.1";
        return nova;
    }

    /// <summary>The next requests are answered with these statuses (before anything is checked or taken).</summary>
    public void Plan(params int[] statuses)
    {
        foreach (var s in statuses) _planned.Enqueue(s);
    }

    private async Task<IResult> HandleAsync(HttpContext http)
    {
        Interlocked.Increment(ref _requests);
        Tokens.Enqueue(http.Request.Headers["X-Auth-Token"].ToString());
        if (_planned.TryDequeue(out var planned)) return Results.StatusCode(planned);
        if (http.Request.ContentType?.StartsWith("application/json", StringComparison.Ordinal) != true)
            return Violation($"Content-Type is '{http.Request.ContentType}', not application/json");
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(http.Request.Body);
        }
        catch (JsonException e)
        {
            return Violation($"the body is not JSON: {e.Message}");
        }
        if (body is not JsonObject root || root.Count != 1 || root["events"] is not JsonArray { Count: > 0 } events)
            return Violation($"the body must be {{\"events\": [...]}} with at least one event: {body?.ToJsonString()}");
        var answers = new JsonArray();
        var known = 0;
        var taken = new List<(string, string, string, string)>();
        foreach (var e in events)
        {
            if (e is not JsonObject ev) return Violation($"an event is not an object: {e?.ToJsonString()}");
            foreach (var (key, _) in ev)
                if (key is not ("name" or "server_uuid" or "tag" or "status")) return Violation($"unknown event attribute '{key}'");
            var name = ev["name"]?.GetValueKind() == JsonValueKind.String ? (string)ev["name"]! : null;
            var server = ev["server_uuid"]?.GetValueKind() == JsonValueKind.String ? (string)ev["server_uuid"]! : null;
            var tag = ev["tag"] is null ? "" : ev["tag"]!.GetValueKind() == JsonValueKind.String ? (string)ev["tag"]! : null;
            var status = ev["status"] is null ? "completed" : ev["status"]!.GetValueKind() == JsonValueKind.String ? (string)ev["status"]! : null;
            if (name is null || !EventNames.Contains(name)) return Violation($"event name '{ev["name"]}' is not one of Nova's");
            if (server is null || !Guid.TryParse(server, out _)) return Violation($"server_uuid '{ev["server_uuid"]}' is not a UUID");
            if (tag is null || tag.Length > 255) return Violation($"tag '{ev["tag"]}' is not a string of at most 255 characters");
            if (status is null || !Statuses.Contains(status)) return Violation($"status '{ev["status"]}' is not one of Nova's");
            var code = Instances.ContainsKey(server) ? 200 : 404;
            if (code == 200)
            {
                known++;
                taken.Add((name, server, tag, status));
            }
            var answer = ev.DeepClone().AsObject();
            answer["code"] = code;
            answers.Add(answer);
        }
        foreach (var t in taken) Accepted.Enqueue(t);
        if (known == 0) return Results.Json(new JsonObject { ["itemNotFound"] = new JsonObject { ["code"] = 404, ["message"] = "No instances found for any event" } }, statusCode: 404);
        return Results.Json(new JsonObject { ["events"] = answers }, statusCode: known == events.Count ? 200 : 207);
    }

    private IResult Violation(string what)
    {
        Violations.Enqueue(what);
        return Results.Json(new JsonObject { ["badRequest"] = new JsonObject { ["code"] = 400, ["message"] = what } }, statusCode: 400);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
