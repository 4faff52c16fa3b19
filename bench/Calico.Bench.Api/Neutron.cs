using System.Net;
using System.Text;

namespace Calico.Bench.Api;

/// <summary>The few Neutron calls the benchmark makes, over one keep-alive connection pool; any unexpected status fails the run.</summary>
internal sealed class Neutron(ControllerProcess silo)
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(silo.BaseUrl), Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>A network with one IPv4 subnet; its id.</summary>
    public async Task<string> NetworkAsync(string name, string cidr)
    {
        var network = await SendAsync(HttpMethod.Post, "/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = name } }, HttpStatusCode.Created);
        var id = (string)network!["network"]!["id"]!;
        await SendAsync(HttpMethod.Post, "/v2.0/subnets",
            new JsonObject { ["subnet"] = new JsonObject { ["network_id"] = id, ["cidr"] = cidr, ["ip_version"] = 4 } }, HttpStatusCode.Created);
        return id;
    }

    /// <summary>A port on the network, bound to <paramref name="host"/> (null: unbound); its id.</summary>
    public async Task<string> CreatePortAsync(string networkId, string? host)
    {
        var attributes = new JsonObject { ["network_id"] = networkId };
        if (host is not null) attributes["binding:host_id"] = host;
        var port = await SendAsync(HttpMethod.Post, "/v2.0/ports", new JsonObject { ["port"] = attributes }, HttpStatusCode.Created);
        return (string)port!["port"]!["id"]!;
    }

    public Task ShowPortAsync(string id) => SendAsync(HttpMethod.Get, $"/v2.0/ports/{id}", null, HttpStatusCode.OK);

    /// <summary>How many ports the list of the network's ports holds.</summary>
    public async Task<int> ListPortsAsync(string networkId) =>
        ((JsonArray)(await SendAsync(HttpMethod.Get, $"/v2.0/ports?network_id={networkId}", null, HttpStatusCode.OK))!["ports"]!).Count;

    public Task DeletePortAsync(string id) => SendAsync(HttpMethod.Delete, $"/v2.0/ports/{id}", null, HttpStatusCode.NoContent);

    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonNode? body, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != expected)
            throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}\n--- calico-silo ---\n{silo.Output}");
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }
}
