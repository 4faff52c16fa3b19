using System.Net;
using Calico.Api.Tests.Harness;
using Calico.Grains;

namespace Calico.Api.Tests;

/// <summary>
/// Referential rules under racing requests: whatever the interleaving, no port is left on a deleted network, subnet
/// or group, a refused delete leaves a port that uses the resource, and no two subnets overlap.
/// </summary>
[Collection(TokenApi.Name)]
public sealed class ConcurrencyTests(TokenApiServer server)
{
    private NeutronClient Demo => server.Demo;

    [Fact]
    public async Task Deleting_a_network_while_ports_are_created_on_it_never_leaves_a_port_behind()
    {
        for (var round = 0; round < 8; round++)
        {
            var network = (string)(await Demo.NetworkAsync($"race-net-{round}"))["id"]!;
            var subnet = (string)(await Demo.SubnetAsync(network, Cidrs.NextV4()))["id"]!;
            var creates = Enumerable.Range(0, 3).Select(_ => Demo.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = network } })).ToList();
            var delete = Demo.DeleteAsync($"/v2.0/networks/{network}");
            var replies = await Task.WhenAll(creates);
            var deleted = await delete;

            await AssertRaceEndedCleanlyAsync($"/v2.0/networks/{network}", subnet, deleted, replies,
                async () => [.. await Demo.ListAsync("ports", $"?network_id={network}")]);
        }
    }

    [Fact]
    public async Task Deleting_a_subnet_while_ports_take_addresses_from_it_never_leaves_a_port_behind()
    {
        var network = (string)(await Demo.NetworkAsync("race-subnet-net"))["id"]!;
        for (var round = 0; round < 8; round++)
        {
            var subnet = (string)(await Demo.SubnetAsync(network, Cidrs.NextV4()))["id"]!;
            var creates = Enumerable.Range(0, 3).Select(_ => Demo.PostAsync("/v2.0/ports", new JsonObject
            {
                ["port"] = new JsonObject { ["network_id"] = network, ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = subnet }) },
            })).ToList();
            var delete = Demo.DeleteAsync($"/v2.0/subnets/{subnet}");
            var replies = await Task.WhenAll(creates);
            var deleted = await delete;

            var users = await AssertRaceEndedCleanlyAsync($"/v2.0/subnets/{subnet}", subnet, deleted, replies,
                async () => [.. (await Demo.ListAsync("ports", $"?network_id={network}")).Where(p => p!["fixed_ips"]!.AsArray().Any(f => (string)f!["subnet_id"]! == subnet))]);
            foreach (var user in users) Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/ports/{user!["id"]}")).Status);
        }
    }

    /// <summary>
    /// How a delete of <paramref name="resource"/> raced by port creates must end: 204 with the resource gone, no
    /// port using it and <paramref name="subnet"/>'s addresses all released; or 409 with the resource kept and at
    /// least one port still using it (a refusal with nothing left using the resource is the bug both sides
    /// withdrawing made). Either way, the ports left using it are exactly those that answered 201. Returns them.
    /// </summary>
    private async Task<List<JsonNode?>> AssertRaceEndedCleanlyAsync(
        string resource, string subnet, Reply deleted, Reply[] replies, Func<Task<List<JsonNode?>>> portsUsingIt)
    {
        Assert.Contains(deleted.Status, new[] { HttpStatusCode.NoContent, HttpStatusCode.Conflict });
        Assert.All(replies, r => Assert.Contains(r.Status, new[] { HttpStatusCode.Created, HttpStatusCode.NotFound }));
        var ports = await portsUsingIt();
        if (deleted.Status == HttpStatusCode.NoContent)
        {
            Assert.Empty(ports);
            Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync(resource)).Status);
            Assert.Empty(await server.Cluster.GetGrain<ISubnetIpamGrain>(subnet).ListAsync());
        }
        else
        {
            Assert.NotEmpty(ports);
            Assert.Equal(HttpStatusCode.OK, (await Demo.GetAsync(resource)).Status);
        }
        // Every port that answered 201 and still exists uses a resource that exists.
        Assert.Equal(replies.Count(r => r.Status == HttpStatusCode.Created && deleted.Status == HttpStatusCode.Conflict), ports.Count);
        return ports;
    }

    [Fact]
    public async Task Overlapping_subnets_created_at_once_on_different_networks_never_both_stay()
    {
        for (var round = 0; round < 5; round++)
        {
            var cidr = Cidrs.NextV4();
            var networks = new List<string>();
            for (var i = 0; i < 4; i++) networks.Add((string)(await Demo.NetworkAsync($"race-overlap-{round}-{i}"))["id"]!);
            var replies = await Task.WhenAll(networks.Select(n => Demo.PostAsync("/v2.0/subnets",
                new JsonObject { ["subnet"] = new JsonObject { ["network_id"] = n, ["cidr"] = cidr, ["ip_version"] = 4 } })));
            var stored = await Demo.ListAsync("subnets", $"?cidr={Uri.EscapeDataString(cidr)}");
            Assert.True(stored.Count <= 1, $"{stored.Count} subnets with {cidr} were kept");
            Assert.Equal(replies.Count(r => r.Status == HttpStatusCode.Created), stored.Count);
            Assert.All(replies.Where(r => r.Status != HttpStatusCode.Created), r => Assert.Contains(r.Status, new[] { HttpStatusCode.BadRequest, HttpStatusCode.Conflict }));
        }
    }

    [Fact]
    public async Task Deleting_a_group_while_a_port_is_created_with_it_never_leaves_the_port_pointing_at_nothing()
    {
        var network = (string)(await Demo.NetworkAsync("race-sg-net"))["id"]!;
        await Demo.SubnetAsync(network, Cidrs.NextV4());
        for (var round = 0; round < 8; round++)
        {
            var group = (string)(await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = $"race-sg-{round}" }))["id"]!;
            var create = Demo.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = network, ["security_groups"] = new JsonArray(group) } });
            var delete = Demo.DeleteAsync($"/v2.0/security-groups/{group}");
            var (created, deleted) = (await create, await delete);
            var groupExists = (await Demo.GetAsync($"/v2.0/security-groups/{group}")).Status == HttpStatusCode.OK;
            var users = (await Demo.ListAsync("ports", $"?network_id={network}")).Count(p => p!["security_groups"]!.AsArray().Any(g => (string)g! == group));
            Assert.True(groupExists || users == 0, $"round {round}: port {created.Status}, delete {deleted.Status}, group exists {groupExists}, ports using it {users}");
            Assert.Equal(deleted.Status == HttpStatusCode.NoContent, !groupExists);
            Assert.True(deleted.Status != HttpStatusCode.Conflict || users > 0, $"round {round}: the delete was refused (409) but no port uses the group");
            if (created.Status == HttpStatusCode.Created) Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/ports/{created.Body!["port"]!["id"]}")).Status);
        }
    }
}
