using System.Net;
using System.Text;
using Calico.Api.Tests.Fuzz;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

/// <summary>
/// Each input the fuzz (<see cref="ApiFuzzTests"/>) or its review found answered with a server error or changing
/// something although refused, by itself: now a 4xx that names what is wrong, with nothing stored changed.
/// </summary>
[Collection(TokenApi.Name)]
public sealed class HostileInputTests(TokenApiServer server)
{
    private NeutronClient Demo => server.Demo;

    /// <summary>An id no resource can have, in the path: Orleans refused the blank grain key with an exception (500).</summary>
    [Theory]
    [InlineData("DELETE", "networks", "%20", "NetworkNotFound")]
    [InlineData("DELETE", "networks", "%09", "NetworkNotFound")]
    [InlineData("GET", "networks", "%20%20", "NetworkNotFound")]
    [InlineData("PUT", "networks", "%20", "NetworkNotFound")]
    [InlineData("GET", "subnets", "%20", "SubnetNotFound")]
    [InlineData("PUT", "subnets", "%0A", "SubnetNotFound")]
    [InlineData("DELETE", "subnets", "%20", "SubnetNotFound")]
    [InlineData("GET", "ports", "%20%20", "PortNotFound")]
    [InlineData("PUT", "ports", "%20", "PortNotFound")]
    [InlineData("DELETE", "ports", "%09", "PortNotFound")]
    [InlineData("GET", "security-groups", "%09", "SecurityGroupNotFound")]
    [InlineData("PUT", "security-groups", "%20", "SecurityGroupNotFound")]
    [InlineData("DELETE", "security-groups", "%20", "SecurityGroupNotFound")]
    [InlineData("DELETE", "security-group-rules", "%20", "SecurityGroupRuleNotFound")]
    [InlineData("GET", "floatingips", "%20", "FloatingIPNotFound")]
    [InlineData("PUT", "floatingips", "%20", "FloatingIPNotFound")]
    [InlineData("DELETE", "floatingips", "%20", "FloatingIPNotFound")]
    [InlineData("DELETE", "agents", "%20", "AgentNotFound")]
    [InlineData("DELETE", "ports", "..%2F..%2Fetc%2Fpasswd", "PortNotFound")]
    [InlineData("GET", "subnets", "%E3%83%8D%E3%83%83%E3%83%88", "SubnetNotFound")]
    public async Task An_id_in_the_path_that_no_resource_can_have_is_404_and_changes_nothing(string method, string collection, string id, string type)
    {
        var singular = collection.TrimEnd('s').Replace('-', '_');
        var body = method == "PUT" ? $"{{\"{singular}\": {{\"description\": \"x\"}}}}" : null;
        await AssertRefusedAsync(server.Admin, new HttpMethod(method), $"/v2.0/{collection}/{id}", body, HttpStatusCode.NotFound, type, "could not be found", "does not exist");
    }

    [Fact]
    public async Task An_id_in_the_path_longer_than_any_id_is_404()
    {
        await AssertRefusedAsync(Demo, HttpMethod.Delete, $"/v2.0/networks/{new string('a', 256)}", (string?)null, HttpStatusCode.NotFound, "NetworkNotFound", "could not be found");
    }

    /// <summary>An empty or blank id naming another resource in a body: 400 naming the attribute, before any lookup.</summary>
    [Theory]
    [InlineData("ports", "port", """{"network_id": ""}""", "network_id: is required (it is empty)")]
    [InlineData("ports", "port", """{"network_id": " "}""", "network_id: ' ' may contain only")]
    [InlineData("subnets", "subnet", """{"network_id": "\t", "cidr": "10.250.0.0/24"}""", "network_id: '\t' may contain only")]
    [InlineData("security-group-rules", "security_group_rule", """{"security_group_id": "", "direction": "ingress"}""", "security_group_id: is required (it is empty)")]
    [InlineData("security-group-rules", "security_group_rule", """{"security_group_id": "  ", "direction": "ingress"}""", "security_group_id: '  ' may contain only")]
    [InlineData("floatingips", "floatingip", """{"floating_network_id": " "}""", "floating_network_id: ' ' may contain only")]
    public async Task A_blank_id_in_a_create_body_is_400_naming_the_attribute(string collection, string singular, string attributes, string message)
    {
        await AssertRefusedAsync(Demo, HttpMethod.Post, $"/v2.0/{collection}", $"{{\"{singular}\": {attributes}}}", HttpStatusCode.BadRequest, "InvalidInput", message);
    }

    [Fact]
    public async Task Blank_ids_inside_a_port_body_are_400_naming_the_element()
    {
        var network = (string)(await Demo.NetworkAsync("hostile-port-ids"))["id"]!;
        await AssertRefusedAsync(Demo, HttpMethod.Post, "/v2.0/ports", $$$"""{"port": {"network_id": "{{{network}}}", "security_groups": [" "]}}""",
            HttpStatusCode.BadRequest, "InvalidInput", "security_groups[0]: ' ' may contain only");
        await AssertRefusedAsync(Demo, HttpMethod.Post, "/v2.0/ports", $$$"""{"port": {"network_id": "{{{network}}}", "fixed_ips": [{"subnet_id": ""}]}}""",
            HttpStatusCode.BadRequest, "InvalidInput", "fixed_ips[0].subnet_id: is required (it is empty)");
    }

