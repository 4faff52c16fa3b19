using System.Text.Json;
using Calico.Api.Hosting;
using Microsoft.Extensions.Options;

namespace Calico.Api.Http;

/// <summary>
/// Reads a Neutron request body, <c>{"network": {...}}</c>: refuses oversized bodies before parsing them, malformed
/// JSON, and bodies without the resource's key, each with a message that says what to send instead.
/// </summary>
internal sealed class RequestBody(IOptions<CalicoApiOptions> options)
{
    /// <summary>
    /// Duplicate keys are refused while parsing: a JsonObject holding two would throw only when it is first read.
    /// </summary>
    private static readonly JsonDocumentOptions Parsing = new() { MaxDepth = 32, AllowDuplicateProperties = false };

    public async Task<RequestObject> ReadAsync(HttpContext http, string resource)
    {
        var max = options.Value.MaxRequestBodyBytes;
        if (http.Request.ContentLength > max) throw TooLarge(max);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (buffer.Length + read > max) throw TooLarge(max);
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0)
            throw ApiException.BadRequest($"Resource body required: send {{\"{resource}\": {{...}}}}.");
        // The parser checks strings' UTF-8 only when a value is read, which would then fail as a server error.
        var bytes = buffer.ToArray();
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
            throw ApiException.BadRequest("Malformed request body: it is not valid UTF-8 (JSON bodies must be UTF-8).", "MalformedRequestBody");
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(bytes, documentOptions: Parsing);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"Malformed request body: {e.Message}", "MalformedRequestBody");
        }
        if (root is not JsonObject envelope || !envelope.TryGetPropertyValue(resource, out var inner))
        {
            if (root is JsonObject o && o.ContainsKey(resource + "s"))
                throw ApiException.BadRequest($"Bulk requests ('{resource}s') are not supported; send one {{\"{resource}\": {{...}}}} per request.");
            throw ApiException.BadRequest($"Unable to find '{resource}' in request body.");
        }
        if (envelope.Count != 1)
            throw ApiException.BadRequest($"Unrecognized attribute(s) '{string.Join("', '", envelope.Select(p => p.Key).Where(k => k != resource))}' beside '{resource}'.");
        if (inner is not JsonObject body)
            throw ApiException.BadRequest($"'{resource}' must be a JSON object.");
        return new RequestObject(body, Auth.Caller.Of(http));
    }

    private static ApiException TooLarge(int max) =>
        new(StatusCodes.Status413RequestEntityTooLarge, "HTTPRequestEntityTooLarge",
            $"Request body is larger than {max} bytes (Api:MaxRequestBodyBytes).");
}
