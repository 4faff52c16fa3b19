using System.Net;
using System.Text;

namespace Calico.Topology.Api;

/// <summary>One answer of the API: status, parsed body (null when empty) and the raw text.</summary>
public sealed record NeutronReply(HttpStatusCode Status, JsonNode? Body, string Text);

public sealed class NeutronApiException(string request, NeutronReply reply)
    : Exception($"{request} answered {(int)reply.Status} {reply.Status}: {reply.Text}")
{
    public NeutronReply Reply { get; } = reply;
}

/// <summary>
/// The Neutron v2.0 API as a client speaks it (JSON bodies wrapped in the resource's singular name), over an
/// HttpClient that reaches the controller inside its namespace. Only the shapes of Neutron's API are assumed.
/// </summary>
public sealed class NeutronClient(HttpClient http, Uri endpoint) : IDisposable
{
    public Uri Endpoint { get; } = endpoint;

    public async Task<NeutronReply> SendAsync(HttpMethod method, string path, JsonNode? body = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, new Uri(Endpoint, path));
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return new NeutronReply(response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), text);
    }

    private async Task<JsonNode?> ExpectAsync(HttpMethod method, string path, JsonNode? body, HttpStatusCode expected, CancellationToken cancellationToken)
    {
        var reply = await SendAsync(method, path, body, cancellationToken);
        return reply.Status == expected ? reply.Body : throw new NeutronApiException($"{method} {path}", reply);
    }

    public async Task<JsonObject> CreateAsync(string collection, string singular, JsonObject attributes, CancellationToken cancellationToken = default) =>
        (JsonObject)(await ExpectAsync(HttpMethod.Post, $"v2.0/{collection}", new JsonObject { [singular] = attributes }, HttpStatusCode.Created, cancellationToken))![singular]!;

    public async Task<JsonObject> ShowAsync(string collection, string singular, string id, CancellationToken cancellationToken = default) =>
        (JsonObject)(await ExpectAsync(HttpMethod.Get, $"v2.0/{collection}/{id}", null, HttpStatusCode.OK, cancellationToken))![singular]!;

    public async Task<JsonObject> UpdateAsync(string collection, string singular, string id, JsonObject attributes, CancellationToken cancellationToken = default) =>
        (JsonObject)(await ExpectAsync(HttpMethod.Put, $"v2.0/{collection}/{id}", new JsonObject { [singular] = attributes }, HttpStatusCode.OK, cancellationToken))![singular]!;

    public async Task<JsonArray> ListAsync(string collection, string query = "", CancellationToken cancellationToken = default) =>
        (JsonArray)(await ExpectAsync(HttpMethod.Get, $"v2.0/{collection}{query}", null, HttpStatusCode.OK, cancellationToken))![collection.Replace('-', '_')]!;

    public Task DeleteAsync(string collection, string id, CancellationToken cancellationToken = default) =>
        ExpectAsync(HttpMethod.Delete, $"v2.0/{collection}/{id}", null, HttpStatusCode.NoContent, cancellationToken);

    /// <summary>
    /// A router with its gateway on <paramref name="externalNetworkId"/> and an interface on each of
    /// <paramref name="subnetIds"/>: the ports of those subnets may then have floating IPs of that network (Neutron's
    /// rule; the router carries no traffic, every host routes its own workloads).
    /// </summary>
    public async Task<JsonObject> CreateRouterAsync(string name, string externalNetworkId, IEnumerable<string> subnetIds, CancellationToken cancellationToken = default)
    {
        var router = await CreateAsync("routers", "router", new JsonObject
        {
            ["name"] = name, ["external_gateway_info"] = new JsonObject { ["network_id"] = externalNetworkId },
        }, cancellationToken);
        foreach (var subnet in subnetIds)
            await ExpectAsync(HttpMethod.Put, $"v2.0/routers/{router["id"]}/add_router_interface", new JsonObject { ["subnet_id"] = subnet }, HttpStatusCode.OK, cancellationToken);
        return router;
    }

    public Task<JsonObject> CreateNetworkAsync(string name, CancellationToken cancellationToken = default) =>
        CreateAsync("networks", "network", new JsonObject { ["name"] = name, ["admin_state_up"] = true }, cancellationToken);

    public Task<JsonObject> CreateSubnetAsync(string networkId, string cidr, string gatewayIp, string name, bool enableDhcp = true,
        CancellationToken cancellationToken = default) =>
        CreateAsync("subnets", "subnet", new JsonObject
        {
            ["network_id"] = networkId,
            ["name"] = name,
            ["ip_version"] = 4,
            ["cidr"] = cidr,
            ["gateway_ip"] = gatewayIp,
            ["enable_dhcp"] = enableDhcp,
        }, cancellationToken);

    public Task<JsonObject> CreateSecurityGroupAsync(string name, string description, CancellationToken cancellationToken = default) =>
        CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = name, ["description"] = description }, cancellationToken);

    /// <summary>An ingress IPv4 rule: protocol ("icmp", "tcp", "udp"), optionally a port range.</summary>
    public Task<JsonObject> AddIngressRuleAsync(string groupId, string protocol, int? portMin = null, int? portMax = null,
        string? remoteIpPrefix = null, CancellationToken cancellationToken = default)
    {
        var rule = new JsonObject
        {
            ["security_group_id"] = groupId,
            ["direction"] = "ingress",
            ["ethertype"] = "IPv4",
            ["protocol"] = protocol,
        };
        if (portMin is not null) rule["port_range_min"] = portMin;
        if ((portMax ?? portMin) is { } max) rule["port_range_max"] = max;
        if (remoteIpPrefix is not null) rule["remote_ip_prefix"] = remoteIpPrefix;
        return CreateAsync("security-group-rules", "security_group_rule", rule, cancellationToken);
    }

    /// <summary>
    /// A port with one fixed IP on <paramref name="subnetId"/> (<paramref name="address"/>, or the next free one when
    /// null), owned by a VM as Nova creates it, and bound to <paramref name="host"/> unless that is null (an unbound
    /// port, as Nova creates one before it binds it: see <see cref="BindPortAsync"/>).
    /// </summary>
    public Task<JsonObject> CreatePortAsync(string networkId, string subnetId, IPAddress? address, string? host, string deviceId,
        IEnumerable<string> securityGroups, string? name = null, CancellationToken cancellationToken = default)
    {
        var fixedIp = new JsonObject { ["subnet_id"] = subnetId };
        if (address is not null) fixedIp["ip_address"] = address.ToString();
        var port = new JsonObject
        {
            ["network_id"] = networkId,
            ["name"] = name ?? deviceId,
            ["fixed_ips"] = new JsonArray(fixedIp),
            ["device_owner"] = "compute:nova",
            ["device_id"] = deviceId,
            ["security_groups"] = new JsonArray([.. securityGroups.Select(g => (JsonNode)g)]),
        };
        if (host is not null) port["binding:host_id"] = host;
        return CreateAsync("ports", "port", port, cancellationToken);
    }

    /// <summary>
    /// Binds a port to a host (an empty name unbinds it): <c>PUT /v2.0/ports/{id}</c> with binding:host_id, the
    /// binding part of the update Nova makes to a port it has created for an instance.
    /// </summary>
    public Task<JsonObject> BindPortAsync(string portId, string host, CancellationToken cancellationToken = default) =>
        UpdateAsync("ports", "port", portId, new JsonObject { ["binding:host_id"] = host }, cancellationToken);

    public async Task<string> PortStatusAsync(string portId, CancellationToken cancellationToken = default) =>
        (string)(await ShowAsync("ports", "port", portId, cancellationToken))["status"]!;

    /// <summary>host name → alive, from GET /v2.0/agents.</summary>
    public async Task<IReadOnlyDictionary<string, bool>> AgentsAliveAsync(CancellationToken cancellationToken = default) =>
        (await ListAsync("agents", "", cancellationToken)).OfType<JsonObject>()
            .ToDictionary(a => (string)a["host"]!, a => (bool)a["alive"]!, StringComparer.Ordinal);

    public void Dispose() => http.Dispose();
}
