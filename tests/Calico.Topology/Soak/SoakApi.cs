using System.Net;
using Calico.Topology.Api;

namespace Calico.Topology.Soak;

/// <summary>
/// The soak's API client: every call is judged. It goes to the controllers in turn, as behind a load balancer; a
/// controller that does not answer (killed by a fault) or answers a retryable error (503 with a Neutron error that
/// says why) is left for the next, and the call is tried again. An answer the caller does not expect, or a 5xx
/// without a reason, counts as an error and ends the call.
/// </summary>
internal sealed class SoakApi(IReadOnlyList<NeutronClient> controllers, SoakReport report)
{
    private const int Attempts = 40;
    private int _next;

    /// <summary>
    /// Sends the request until an answer that <paramref name="expected"/> accepts (given the attempt number: a retry
    /// may see what an earlier attempt did, e.g. 404 on a repeated delete); null when the call failed (counted).
    /// </summary>
    public async Task<NeutronReply?> CallAsync(string what, HttpMethod method, string path, JsonNode? body, Func<NeutronReply, int, bool> expected,
        CancellationToken cancellationToken, Func<Task<NeutronReply?>>? afterLostAnswer = null)
    {
        var lost = false;
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            // A request whose answer was lost may have been carried out: a create is looked for before it is sent again.
            if (lost && afterLostAnswer is not null && await afterLostAnswer() is { } found) return found;
            var client = controllers[(int)((uint)Interlocked.Increment(ref _next) % controllers.Count)];
            NeutronReply reply;
            try
            {
                reply = await client.SendAsync(method, path, body?.DeepClone(), cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                report.Retryable(e is HttpRequestException ? "no answer (controller down)" : "timed out");
                lost = true;
                await Task.Delay(250, cancellationToken);
                continue;
            }
            catch (System.Text.Json.JsonException e)
            {
                report.Error("answer not JSON", $"{method} {path}: {e.Message}");
                return null;
            }
            if (expected(reply, attempt)) return reply;
            if ((int)reply.Status >= 500)
            {
                if (Reason(reply) is { } reason && reply.Status == HttpStatusCode.ServiceUnavailable)
                {
                    report.Retryable($"503 {reason}");
                    await Task.Delay(250, cancellationToken);
                    continue;
                }
                report.Error($"{(int)reply.Status} {Reason(reply) ?? "without a reason"}", $"{what}: {method} {path} -> {(int)reply.Status} {Truncate(reply.Text)}");
                return null;
            }
            report.Error($"unexpected {(int)reply.Status}", $"{what}: {method} {path} -> {(int)reply.Status} {Truncate(reply.Text)}");
            return null;
        }
        report.Error("no controller answered", $"{what}: {method} {path} after {Attempts} attempts");
        return null;
    }

    /// <summary>
    /// A create; <paramref name="attributes"/> must hold a unique value of <paramref name="key"/> (a name, or a
    /// description for resources without one), by which a create whose answer was lost is found.
    /// </summary>
    public async Task<JsonObject?> CreateAsync(string what, string collection, string singular, JsonObject attributes, CancellationToken cancellationToken,
        string key = "name")
    {
        var unique = (string)attributes[key]!;
        var reply = await CallAsync(what, HttpMethod.Post, $"v2.0/{collection}", new JsonObject { [singular] = attributes },
            (r, _) => r.Status == HttpStatusCode.Created, cancellationToken, async () =>
                await ListAsync(what + " (was it made?)", collection, $"?{key}={Uri.EscapeDataString(unique)}", cancellationToken) is [JsonObject made, ..]
                    ? new NeutronReply(HttpStatusCode.Created, new JsonObject { [singular] = made.DeepClone() }, "")
                    : null);
        return reply?.Body?[singular] as JsonObject;
    }

    public async Task<JsonObject?> UpdateAsync(string what, string collection, string singular, string id, JsonObject attributes, CancellationToken cancellationToken)
    {
        var reply = await CallAsync(what, HttpMethod.Put, $"v2.0/{collection}/{id}", new JsonObject { [singular] = attributes },
            (r, _) => r.Status == HttpStatusCode.OK, cancellationToken);
        return reply?.Body?[singular] as JsonObject;
    }

    /// <summary>A delete; 404 on a retry means an earlier attempt did it (its answer was lost).</summary>
    public async Task<bool> DeleteAsync(string what, string collection, string id, CancellationToken cancellationToken) =>
        await CallAsync(what, HttpMethod.Delete, $"v2.0/{collection}/{id}", null,
            (r, attempt) => r.Status == HttpStatusCode.NoContent || (attempt > 1 && r.Status == HttpStatusCode.NotFound), cancellationToken) is not null;

    public async Task<JsonArray?> ListAsync(string what, string collection, string query, CancellationToken cancellationToken)
    {
        var reply = await CallAsync(what, HttpMethod.Get, $"v2.0/{collection}{query}", null, (r, _) => r.Status == HttpStatusCode.OK, cancellationToken);
        return reply?.Body?[collection.Replace('-', '_')] as JsonArray;
    }

    /// <summary>The Neutron error's type and message, when the answer has one.</summary>
    private static string? Reason(NeutronReply reply) =>
        reply.Body?["NeutronError"] is JsonObject error && (string?)error["message"] is { Length: > 0 } message
            ? $"{(string?)error["type"]}: {Truncate(message, 80)}"
            : null;

    private static string Truncate(string text, int length = 300) => text.Length <= length ? text : text[..length] + "…";
}
