using System.Net;
using System.Text;

namespace Calico.Api.Tests.Harness;

/// <summary>One answer: status and parsed body (null when empty).</summary>
public sealed record Reply(HttpStatusCode Status, JsonNode? Body, string Text)
{
    public JsonObject Object => Body as JsonObject ?? throw new InvalidOperationException($"not a JSON object: {Text}");

    /// <summary>The NeutronError's type and message (fails if the body is not one).</summary>
    public (string Type, string Message) Error
    {
        get
        {
            var e = Body?["NeutronError"] ?? throw new InvalidOperationException($"not a NeutronError: {Status} {Text}");
            return ((string)e["type"]!, (string)e["message"]!);
        }
    }
}

/// <summary>An HTTP client that speaks the API the way a Neutron client does: JSON bodies, X-Auth-Token.</summary>
public sealed class NeutronClient(string baseUrl, string? token, Func<string> serverOutput, IReadOnlyList<(string Name, string Value)>? headers = null)
{
    /// <summary>The same caller, sending these headers too (e.g. identity headers that must not be trusted).</summary>
    public NeutronClient With(params (string Name, string Value)[] extra) => new(baseUrl, token, serverOutput, [.. headers ?? [], .. extra]);

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public Task<Reply> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<Reply> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path, null);

    public Task<Reply> PostAsync(string path, JsonNode body) => SendAsync(HttpMethod.Post, path, body.ToJsonString());

    public Task<Reply> PutAsync(string path, JsonNode body) => SendAsync(HttpMethod.Put, path, body.ToJsonString());

    public Task<Reply> SendAsync(HttpMethod method, string path, string? body) =>
        SendBytesAsync(method, path, body is null ? null : Encoding.UTF8.GetBytes(body));

    /// <summary>Sends <paramref name="body"/> byte for byte (as application/json), even when it is not valid UTF-8.</summary>
    public async Task<Reply> SendBytesAsync(HttpMethod method, string path, byte[]? body)
    {
        using var request = new HttpRequestMessage(method, baseUrl + path);
        if (token is not null) request.Headers.Add("X-Auth-Token", token);
        foreach (var (name, value) in headers ?? []) request.Headers.Add(name, value);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new("application/json") { CharSet = "utf-8" };
        }
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var node = text.Length == 0 ? null : JsonNode.Parse(text);
        return new Reply(response.StatusCode, node, text);
    }

    /// <summary>POSTs and returns the created resource; fails with the reply (and server log on 500) unless 201.</summary>
    public async Task<JsonObject> CreateAsync(string collection, string singular, JsonObject attributes)
    {
        var reply = await PostAsync($"/v2.0/{collection}", new JsonObject { [singular] = attributes });
        Assert.True(reply.Status == HttpStatusCode.Created,
            $"POST /v2.0/{collection} answered {(int)reply.Status}: {reply.Text}{(reply.Status == HttpStatusCode.InternalServerError ? "\n" + serverOutput() : "")}");
        return (JsonObject)reply.Body![singular]!;
    }

    public async Task<JsonArray> ListAsync(string collection, string query = "")
    {
        var reply = await GetAsync($"/v2.0/{collection}{query}");
        Assert.True(reply.Status == HttpStatusCode.OK, $"GET /v2.0/{collection}{query} answered {(int)reply.Status}: {reply.Text}");
        return (JsonArray)reply.Body![collection.Replace('-', '_')]!;
    }

    public async Task<JsonObject> NetworkAsync(string name, JsonObject? extra = null)
    {
        var attributes = new JsonObject { ["name"] = name };
        foreach (var (k, v) in extra ?? []) attributes[k] = v?.DeepClone();
        return await CreateAsync("networks", "network", attributes);
    }

    public async Task<JsonObject> SubnetAsync(string networkId, string cidr, JsonObject? extra = null)
    {
        var attributes = new JsonObject { ["network_id"] = networkId, ["cidr"] = cidr, ["ip_version"] = cidr.Contains(':') ? 6 : 4 };
        foreach (var (k, v) in extra ?? []) attributes[k] = v?.DeepClone();
        return await CreateAsync("subnets", "subnet", attributes);
    }

    /// <summary>A network named <paramref name="name"/> with one IPv4 subnet of a fresh /24 (<see cref="Cidrs.NextV4"/>).</summary>
    public async Task<(string Network, string Subnet, string Cidr)> NetworkWithSubnetAsync(string name)
    {
        var network = (string)(await NetworkAsync(name))["id"]!;
        var cidr = Cidrs.NextV4();
        var subnet = await SubnetAsync(network, cidr);
        return (network, (string)subnet["id"]!, cidr);
    }

    /// <summary>
    /// A router with its gateway on <paramref name="externalNetworkId"/> (none when null) and an interface on each of
    /// <paramref name="subnetIds"/>: what a port of those subnets needs before it may have a floating IP of that network.
    /// </summary>
    public async Task<JsonObject> RouterAsync(string? externalNetworkId, params string[] subnetIds)
    {
        var attributes = new JsonObject { ["name"] = "router" };
        if (externalNetworkId is not null) attributes["external_gateway_info"] = new JsonObject { ["network_id"] = externalNetworkId };
        var router = await CreateAsync("routers", "router", attributes);
        foreach (var subnet in subnetIds) await AddInterfaceAsync((string)router["id"]!, new JsonObject { ["subnet_id"] = subnet });
        return router;
    }

    /// <summary>PUT …/add_router_interface; fails with the reply unless 200.</summary>
    public async Task<JsonObject> AddInterfaceAsync(string routerId, JsonObject body)
    {
        var reply = await PutAsync($"/v2.0/routers/{routerId}/add_router_interface", body);
        Assert.True(reply.Status == HttpStatusCode.OK, $"add_router_interface answered {(int)reply.Status}: {reply.Text}");
        return reply.Object;
    }

    public async Task<JsonObject> PortAsync(string networkId, JsonObject? extra = null)
    {
        var attributes = new JsonObject { ["network_id"] = networkId };
        foreach (var (k, v) in extra ?? []) attributes[k] = v?.DeepClone();
        return await CreateAsync("ports", "port", attributes);
    }
}
