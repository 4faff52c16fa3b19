using System.Net;
using Calico.Api.Tests.Harness;
using Calico.Silo.Tests;

namespace Calico.Api.Tests;

/// <summary>Neutron's standard-attr-tag: the tags attribute, the /tags sub-resource and the tag filters.</summary>
[Collection(TokenApi.Name)]
public sealed class TagTests(TokenApiServer server)
{
    private NeutronClient Demo => server.Demo;

    private static JsonObject Tags(params string[] tags) => new() { ["tags"] = new JsonArray([.. tags.Select(t => (JsonNode?)t)]) };

    private static string[] TagsOf(JsonNode resource) => [.. resource["tags"]!.AsArray().Select(t => (string)t!).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Tags_are_replaced_added_shown_and_removed_through_the_sub_resource()
    {
        var network = await Demo.NetworkAsync("tags-crud");
        var id = (string)network["id"]!;
        Assert.Empty(network["tags"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, (await Demo.GetAsync("/v2.0/extensions/standard-attr-tag")).Status);

        var replaced = await Demo.PutAsync($"/v2.0/networks/{id}/tags", Tags("red", "blue"));
        Assert.Equal(HttpStatusCode.OK, replaced.Status);
        Assert.Equal(["blue", "red"], TagsOf(replaced.Body!));
        var shown = (await Demo.GetAsync($"/v2.0/networks/{id}")).Body!["network"]!;
        Assert.Equal(["blue", "red"], TagsOf(shown));
        Assert.Equal(2, (long)shown["revision_number"]!);

        Assert.Equal(HttpStatusCode.Created, (await Demo.SendAsync(HttpMethod.Put, $"/v2.0/networks/{id}/tags/green", null)).Status);
        Assert.Equal(HttpStatusCode.Created, (await Demo.SendAsync(HttpMethod.Put, $"/v2.0/networks/{id}/tags/green", null)).Status);
        Assert.Equal(["blue", "green", "red"], TagsOf((await Demo.GetAsync($"/v2.0/networks/{id}/tags")).Body!));
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.GetAsync($"/v2.0/networks/{id}/tags/green")).Status);
        var missing = await Demo.GetAsync($"/v2.0/networks/{id}/tags/purple");
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal(("TagNotFound", "Tag purple could not be found."), missing.Error);

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/networks/{id}/tags/red")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.DeleteAsync($"/v2.0/networks/{id}/tags/red")).Status);
        Assert.Equal(["blue", "green"], TagsOf((await Demo.GetAsync($"/v2.0/networks/{id}")).Body!["network"]!));
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/networks/{id}/tags")).Status);
        Assert.Empty((await Demo.GetAsync($"/v2.0/networks/{id}")).Body!["network"]!["tags"]!.AsArray());

        // Another project sees neither the network nor its tags; an unknown network has none.
        Assert.Equal(HttpStatusCode.NotFound, (await server.Other.GetAsync($"/v2.0/networks/{id}/tags")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Other.PutAsync($"/v2.0/networks/{id}/tags", Tags("x"))).Status);
        var unknown = await Demo.PutAsync($"/v2.0/networks/{Guid.NewGuid()}/tags", Tags("x"));
        Assert.Equal("NetworkNotFound", unknown.Error.Type);
    }

