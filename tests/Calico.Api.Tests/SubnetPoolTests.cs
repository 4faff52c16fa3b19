using System.Net;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

/// <summary>Subnet pools (subnet_allocation): the collection, its validation, and subnets allocated from a pool.</summary>
[Collection(TokenApi.Name)]
public sealed class SubnetPoolTests(TokenApiServer server)
{
    private NeutronClient Demo => server.Demo;

    private NeutronClient Admin => server.Admin;

    private static int _next;

    /// <summary>A fresh /16 under 10.200.0.0/9 for each pool (subnets may not overlap anywhere in the cluster).</summary>
    private static string NextRange() => $"10.{160 + Interlocked.Increment(ref _next)}.0.0/16";

    private Task<JsonObject> PoolAsync(NeutronClient client, JsonObject attributes) => client.CreateAsync("subnetpools", "subnetpool", attributes);

    private static JsonObject Pool(string name, params string[] prefixes) => new()
    {
        ["name"] = name, ["prefixes"] = new JsonArray([.. prefixes.Select(p => (JsonNode)p)]),
    };

    private async Task<Reply> SubnetFromAsync(string network, JsonObject attributes)
    {
        attributes["network_id"] = network;
        attributes["ip_version"] ??= 4;
        return await Demo.PostAsync("/v2.0/subnets", new JsonObject { ["subnet"] = attributes });
    }

    [Fact]
    public async Task A_pool_is_created_normalised_shown_listed_updated_tagged_and_deleted()
    {
        var range = NextRange();
        var half = range.Replace(".0.0/16", ".1.7/24", StringComparison.Ordinal);
        var pool = await PoolAsync(Demo, Pool("pool-crud", half, range.Replace(".0.0/16", ".0.0/24", StringComparison.Ordinal)));
        var id = (string)pool["id"]!;
        // Host bits cleared, the two /24s joined, Neutron's defaults for the bounds.
        Assert.Equal(range.Replace(".0.0/16", ".0.0/23", StringComparison.Ordinal), (string)pool["prefixes"]![0]!);
        Assert.Single(pool["prefixes"]!.AsArray());
        Assert.Equal((4, 8, 32, 8), ((int)pool["ip_version"]!, (int)pool["min_prefixlen"]!, (int)pool["max_prefixlen"]!, (int)pool["default_prefixlen"]!));
        Assert.Null(pool["address_scope_id"]);
        Assert.Null(pool["default_quota"]);
        Assert.False((bool)pool["shared"]!);
        Assert.Equal("demo", (string)pool["project_id"]!);
        Assert.Equal(1, (int)pool["revision_number"]!);
        Assert.NotNull(pool["created_at"]);

        Assert.Equal("pool-crud", (string)(await Demo.GetAsync($"/v2.0/subnetpools/{id}")).Body!["subnetpool"]!["name"]!);
        Assert.Single(await Demo.ListAsync("subnetpools", "?name=pool-crud"));
        Assert.Empty(await server.Other.ListAsync("subnetpools", "?name=pool-crud"));
        Assert.Equal(HttpStatusCode.NotFound, (await server.Other.GetAsync($"/v2.0/subnetpools/{id}")).Status);
        var fields = (await Demo.GetAsync($"/v2.0/subnetpools/{id}?fields=name&fields=ip_version")).Body!["subnetpool"]!.AsObject();
        Assert.Equal(["ip_version", "name"], fields.Select(p => p.Key).Order(StringComparer.Ordinal));

        var updated = await Demo.PutAsync($"/v2.0/subnetpools/{id}", new JsonObject { ["subnetpool"] = new JsonObject
        {
            ["name"] = "pool-crud-2", ["default_prefixlen"] = 26, ["min_prefixlen"] = 24, ["max_prefixlen"] = 28,
            ["prefixes"] = new JsonArray(range.Replace(".0.0/16", ".0.0/22", StringComparison.Ordinal)),
        } });
        Assert.Equal(HttpStatusCode.OK, updated.Status);
        Assert.Equal(("pool-crud-2", 26, 2), ((string)updated.Body!["subnetpool"]!["name"]!, (int)updated.Body!["subnetpool"]!["default_prefixlen"]!,
            (int)updated.Body!["subnetpool"]!["revision_number"]!));

        Assert.Equal(HttpStatusCode.Created, (await Demo.PutAsync($"/v2.0/subnetpools/{id}/tags/red", new JsonObject())).Status);
        Assert.Single(await Demo.ListAsync("subnetpools", "?tags=red&name=pool-crud-2"));
        Assert.Empty(await Demo.ListAsync("subnetpools", "?not-tags=red&name=pool-crud-2"));

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/subnetpools/{id}")).Status);
        var gone = await Demo.GetAsync($"/v2.0/subnetpools/{id}");
        Assert.Equal((HttpStatusCode.NotFound, "SubnetPoolNotFound"), (gone.Status, gone.Error.Type));
    }

