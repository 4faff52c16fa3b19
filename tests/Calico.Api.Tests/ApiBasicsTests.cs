using System.Net;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

/// <summary>Version discovery, extensions, authentication and project isolation, and how malformed requests are refused.</summary>
[Collection(TokenApi.Name)]
public sealed class ApiBasicsTests(TokenApiServer server)
{
    [Fact]
    public async Task Version_document_points_at_v2_0_and_needs_no_token()
    {
        var reply = await server.Client().GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var version = reply.Body!["versions"]![0]!;
        Assert.Equal("v2.0", (string)version["id"]!);
        Assert.Equal("CURRENT", (string)version["status"]!);
        Assert.Equal($"{server.BaseUrl}/v2.0/", (string)version["links"]![0]!["href"]!);
    }

    [Fact]
    public async Task Extensions_list_what_is_implemented_and_nothing_else()
    {
        var aliases = (await server.Demo.ListAsync("extensions")).Select(e => (string)e!["alias"]!).ToList();
        Assert.Contains("binding", aliases);
        Assert.Contains("security-group", aliases);
        Assert.Contains("external-net", aliases);
        Assert.Contains("agent", aliases);
        Assert.Contains("standard-attr-tag", aliases);
        Assert.Contains("tag-ports-during-bulk-creation", aliases);
        Assert.Contains("quotas", aliases);
        Assert.Contains("qos", aliases);
        // Not implemented, so not listed: a client must not send metering labels (no place in a routed Calico cloud).
        Assert.DoesNotContain("metering", aliases);
        Assert.Equal(HttpStatusCode.OK, (await server.Demo.GetAsync("/v2.0/extensions/binding")).Status);
        var missing = await server.Demo.GetAsync("/v2.0/extensions/metering");
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal("ExtensionNotFound", missing.Error.Type);
    }

    [Fact]
    public async Task Service_providers_are_listed_and_there_are_none()
    {
        // service-type (Tempest's test_service_providers_list): Calico has no pluggable advanced-service drivers.
        var reply = await server.Reader.GetAsync("/v2.0/service-providers?fields=name");
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Empty(reply.Body!["service_providers"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, (await server.Demo.GetAsync("/v2.0/extensions/service-type")).Status);
        var unknownFilter = await server.Demo.GetAsync("/v2.0/service-providers?driver=x");
        Assert.Equal(HttpStatusCode.BadRequest, unknownFilter.Status);
    }

    [Fact]
    public async Task Unknown_collections_are_404_neutron_errors()
    {
        var reply = await server.Demo.GetAsync("/v2.0/metering/metering-labels");
        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("HTTPNotFound", reply.Error.Type);
    }

    [Theory]
    [InlineData(null, "Authentication required")]
    [InlineData("not-a-token-that-anyone-configured", "The X-Auth-Token is not valid")]
    public async Task Requests_without_a_valid_token_are_401(string? token, string message)
    {
        var reply = await server.Client(token).GetAsync("/v2.0/networks");
        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
        Assert.Contains(message, reply.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_project_sees_only_its_own_resources_and_an_admin_sees_all()
    {
        var mine = await server.Demo.NetworkAsync("demo-private");
        var theirs = await server.Other.NetworkAsync("other-private");
        Assert.Equal("demo", (string)mine["project_id"]!);
        Assert.Equal("demo", (string)mine["tenant_id"]!);

        var demoSees = (await server.Demo.ListAsync("networks")).Select(n => (string)n!["id"]!).ToList();
        Assert.Contains((string)mine["id"]!, demoSees);
        Assert.DoesNotContain((string)theirs["id"]!, demoSees);
        var show = await server.Demo.GetAsync($"/v2.0/networks/{theirs["id"]}");
        Assert.Equal(HttpStatusCode.NotFound, show.Status);
        Assert.Equal("NetworkNotFound", show.Error.Type);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Demo.PutAsync($"/v2.0/networks/{theirs["id"]}", new JsonObject { ["network"] = new JsonObject { ["name"] = "x" } })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Demo.DeleteAsync($"/v2.0/networks/{theirs["id"]}")).Status);
        Assert.Equal("other-private", (string)(await server.Other.GetAsync($"/v2.0/networks/{theirs["id"]}")).Body!["network"]!["name"]!);

        var adminSees = (await server.Admin.ListAsync("networks")).Select(n => (string)n!["id"]!).ToList();
        Assert.Contains((string)mine["id"]!, adminSees);
        Assert.Contains((string)theirs["id"]!, adminSees);
    }

    [Fact]
    public async Task Only_an_admin_creates_for_another_project()
    {
        var refused = await server.Demo.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = "x", ["project_id"] = "other" } });
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("requires admin privileges", refused.Error.Message, StringComparison.Ordinal);
        var created = await server.Admin.NetworkAsync("for-other", new JsonObject { ["tenant_id"] = "other" });
        Assert.Equal("other", (string)created["project_id"]!);
        Assert.Contains((string)created["id"]!, (await server.Other.ListAsync("networks")).Select(n => (string)n!["id"]!));
    }

    [Theory]
    [InlineData("{\"network\": {\"name\": \"x\"", "Malformed request body")]
    [InlineData("[1, 2]", "Unable to find 'network' in request body")]
    [InlineData("{\"net\": {}}", "Unable to find 'network' in request body")]
    [InlineData("{\"network\": {\"name\": \"x\", \"colour\": \"blue\"}}", "Unrecognized attribute(s) 'colour'")]
    [InlineData("{\"network\": {\"name\": \"x\", \"status\": \"DOWN\"}}", "'status' cannot be set on create")]
    [InlineData("{\"network\": {\"name\": 7}}", "name: '7' is not a string")]
    [InlineData("{\"network\": {\"mtu\": \"abc\"}}", "mtu: '\"abc\"' is not an integer")]
    [InlineData("{\"network\": {\"mtu\": 9}}", "mtu: 9 is outside 68..65535")]
    [InlineData("{\"network\": {\"admin_state_up\": \"maybe\"}}", "is not a valid boolean value")]
    [InlineData("", "Resource body required")]
    public async Task Bad_request_bodies_are_400_with_the_reason_and_store_nothing(string body, string message)
    {
        var before = (await server.Demo.ListAsync("networks")).Count;
        var reply = await server.Demo.SendAsync(HttpMethod.Post, "/v2.0/networks", body);
        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains(message, reply.Error.Message, StringComparison.Ordinal);
        Assert.Equal(before, (await server.Demo.ListAsync("networks")).Count);
    }

    [Fact]
    public async Task Oversized_bodies_are_413_and_store_nothing()
    {
        var before = (await server.Demo.ListAsync("networks")).Count;
        var body = new JsonObject { ["network"] = new JsonObject { ["name"] = "big", ["description"] = new string('x', 70_000) } };
        var reply = await server.Demo.PostAsync("/v2.0/networks", body);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, reply.Status);
        Assert.Contains("Api:MaxRequestBodyBytes", reply.Error.Message, StringComparison.Ordinal);
        Assert.Equal(before, (await server.Demo.ListAsync("networks")).Count);
    }

    [Fact]
    public async Task Unknown_filters_are_refused_rather_than_ignored()
    {
        var reply = await server.Demo.GetAsync("/v2.0/networks?colour=blue");
        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains("[colour] is invalid attribute for filtering", reply.Error.Message, StringComparison.Ordinal);
    }
}
