using System.Net;
using Calico.Api.Tests.Fuzz;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

/// <summary>
/// Neutron's default policy with configured tokens; Keystone's tokens end in the same callers and the same code
/// (see KeystoneCliTests for the roles as Keystone gives them).
/// </summary>
[Collection(TokenApi.Name)]
public sealed class PolicyTests(TokenApiServer server)
{
    [Fact]
    public async Task A_reader_reads_its_project_and_changes_nothing()
    {
        var network = (string)(await server.Demo.NetworkAsync("policy-reader-net"))["id"]!;
        Assert.Contains(await server.Reader.ListAsync("networks"), n => (string)n!["id"]! == network);
        Assert.Equal(HttpStatusCode.OK, (await server.Reader.GetAsync($"/v2.0/networks/{network}")).Status);

        var before = await StoreDump.TakeAsync(server.Admin);
        foreach (var reply in new[]
                 {
                     await server.Reader.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = "policy-reader-new" } }),
                     await server.Reader.PutAsync($"/v2.0/networks/{network}", new JsonObject { ["network"] = new JsonObject { ["name"] = "renamed" } }),
                     await server.Reader.DeleteAsync($"/v2.0/networks/{network}"),
                     await server.Reader.PostAsync("/v2.0/security-groups", new JsonObject { ["security_group"] = new JsonObject { ["name"] = "x" } }),
                 })
        {
            Assert.Equal(HttpStatusCode.Forbidden, reply.Status);
            Assert.Equal("PolicyNotAuthorized", reply.Error.Type);
            Assert.Contains("disallowed by policy: changes need the member or admin role, and this token has only reader", reply.Error.Message, StringComparison.Ordinal);
        }
        Assert.Empty((await StoreDump.TakeAsync(server.Admin)).DifferencesFrom(before));
    }

    [Theory]
    [InlineData("networks", "network", """{"shared": true}""", "shared")]
    [InlineData("networks", "network", """{"router:external": true}""", "router:external")]
    [InlineData("ports", "port", """{"binding:host_id": "compute-1"}""", "binding:host_id")]
    [InlineData("ports", "port", """{"binding:profile": {"migrating_to": "compute-2"}}""", "binding:profile")]
    public async Task Admin_only_attributes_are_refused_to_a_member_naming_the_attribute(string collection, string singular, string attributes, string attribute)
    {
        var (network, _, _) = await server.Demo.NetworkWithSubnetAsync($"policy-attr-{attribute.Replace(':', '-')}");
        var port = (string)(await server.Demo.PortAsync(network))["id"]!;
        var id = collection == "ports" ? port : network;
        var body = JsonNode.Parse(attributes)!.AsObject();

        var update = await server.Demo.PutAsync($"/v2.0/{collection}/{id}", new JsonObject { [singular] = body.DeepClone() });
        Assert.Equal(HttpStatusCode.Forbidden, update.Status);
        Assert.Equal($"Setting '{attribute}' is disallowed by policy: only an admin may set it.", update.Error.Message);

        var create = body.DeepClone().AsObject();
        if (collection == "ports") create["network_id"] = network;
        var created = await server.Demo.PostAsync($"/v2.0/{collection}", new JsonObject { [singular] = create });
        Assert.Equal(HttpStatusCode.Forbidden, created.Status);
        Assert.Contains($"'{attribute}'", created.Error.Message, StringComparison.Ordinal);
        Assert.Single(await server.Demo.ListAsync("ports", $"?network_id={network}"));
    }

    [Fact]
    public async Task Defaults_of_admin_only_attributes_may_be_sent_on_create_and_an_admin_sets_them()
    {
        var network = await server.Demo.NetworkAsync("policy-defaults", new JsonObject { ["shared"] = false, ["router:external"] = false });
        var id = (string)network["id"]!;
        var port = (string)(await server.Demo.PortAsync(id, new JsonObject { ["binding:host_id"] = "" }))["id"]!;

        var bound = await server.Admin.PutAsync($"/v2.0/ports/{port}", new JsonObject { ["port"] = new JsonObject { ["binding:host_id"] = "policy-host-1" } });
        Assert.Equal(HttpStatusCode.OK, bound.Status);
        Assert.Equal("policy-host-1", (string)bound.Body!["port"]!["binding:host_id"]!);
        var shared = await server.Admin.PutAsync($"/v2.0/networks/{id}", new JsonObject { ["network"] = new JsonObject { ["shared"] = true } });
        Assert.Equal(HttpStatusCode.OK, shared.Status);
        Assert.True((bool)shared.Body!["network"]!["shared"]!);
    }

    [Fact]
    public async Task Another_projects_resources_do_not_exist_for_a_member_or_its_reader()
    {
        var network = (string)(await server.Other.NetworkAsync("policy-other-net"))["id"]!;
        foreach (var client in new[] { server.Demo, server.Reader })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v2.0/networks/{network}")).Status);
            Assert.DoesNotContain(await client.ListAsync("networks"), n => (string)n!["id"]! == network);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await server.Demo.PutAsync($"/v2.0/networks/{network}",
            new JsonObject { ["network"] = new JsonObject { ["name"] = "taken" } })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Demo.DeleteAsync($"/v2.0/networks/{network}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await server.Admin.GetAsync($"/v2.0/networks/{network}")).Status);
    }

    [Fact]
    public async Task Identity_headers_of_the_request_are_not_trusted()
    {
        var network = (string)(await server.Other.NetworkAsync("policy-headers-net"))["id"]!;
        var spoofing = server.Reader.With(("X-Roles", "admin,member"), ("X-Project-Id", "other"), ("X-Tenant-Id", "other"),
            ("X-Identity-Status", "Confirmed"), ("X-Service-Roles", "admin"), ("X-Is-Admin-Project", "True"), ("X-User-Id", "admin"));
        var create = await spoofing.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = "policy-spoofed" } });
        Assert.Equal(HttpStatusCode.Forbidden, create.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await spoofing.GetAsync($"/v2.0/networks/{network}")).Status);
        Assert.Empty(await spoofing.ListAsync("agents"));
    }
}
