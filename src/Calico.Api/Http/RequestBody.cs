using System.Buffers;
using System.Text.Json;
using Calico.Api.Hosting;
using Calico.Model.Collections;
using Microsoft.Extensions.Options;

namespace Calico.Api.Http;

/// <summary>
/// Reads a Neutron request body, <c>{"network": {...}}</c>: refuses oversized bodies before parsing them, malformed
/// JSON, and bodies without the resource's key, each with a message that says what to send instead. A create may
/// also send a list under the plural key (Neutron's bulk create).
/// </summary>
internal sealed class RequestBody(IOptions<CalicoApiOptions> options)
{
    /// <summary>
    /// Duplicate keys are refused while parsing: a JsonObject holding two would throw only when it is first read.
    /// </summary>
    private static readonly JsonDocumentOptions Parsing = new() { MaxDepth = 32, AllowDuplicateProperties = false };

    public async Task<RequestObject> ReadAsync(HttpContext http, string resource)
    {
        var envelope = await ReadEnvelopeAsync(http, resource);
        if (!envelope.TryGetPropertyValue(resource, out var inner))
        {
            if (envelope.ContainsKey(resource + "s"))
                throw ApiException.BadRequest($"Bulk requests ('{resource}s') are only for creating; send one {{\"{resource}\": {{...}}}}.");
            throw ApiException.BadRequest($"Unable to find '{resource}' in request body.");
        }
        return Single(envelope, resource, inner, Auth.Caller.Of(http));
    }

    /// <summary>
    /// A body that is the attributes themselves, not wrapped in a resource key: Neutron's member actions
    /// (<c>PUT /v2.0/routers/{id}/add_router_interface</c> with <c>{"subnet_id": ...}</c>, a subnet pool's
    /// <c>{"prefixes": [...]}</c>); <paramref name="what"/> names the action in refusals.
    /// </summary>
    public async Task<RequestObject> ReadObjectAsync(HttpContext http, string what) =>
        new(await ReadEnvelopeAsync(http, what), Auth.Caller.Of(http));

    /// <summary>
    /// A create's body: one resource (<c>{"network": {...}}</c>) or a bulk list (<c>{"networks": [{...}, ...]}</c>),
    /// each element an object; <paramref name="bulk"/> says which was sent.
    /// </summary>
    public async Task<(IReadOnlyList<RequestObject> Items, bool Bulk)> ReadCreateAsync(HttpContext http, string resource)
    {
        var plural = resource + "s";
        var envelope = await ReadEnvelopeAsync(http, resource);
        if (envelope.TryGetPropertyValue(resource, out var inner)) return ([Single(envelope, resource, inner, Auth.Caller.Of(http))], false);
        if (!envelope.TryGetPropertyValue(plural, out var list)) throw ApiException.BadRequest($"Unable to find '{resource}' in request body (or a list under '{plural}').");
        if (envelope.Count != 1)
            throw ApiException.BadRequest($"Unrecognized attribute(s) '{string.Join("', '", envelope.Select(p => p.Key).Where(k => k != plural))}' beside '{plural}'.");
        if (list is not JsonArray array) throw ApiException.BadRequest($"'{plural}' must be a JSON list of objects.");
        if (array.Count == 0) throw ApiException.BadRequest($"Resources required: '{plural}' is an empty list.");
        var items = new List<RequestObject>(array.Count);
        for (var i = 0; i < array.Count; i++)
            items.Add(array[i] is JsonObject o ? new RequestObject(o, Auth.Caller.Of(http)) : throw ApiException.BadRequest($"{plural}[{i}] must be a JSON object."));
        return (items, true);
    }

    /// <summary>The body of a tags replacement, <c>{"tags": ["a", "b"]}</c>: strings of 1..255 characters, none twice.</summary>
    public async Task<ValueList<string>> ReadTagsAsync(HttpContext http)
    {
        var envelope = await ReadEnvelopeAsync(http, "tags");
        if (!envelope.ContainsKey("tags")) throw ApiException.BadRequest("Invalid tags body: send {\"tags\": [...]}.", "InvalidInput");
        if (envelope.Count != 1)
            throw ApiException.BadRequest($"Unrecognized attribute(s) '{string.Join("', '", envelope.Select(p => p.Key).Where(k => k != "tags"))}' beside 'tags'.");
        return new RequestObject(envelope, Auth.Caller.Of(http)).Tags() ?? throw RequestObject.Invalid("tags", "must not be null");
    }

    private static RequestObject Single(JsonObject envelope, string resource, JsonNode? inner, Auth.Caller caller)
    {
        if (envelope.Count != 1)
            throw ApiException.BadRequest($"Unrecognized attribute(s) '{string.Join("', '", envelope.Select(p => p.Key).Where(k => k != resource))}' beside '{resource}'.");
        if (inner is not JsonObject body)
            throw ApiException.BadRequest($"'{resource}' must be a JSON object.");
        return new RequestObject(body, caller);
    }

    private async Task<JsonObject> ReadEnvelopeAsync(HttpContext http, string resource)
    {
        var max = options.Value.MaxRequestBodyBytes;
        if (http.Request.ContentLength > max) throw TooLarge(max);
        // One pooled buffer, grown by doubling up to the limit: a port create's body is a few hundred bytes.
        var buffer = ArrayPool<byte>.Shared.Rent(http.Request.ContentLength is > 0 and var length ? (int)length + 1 : 1024);
        try
        {
            var used = 0;
            int read;
            while ((read = await http.Request.Body.ReadAsync(buffer.AsMemory(used), http.RequestAborted)) > 0)
            {
                used += read;
                if (used > max) throw TooLarge(max);
                if (used == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, max + 1));
                    buffer.AsSpan(0, used).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }
            if (used == 0)
                throw ApiException.BadRequest($"Resource body required: send {{\"{resource}\": {{...}}}}.");
            var bytes = buffer.AsSpan(0, used);
            // The parser checks strings' UTF-8 only when a value is read, which would then fail as a server error.
            if (!System.Text.Unicode.Utf8.IsValid(bytes))
                throw ApiException.BadRequest("Malformed request body: it is not valid UTF-8 (JSON bodies must be UTF-8).", "MalformedRequestBody");
            return JsonNode.Parse(bytes, documentOptions: Parsing) as JsonObject
                   ?? throw ApiException.BadRequest($"Unable to find '{resource}' in request body.");
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"Malformed request body: {e.Message}", "MalformedRequestBody");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ApiException TooLarge(int max) =>
        new(StatusCodes.Status413RequestEntityTooLarge, "HTTPRequestEntityTooLarge",
            $"Request body is larger than {max} bytes (Api:MaxRequestBodyBytes).");
}