    [Fact]
    public async Task Bad_pools_and_bad_updates_are_refused_with_neutrons_words_and_change_nothing()
    {
        var range = NextRange();
        async Task Refused(JsonObject body, string type, string words)
        {
            var before = (await Demo.ListAsync("subnetpools")).Count;
            var reply = await Demo.PostAsync("/v2.0/subnetpools", new JsonObject { ["subnetpool"] = body });
            Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
            Assert.Equal(type, reply.Error.Type);
            Assert.Contains(words, reply.Error.Message, StringComparison.Ordinal);
            Assert.Equal(before, (await Demo.ListAsync("subnetpools")).Count);
        }
        await Refused(Pool("bad"), "EmptySubnetPoolPrefixList", "Empty subnet pool prefix list.");
        await Refused(Pool("bad", range, "fd00:99::/48"), "PrefixVersionMismatch", "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.");
        await Refused(Pool("bad", "10.1.2.300/24"), "InvalidInput", "prefixes[0]");
        var bounds = Pool("bad", range);
        bounds["min_prefixlen"] = 28;
        bounds["max_prefixlen"] = 24;
        await Refused(bounds, "InvalidInput", "Illegal prefix bounds: min_prefixlen=28, max_prefixlen=24.");
        var high = Pool("bad", range);
        high["default_prefixlen"] = 33;
        await Refused(high, "InvalidInput", "Illegal prefix bounds: default_prefixlen=33, max_prefixlen=32.");
        var scoped = Pool("bad", range);
        scoped["address_scope_id"] = "scope-1";
        var reply = await Demo.PostAsync("/v2.0/subnetpools", new JsonObject { ["subnetpool"] = scoped });
        Assert.Equal((HttpStatusCode.NotFound, "AddressScopeNotFound"), (reply.Status, reply.Error.Type));
        var shared = Pool("bad", range);
        shared["shared"] = true;
        Assert.Equal(HttpStatusCode.Forbidden, (await Demo.PostAsync("/v2.0/subnetpools", new JsonObject { ["subnetpool"] = shared })).Status);

        var pool = await PoolAsync(Demo, Pool("pool-bad-update", range));
        var id = (string)pool["id"]!;
        var shrink = await Demo.PutAsync($"/v2.0/subnetpools/{id}", new JsonObject { ["subnetpool"] = new JsonObject
        {
            ["prefixes"] = new JsonArray(range.Replace(".0.0/16", ".0.0/17", StringComparison.Ordinal)),
        } });
        Assert.Equal((HttpStatusCode.BadRequest, "IllegalSubnetPoolPrefixUpdate"), (shrink.Status, shrink.Error.Type));
        Assert.Contains("Existing prefixes must be a subset of the new prefixes", shrink.Error.Message, StringComparison.Ordinal);
        var v6 = await Demo.PutAsync($"/v2.0/subnetpools/{id}", new JsonObject { ["subnetpool"] = new JsonObject { ["prefixes"] = new JsonArray("fd00:98::/48") } });
        Assert.Equal((HttpStatusCode.BadRequest, "PrefixVersionMismatch"), (v6.Status, v6.Error.Type));
        var after = (await Demo.GetAsync($"/v2.0/subnetpools/{id}")).Body!["subnetpool"]!;
        Assert.Equal(range, (string)after["prefixes"]![0]!);
        Assert.Equal(1, (int)after["revision_number"]!);
    }