    [Fact]
    public async Task A_blank_remote_group_or_port_id_is_400_naming_the_attribute()
    {
        var group = (string)(await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "hostile-remote" }))["id"]!;
        await AssertRefusedAsync(Demo, HttpMethod.Post, "/v2.0/security-group-rules",
            $$$"""{"security_group_rule": {"security_group_id": "{{{group}}}", "direction": "ingress", "remote_group_id": " "}}""",
            HttpStatusCode.BadRequest, "InvalidInput", "remote_group_id: ' ' may contain only");

        var external = (string)(await server.Admin.NetworkAsync("hostile-external", new JsonObject { ["router:external"] = true }))["id"]!;
        await server.Admin.SubnetAsync(external, Cidrs.NextV4());
        var fip = (string)(await Demo.CreateAsync("floatingips", "floatingip", new JsonObject { ["floating_network_id"] = external }))["id"]!;
        await AssertRefusedAsync(Demo, HttpMethod.Put, $"/v2.0/floatingips/{fip}", """{"floatingip": {"port_id": " "}}""",
            HttpStatusCode.BadRequest, "InvalidInput", "port_id: ' ' may contain only");
    }

    /// <summary>The parser checks a string's UTF-8 only when it is read, which threw past the error mapping (500).</summary>
    [Fact]
    public async Task A_body_that_is_not_utf8_is_400_malformed()
    {
        byte[] body = [.. """{"network": {"name": """u8, (byte)'"', 0xff, 0xfe, 0xc0, 0x80, (byte)'"', (byte)'}', (byte)'}'];
        await AssertRefusedAsync(Demo, HttpMethod.Post, "/v2.0/networks", body, HttpStatusCode.BadRequest, "MalformedRequestBody", "not valid UTF-8");
    }

    /// <summary>A JsonObject with a key twice threw when first read (500); the parser now refuses it.</summary>
    [Theory]
    [InlineData("""{"network": {}, "network": {"name": "twice"}}""")]
    [InlineData("""{"network": {"name": "a", "name": "b"}}""")]
    public async Task A_body_with_a_key_twice_is_400_malformed(string body)
    {
        await AssertRefusedAsync(Demo, HttpMethod.Post, "/v2.0/networks", body, HttpStatusCode.BadRequest, "MalformedRequestBody", "Malformed request body");
    }

    /// <summary>A refused create for a project nobody used yet left that project's default group behind.</summary>
    [Fact]
    public async Task A_refused_security_group_create_for_a_new_project_creates_no_default_group()
    {
        await AssertRefusedAsync(server.Admin, HttpMethod.Post, "/v2.0/security-groups",
            """{"security_group": {"name": "web", "project_id": "hostile-new-project-1", "stateful": "maybe"}}""",
            HttpStatusCode.BadRequest, "InvalidInput", "stateful");
    }

    [Fact]
    public async Task A_refused_port_create_for_a_new_project_creates_no_default_group()
    {
        var network = (string)(await server.Admin.NetworkAsync("hostile-port-project"))["id"]!;
        await AssertRefusedAsync(server.Admin, HttpMethod.Post, "/v2.0/ports",
            $$$"""{"port": {"network_id": "{{{network}}}", "project_id": "hostile-new-project-2", "fixed_ips": [{"ip_address": "192.0.2.1"}]}}""",
            HttpStatusCode.BadRequest, "InvalidInput", "fixed_ips[0].ip_address");
    }

    private Task AssertRefusedAsync(NeutronClient client, HttpMethod method, string path, string? body, HttpStatusCode status, string type, params string[] messages) =>
        AssertRefusedAsync(client, method, path, body is null ? null : Encoding.UTF8.GetBytes(body), status, type, messages);

    /// <summary>Sends the request as it is and checks the refusal, and that every collection is as it was.</summary>
    private async Task AssertRefusedAsync(NeutronClient client, HttpMethod method, string path, byte[]? body, HttpStatusCode status, string type, params string[] messages)
    {
        var before = await StoreDump.TakeAsync(server.Admin);
        var reply = await client.SendBytesAsync(method, path, body);
        Assert.True(reply.Status == status, $"{method} {path} answered {(int)reply.Status}: {reply.Text}");
        Assert.Equal(type, reply.Error.Type);
        Assert.True(messages.Any(m => reply.Error.Message.Contains(m, StringComparison.Ordinal)), $"'{reply.Error.Message}' says none of: {string.Join(" | ", messages)}");
        Assert.Equal("", (await StoreDump.TakeAsync(server.Admin)).DifferencesFrom(before));
    }
}