    [Fact]
    public async Task Every_taggable_resource_carries_its_tags()
    {
        var (network, subnet, _) = await Demo.NetworkWithSubnetAsync("tags-every");
        var port = (string)(await Demo.PortAsync(network))["id"]!;
        var group = (string)(await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "tags-every" }))["id"]!;
        var external = (string)(await server.Admin.NetworkAsync("tags-every-ext", new JsonObject { ["router:external"] = true }))["id"]!;
        await server.Admin.SubnetAsync(external, Cidrs.NextV4());
        var fip = (string)(await Demo.CreateAsync("floatingips", "floatingip", new JsonObject { ["floating_network_id"] = external }))["id"]!;
        foreach (var (collection, singular, id) in new[]
        {
            ("subnets", "subnet", subnet), ("ports", "port", port), ("security-groups", "security_group", group), ("floatingips", "floatingip", fip),
        })
        {
            Assert.Equal(HttpStatusCode.OK, (await Demo.PutAsync($"/v2.0/{collection}/{id}/tags", Tags("t1", "t2"))).Status);
            Assert.Equal(["t1", "t2"], TagsOf((await Demo.GetAsync($"/v2.0/{collection}/{id}")).Body![singular]!));
            Assert.Equal([id], (await Demo.ListAsync(collection, "?tags=t1,t2")).Select(r => (string)r!["id"]!));
        }
        // A port keeps its tags through an update of its other attributes.
        await Demo.PutAsync($"/v2.0/ports/{port}", new JsonObject { ["port"] = new JsonObject { ["name"] = "renamed" } });
        Assert.Equal(["t1", "t2"], TagsOf((await Demo.GetAsync($"/v2.0/ports/{port}")).Body!["port"]!));
    }

    [Fact]
    public async Task Lists_filter_by_all_any_not_all_and_none_of_the_tags()
    {
        var names = new[] { "tagf-ab", "tagf-a", "tagf-c" };
        var tags = new[] { new[] { "fa", "fb" }, ["fa"], ["fc"] };
        for (var i = 0; i < names.Length; i++)
        {
            var id = (string)(await Demo.NetworkAsync(names[i]))["id"]!;
            Assert.Equal(HttpStatusCode.OK, (await Demo.PutAsync($"/v2.0/networks/{id}/tags", Tags(tags[i]))).Status);
        }
        async Task<string[]> Names(string filter) =>
            [.. (await Demo.ListAsync("networks", $"?{filter}&name=tagf-ab&name=tagf-a&name=tagf-c")).Select(n => (string)n!["name"]!).Order(StringComparer.Ordinal)];
        Assert.Equal(["tagf-ab"], await Names("tags=fa,fb"));
        Assert.Equal(["tagf-a", "tagf-ab"], await Names("tags=fa"));
        Assert.Equal(["tagf-ab", "tagf-c"], await Names("tags-any=fb,fc"));
        Assert.Equal(["tagf-a", "tagf-c"], await Names("not-tags=fa,fb"));
        Assert.Equal(["tagf-c"], await Names("not-tags-any=fa"));
        Assert.Equal(["tagf-a"], await Names("tags=fa&not-tags=fb"));
    }

    [Fact]
    public async Task A_port_may_be_created_with_tags_alone_or_in_a_bulk_list()
    {
        var (network, _, _) = await Demo.NetworkWithSubnetAsync("tags-port-create");
        var port = await Demo.PortAsync(network, Tags("p1", "p2"));
        Assert.Equal(["p1", "p2"], TagsOf(port));
        var bulk = await Demo.PostAsync("/v2.0/ports", new JsonObject
        {
            ["ports"] = new JsonArray(new JsonObject { ["network_id"] = network, ["tags"] = new JsonArray("b1") }, new JsonObject { ["network_id"] = network }),
        });
        Assert.Equal(HttpStatusCode.Created, bulk.Status);
        Assert.Equal(["b1"], TagsOf(bulk.Body!["ports"]![0]!));
        Assert.Empty(bulk.Body!["ports"]![1]!["tags"]!.AsArray());

        var bad = await Demo.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = network, ["tags"] = new JsonArray("d", "d") } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Contains("tags[1]: duplicate item in the list: 'd'", bad.Error.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await Demo.ListAsync("ports", $"?network_id={network}")).Count);
        // Only ports take tags in a create, as in Neutron.
        var network2 = await Demo.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = "tags-net-create", ["tags"] = new JsonArray("n") } });
        Assert.Equal(HttpStatusCode.BadRequest, network2.Status);
    }

    public static TheoryData<string, string> BadTags => new()
    {
        { $$"""{"tags": ["{{new string('x', 256)}}"]}""", "tags[0]: 'xxxxxxxxxxxxxxxxxxxx...' is 256 characters, more than the 255 a tag may have" },
        { """{"tags": ["a", "b", "a"]}""", "tags[2]: duplicate item in the list: 'a'" },
        { """{"tags": ["a", 3]}""", "tags[1]: '3' is not a string" },
        { """{"tags": [""]}""", "tags[0]: a tag must not be empty" },
        { """{"tags": "a"}""", "tags: '\"a\"' is not a list" },
        { """{"tag": ["a"]}""", "Invalid tags body" },
    };

    [Theory]
    [MemberData(nameof(BadTags))]
    public async Task Bad_tags_are_refused_naming_the_tag_and_change_nothing(string body, string message)
    {
        var id = (string)(await Demo.NetworkAsync("tags-bad"))["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await Demo.PutAsync($"/v2.0/networks/{id}/tags", Tags("keep"))).Status);
        var reply = await Demo.SendAsync(HttpMethod.Put, $"/v2.0/networks/{id}/tags", body);
        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains(message, reply.Error.Message, StringComparison.Ordinal);
        var after = (await Demo.GetAsync($"/v2.0/networks/{id}")).Body!["network"]!;
        Assert.Equal(["keep"], TagsOf(after));
        Assert.Equal(2, (long)after["revision_number"]!);
        var tooLong = await Demo.SendAsync(HttpMethod.Put, $"/v2.0/networks/{id}/tags/{new string('y', 256)}", null);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.Status);
    }

    [Fact]
    public async Task A_shared_networks_tags_are_changed_only_by_its_project()
    {
        var id = (string)(await server.Admin.NetworkAsync("tags-shared", new JsonObject { ["shared"] = true }))["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await Demo.GetAsync($"/v2.0/networks/{id}/tags")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Demo.PutAsync($"/v2.0/networks/{id}/tags", Tags("mine"))).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Demo.SendAsync(HttpMethod.Put, $"/v2.0/networks/{id}/tags/mine", null)).Status);
    }
}

/// <summary>Tags are stored with their resource: they survive a restart of the silo on SQLite.</summary>
public sealed class TagsOnSqliteTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("calico-api-tags-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private SiloProcess Start() => SiloProcess.Start("--role", "controller", "--data-dir", _dataDir);

    private static NeutronClient Api(SiloProcess silo) => new($"http://127.0.0.1:{silo.HttpPort}", null, () => silo.Output);

    [Fact]
    public async Task Tags_survive_a_restart()
    {
        string network;
        await using (var silo = Start())
        {
            await silo.WaitForAsync();
            var api = Api(silo);
            network = (string)(await api.NetworkAsync("tags-restart"))["id"]!;
            Assert.Equal(HttpStatusCode.OK, (await api.PutAsync($"/v2.0/networks/{network}/tags", new JsonObject { ["tags"] = new JsonArray("kept", "too") })).Status);
            Assert.True(await silo.InterruptAsync(TimeSpan.FromSeconds(30)), silo.Output);
        }
        await using (var silo = Start())
        {
            await silo.WaitForAsync();
            var api = Api(silo);
            var shown = (await api.GetAsync($"/v2.0/networks/{network}")).Body!["network"]!;
            Assert.Equal(["kept", "too"], shown["tags"]!.AsArray().Select(t => (string)t!).Order(StringComparer.Ordinal));
            Assert.Equal([network], (await api.ListAsync("networks", "?tags=kept")).Select(n => (string)n!["id"]!));
        }
    }
}