    [Fact]
    public async Task Subnets_take_the_lowest_free_cidr_and_hold_the_pool()
    {
        var range = NextRange();
        string At(string third, int length) => range.Replace(".0.0/16", $".{third}.0/{length}", StringComparison.Ordinal);
        var body = Pool("pool-alloc", range);
        body["default_prefixlen"] = 24;
        body["max_prefixlen"] = 28;
        var poolId = (string)(await PoolAsync(Demo, body))["id"]!;
        var network = (string)(await Demo.NetworkAsync("net-pool-alloc"))["id"]!;

        var first = await SubnetFromAsync(network, new JsonObject { ["subnetpool_id"] = poolId });
        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(At("0", 24), (string)first.Body!["subnet"]!["cidr"]!);
        Assert.Equal(poolId, (string)first.Body!["subnet"]!["subnetpool_id"]!);
        Assert.Equal(At("0", 24).Replace(".0/24", ".1", StringComparison.Ordinal), (string)first.Body!["subnet"]!["gateway_ip"]!);
        var small = await SubnetFromAsync(network, new JsonObject { ["subnetpool_id"] = poolId, ["prefixlen"] = 26 });
        Assert.Equal(At("1", 26), (string)small.Body!["subnet"]!["cidr"]!);
        // A subnet made without the pool inside its range is skipped too: subnets never overlap anywhere.
        await Demo.SubnetAsync(network, At("2", 24));
        var next = await SubnetFromAsync(network, new JsonObject { ["subnetpool_id"] = poolId });
        Assert.Equal(At("3", 24), (string)next.Body!["subnet"]!["cidr"]!);
        var chosen = await SubnetFromAsync(network, new JsonObject { ["subnetpool_id"] = poolId, ["cidr"] = At("1", 26).Replace(".0/26", ".64/26", StringComparison.Ordinal) });
        Assert.Equal(HttpStatusCode.Created, chosen.Status);
        Assert.Single(await Demo.ListAsync("subnets", $"?subnetpool_id={poolId}&cidr={At("3", 24)}"));

        var before = (await Demo.ListAsync("subnets", $"?network_id={network}")).Count;
        async Task Refused(JsonObject attributes, string type, string words)
        {
            var reply = await SubnetFromAsync(network, attributes);
            Assert.Equal((HttpStatusCode.BadRequest, type), (reply.Status, reply.Error.Type));
            Assert.Contains(words, reply.Error.Message, StringComparison.Ordinal);
            Assert.Equal(before, (await Demo.ListAsync("subnets", $"?network_id={network}")).Count);
        }
        await Refused(new JsonObject { ["subnetpool_id"] = poolId, ["prefixlen"] = 30 }, "MaxPrefixSubnetAllocationError",
            "Unable to allocate subnet with prefix length 30, maximum allowed prefix is 28.");
        await Refused(new JsonObject { ["subnetpool_id"] = poolId, ["prefixlen"] = 4 }, "MinPrefixSubnetAllocationError",
            "Unable to allocate subnet with prefix length 4, minimum allowed prefix is 8.");
        await Refused(new JsonObject { ["subnetpool_id"] = poolId, ["cidr"] = "10.99.0.0/24" }, "SubnetAllocationError",
            "Cannot allocate requested subnet from the available set of prefixes");
        await Refused(new JsonObject { ["subnetpool_id"] = poolId, ["cidr"] = At("0", 24) }, "SubnetAllocationError",
            "Cannot allocate requested subnet from the available set of prefixes");
        await Refused(new JsonObject { ["subnetpool_id"] = poolId, ["cidr"] = At("9", 24), ["prefixlen"] = 24 }, "HTTPBadRequest",
            "cidr and prefixlen must not be supplied together");
        await Refused(new JsonObject { ["subnetpool_id"] = poolId, ["ip_version"] = 6 }, "HTTPBadRequest", "Cannot allocate IPv6 subnet from IPv4 subnet pool.");
        await Refused(new JsonObject(), "InvalidInput", "cidr: is required when no subnetpool_id (or use_default_subnetpool) is given");
        var unknown = await SubnetFromAsync(network, new JsonObject { ["subnetpool_id"] = "no-such-pool" });
        Assert.Equal((HttpStatusCode.NotFound, "SubnetPoolNotFound"), (unknown.Status, unknown.Error.Type));

        // In use: no delete, no removing the prefixes subnets hold; a free part may go.
        var inUse = await Demo.DeleteAsync($"/v2.0/subnetpools/{poolId}");
        Assert.Equal((HttpStatusCode.BadRequest, "SubnetPoolDeleteError"), (inUse.Status, inUse.Error.Type));
        Assert.Equal("Unable to delete subnet pool: Subnet pool has existing allocations.", inUse.Error.Message);
        var held = await Demo.PutAsync($"/v2.0/subnetpools/{poolId}/remove_prefixes", new JsonObject { ["prefixes"] = new JsonArray(At("0", 24)) });
        Assert.Equal(HttpStatusCode.BadRequest, held.Status);
        Assert.Contains($"subnet {first.Body!["subnet"]!["id"]} ({At("0", 24)}) is allocated from this pool", held.Error.Message, StringComparison.Ordinal);
        var removed = await Demo.PutAsync($"/v2.0/subnetpools/{poolId}/remove_prefixes", new JsonObject { ["prefixes"] = new JsonArray(At("128", 17)) });
        Assert.Equal(HttpStatusCode.OK, removed.Status);
        Assert.Equal(range.Replace(".0.0/16", ".0.0/17", StringComparison.Ordinal), (string)removed.Body!["prefixes"]![0]!);
        var added = await Demo.PutAsync($"/v2.0/subnetpools/{poolId}/add_prefixes", new JsonObject { ["prefixes"] = new JsonArray(At("128", 17)) });
        Assert.Equal(range, (string)added.Body!["prefixes"]![0]!);

        foreach (var subnet in await Demo.ListAsync("subnets", $"?subnetpool_id={poolId}"))
            Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/subnets/{subnet!["id"]}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/subnetpools/{poolId}")).Status);
    }

