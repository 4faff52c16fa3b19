using System.Net;
using Calico.Api.Tests.Harness;
using Calico.Grains;
using Calico.Model.Resources;

namespace Calico.Api.Tests;

/// <summary>
/// Api:Auth=keystone against a real Keystone (Debian's, on loopback): the openstack CLI logs in with a password and
/// finds the API in Keystone's catalog, and Neutron's default policy holds for Keystone's roles.
/// </summary>
[Collection(KeystoneApi.Name)]
public sealed class KeystoneCliTests(KeystoneApiServer server)
{
    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    [Fact]
    public async Task The_openstack_cli_logs_in_through_keystone_and_each_project_sees_its_own_networks()
    {
        var name = Unique("ks-net");
        var member = server.Cli("demo-member", "demo");
        var network = await member.JsonAsync("network", "create", name);
        Assert.Equal(await server.Keystone.ProjectIdAsync("demo"), (string)network["project_id"]!);
        Assert.Contains(name, await member.RunAsync("network", "list", "-f", "value", "-c", "Name"), StringComparison.Ordinal);

        var reader = server.Cli("demo-reader", "demo");
        Assert.Contains(name, await reader.RunAsync("network", "list", "-f", "value", "-c", "Name"), StringComparison.Ordinal);
        var (exit, _, error) = await reader.TryAsync("network", "create", Unique("ks-reader"));
        Assert.NotEqual(0, exit);
        Assert.Contains("disallowed by policy", error, StringComparison.Ordinal);

        var other = server.Cli("other-member", "other");
        Assert.DoesNotContain(name, await other.RunAsync("network", "list", "-f", "value", "-c", "Name"), StringComparison.Ordinal);
        (exit, _, error) = await other.TryAsync("network", "show", (string)network["id"]!);
        Assert.NotEqual(0, exit);
        Assert.Contains("No Network found", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_or_invalid_token_is_401_naming_keystone_and_the_version_document_stays_open()
    {
        using var http = new HttpClient();
        foreach (var token in new[] { null, "gAAAAABnot-a-token-keystone-knows" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, server.BaseUrl + "/v2.0/networks");
            if (token is not null) request.Headers.Add("X-Auth-Token", token);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal($"Keystone uri=\"{server.Keystone.Url}\"", Assert.Single(response.Headers.WwwAuthenticate).ToString());
        }
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(server.BaseUrl + "/")).StatusCode);
    }

    [Fact]
    public async Task An_admin_binds_a_port_and_a_member_may_not_even_claiming_roles_in_headers()
    {
        var member = await server.ClientAsync("demo-member", "demo");
        var admin = await server.ClientAsync("admin", "admin");
        var (network, _, _) = await member.NetworkWithSubnetAsync(Unique("ks-bind"));
        var port = (string)(await member.PortAsync(network))["id"]!;
        var bind = new JsonObject { ["port"] = new JsonObject { ["binding:host_id"] = "ks-host-1" } };

        var spoofing = member.With(("X-Roles", "admin"), ("X-Identity-Status", "Confirmed"), ("X-Is-Admin-Project", "True"));
        foreach (var client in new[] { member, spoofing })
        {
            var refused = await client.PutAsync($"/v2.0/ports/{port}", bind);
            Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
            Assert.Contains("'binding:host_id'", refused.Error.Message, StringComparison.Ordinal);
        }
        var bound = await admin.PutAsync($"/v2.0/ports/{port}", bind);
        Assert.Equal(HttpStatusCode.OK, bound.Status);
        Assert.Equal("ks-host-1", (string)bound.Body!["port"]!["binding:host_id"]!);

        // A reader claiming another project and the admin role through headers stays a reader of its own.
        var otherNetwork = (string)(await (await server.ClientAsync("other-member", "other")).NetworkAsync(Unique("ks-other")))["id"]!;
        var reader = (await server.ClientAsync("demo-reader", "demo"))
            .With(("X-Roles", "admin,member"), ("X-Project-Id", await server.Keystone.ProjectIdAsync("other")), ("X-Identity-Status", "Confirmed"));
        Assert.Equal(HttpStatusCode.NotFound, (await reader.GetAsync($"/v2.0/networks/{otherNetwork}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = "x" } })).Status);
    }

    [Fact]
    public async Task Nova_is_told_of_a_bound_port_with_a_token_keystone_issued_to_the_apis_service_user()
    {
        var member = await server.ClientAsync("demo-member", "demo");
        var (network, _, _) = await member.NetworkWithSubnetAsync(Unique("ks-nova"));
        var instance = Guid.NewGuid().ToString();
        server.Nova.Instances[instance] = true;
        var port = (string)(await member.PortAsync(network, new JsonObject { ["device_id"] = instance, ["device_owner"] = "compute:nova" }))["id"]!;
        var admin = await server.ClientAsync("admin", "admin");
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/v2.0/ports/{port}",
            new JsonObject { ["port"] = new JsonObject { ["binding:host_id"] = "ks-nova-h1" } })).Status);

        await server.Cluster.GetGrain<IHostGrain>("ks-nova-h1").ReportEndpointStatusesAsync(new EndpointStatusReport(
            new Dictionary<string, EndpointStatus> { [port] = new(EndpointStatusKind.Active, null, "ks-nova-h1", 1, DateTimeOffset.UtcNow) }, [], Complete: false));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!server.Nova.Accepted.Any(e => e.Server == instance))
        {
            Assert.Empty(server.Nova.Violations);
            if (DateTime.UtcNow > deadline) Assert.Fail($"Nova heard nothing of {instance}:\n{server.Silo.Output}");
            await Task.Delay(50);
        }
        Assert.Single(server.Nova.Accepted, e => e.Server == instance && e.Name == "network-vif-plugged" && e.Tag == port);
        var token = server.Nova.Tokens.Last(t => t.Length > 0);
        Assert.Equal("neutron", await server.Keystone.UserOfTokenAsync(token));
    }
}