    [Fact]
    public async Task Parallel_creates_from_one_pool_never_get_the_same_cidr()
    {
        var range = NextRange();
        var body = Pool("pool-race", range);
        body["default_prefixlen"] = 24;
        var poolId = (string)(await PoolAsync(Demo, body))["id"]!;
        var network = (string)(await Demo.NetworkAsync("net-pool-race"))["id"]!;

        var replies = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => SubnetFromAsync(network, new JsonObject { ["subnetpool_id"] = poolId })));

        Assert.All(replies, r => Assert.Equal(HttpStatusCode.Created, r.Status));
        var cidrs = replies.Select(r => (string)r.Body!["subnet"]!["cidr"]!).ToList();
        Assert.Equal(16, cidrs.Distinct().Count());
        // The lowest sixteen, whatever order the requests were served in.
        Assert.Equal(Enumerable.Range(0, 16).Select(i => range.Replace(".0.0/16", $".{i}.0/24", StringComparison.Ordinal)).Order(StringComparer.Ordinal),
            cidrs.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_default_pool_serves_use_default_subnetpool_and_only_an_admin_sets_it()
    {
        var prefix = $"fd{Interlocked.Increment(ref _next) + 10:x2}:7700::/40";
        var body = Pool("pool-default-v6", prefix);
        body["is_default"] = true;
        body["default_prefixlen"] = 64;
        body["shared"] = true;
        Assert.Equal(HttpStatusCode.Forbidden, (await Demo.PostAsync("/v2.0/subnetpools", new JsonObject { ["subnetpool"] = body.DeepClone() })).Status);
        var pool = await PoolAsync(Admin, body);
        Assert.True((bool)pool["is_default"]!);
        var second = await Admin.PostAsync("/v2.0/subnetpools", new JsonObject { ["subnetpool"] = Pool("pool-default-v6-2", "fd99:7700::/40").Also(b => b["is_default"] = true) });
        Assert.Equal((HttpStatusCode.Conflict, "DefaultSubnetPoolExists"), (second.Status, second.Error.Type));

        var network = (string)(await Demo.NetworkAsync("net-pool-default"))["id"]!;
        var subnet = await SubnetFromAsync(network, new JsonObject { ["use_default_subnetpool"] = true, ["ip_version"] = 6 });
        Assert.Equal(HttpStatusCode.Created, subnet.Status);
        Assert.Equal(prefix.Replace("::/40", "::/64", StringComparison.Ordinal), (string)subnet.Body!["subnet"]!["cidr"]!);
        Assert.Equal((string)pool["id"]!, (string)subnet.Body!["subnet"]!["subnetpool_id"]!);

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/subnets/{subnet.Body!["subnet"]!["id"]}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/v2.0/subnetpools/{pool["id"]}")).Status);
    }

    [Fact]
    public async Task The_subnetpool_quota_is_enforced_on_create()
    {
        const string project = "pool-quota-p1";
        await Admin.PutAsync($"/v2.0/quotas/{project}", new JsonObject { ["quota"] = new JsonObject { ["subnetpool"] = 1 } });
        var first = Pool("pool-quota-1", NextRange());
        first["project_id"] = project;
        await PoolAsync(Admin, first);
        var second = Pool("pool-quota-2", NextRange());
        second["project_id"] = project;
        var reply = await Admin.PostAsync("/v2.0/subnetpools", new JsonObject { ["subnetpool"] = second });
        Assert.Equal((HttpStatusCode.Conflict, "OverQuota"), (reply.Status, reply.Error.Type));
        Assert.Equal("Quota exceeded for resources: ['subnetpool'].", reply.Error.Message);
        Assert.Single(await Admin.ListAsync("subnetpools", $"?project_id={project}"));
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject o, Action<JsonObject> change)
    {
        change(o);
        return o;
    }
}
