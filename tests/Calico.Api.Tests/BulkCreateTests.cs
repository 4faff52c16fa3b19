using System.Net;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

/// <summary>Neutron's bulk create (<c>{"networks": [...]}</c>): all items in order, or none of them.</summary>
[Collection(TokenApi.Name)]
public sealed class BulkCreateTests(TokenApiServer server)
{
    private NeutronClient Demo => server.Demo;

    private static JsonObject Bulk(string plural, params JsonObject[] items) => new() { [plural] = new JsonArray([.. items]) };

    [Fact]
    public async Task Networks_subnets_ports_groups_and_rules_are_created_in_order()
    {
        var networks = await Demo.PostAsync("/v2.0/networks", Bulk("networks",
            new JsonObject { ["name"] = "bulk-a" }, new JsonObject { ["name"] = "bulk-b", ["mtu"] = 1400 }, new JsonObject { ["name"] = "bulk-c" }));
        Assert.Equal(HttpStatusCode.Created, networks.Status);
        var created = networks.Body!["networks"]!.AsArray();
        Assert.Equal(["bulk-a", "bulk-b", "bulk-c"], created.Select(n => (string)n!["name"]!));
        Assert.Equal(1400, (int)created[1]!["mtu"]!);
        foreach (var n in created) Assert.Equal(HttpStatusCode.OK, (await Demo.GetAsync($"/v2.0/networks/{n!["id"]}")).Status);

        var network = (string)created[0]!["id"]!;
        var (v4, v6) = (Cidrs.NextV4(), Cidrs.NextV6());
        var subnets = await Demo.PostAsync("/v2.0/subnets", Bulk("subnets",
            new JsonObject { ["network_id"] = network, ["cidr"] = v4, ["ip_version"] = 4 },
            new JsonObject { ["network_id"] = network, ["cidr"] = v6, ["ip_version"] = 6 }));
        Assert.Equal(HttpStatusCode.Created, subnets.Status);
        Assert.Equal([v4, v6], subnets.Body!["subnets"]!.AsArray().Select(s => (string)s!["cidr"]!));

        var ports = await Demo.PostAsync("/v2.0/ports", Bulk("ports",
            new JsonObject { ["network_id"] = network, ["name"] = "bulk-p1" }, new JsonObject { ["network_id"] = network, ["name"] = "bulk-p2" }));
        Assert.Equal(HttpStatusCode.Created, ports.Status);
        Assert.Equal(["bulk-p1", "bulk-p2"], ports.Body!["ports"]!.AsArray().Select(p => (string)p!["name"]!));
        Assert.Equal(2, (await Demo.ListAsync("ports", $"?network_id={network}")).Count);

        var groups = await Demo.PostAsync("/v2.0/security-groups", Bulk("security_groups",
            new JsonObject { ["name"] = "bulk-sg1" }, new JsonObject { ["name"] = "bulk-sg2" }));
        Assert.Equal(HttpStatusCode.Created, groups.Status);
        var group = (string)groups.Body!["security_groups"]![0]!["id"]!;
        var rules = await Demo.PostAsync("/v2.0/security-group-rules", Bulk("security_group_rules",
            new JsonObject { ["security_group_id"] = group, ["direction"] = "ingress", ["protocol"] = "tcp", ["port_range_min"] = 22, ["port_range_max"] = 22 },
            new JsonObject { ["security_group_id"] = group, ["direction"] = "ingress", ["protocol"] = "icmp" }));
        Assert.Equal(HttpStatusCode.Created, rules.Status);
        Assert.Equal(["tcp", "icmp"], rules.Body!["security_group_rules"]!.AsArray().Select(r => (string)r!["protocol"]!));
        Assert.Equal(4, (await Demo.ListAsync("security-group-rules", $"?security_group_id={group}")).Count);
    }

    [Fact]
    public async Task One_bad_item_refuses_the_whole_list_naming_it_and_nothing_is_left()
    {
        var bad = await Demo.PostAsync("/v2.0/networks", Bulk("networks",
            new JsonObject { ["name"] = "bulk-none-1" }, new JsonObject { ["name"] = "bulk-none-2", ["mtu"] = 10 }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.StartsWith("networks[1]: Invalid input for operation: mtu: 10 is outside 68..65535", bad.Error.Message, StringComparison.Ordinal);
        Assert.Empty(await Demo.ListAsync("networks", "?name=bulk-none-1"));

        // The second subnet overlaps the first: Neutron's text, behind the item's name; the first is taken back.
        var network = (string)(await Demo.NetworkAsync("bulk-overlap"))["id"]!;
        var cidr = Cidrs.NextV4();
        var overlap = await Demo.PostAsync("/v2.0/subnets", Bulk("subnets",
            new JsonObject { ["network_id"] = network, ["cidr"] = cidr, ["ip_version"] = 4 },
            new JsonObject { ["network_id"] = network, ["cidr"] = cidr, ["ip_version"] = 4 }));
        Assert.Equal(HttpStatusCode.BadRequest, overlap.Status);
        Assert.StartsWith($"subnets[1]: Invalid input for operation: Requested subnet with cidr: {cidr}", overlap.Error.Message, StringComparison.Ordinal);
        Assert.Contains("overlaps with another subnet", overlap.Error.Message, StringComparison.Ordinal);
        Assert.Empty(await Demo.ListAsync("subnets", $"?network_id={network}"));

        // A port whose network does not exist keeps its 404; the port made before it is deleted and its address freed.
        var subnet = await Demo.SubnetAsync(network, cidr);
        var address = Cidrs.At(cidr, 10);
        var fixedIp = new JsonArray(new JsonObject { ["subnet_id"] = (string)subnet["id"]!, ["ip_address"] = address });
        var missing = await Demo.PostAsync("/v2.0/ports", Bulk("ports",
            new JsonObject { ["network_id"] = network, ["fixed_ips"] = fixedIp.DeepClone() },
            new JsonObject { ["network_id"] = Guid.NewGuid().ToString() }));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal("NetworkNotFound", missing.Error.Type);
        Assert.StartsWith("ports[1]: Network ", missing.Error.Message, StringComparison.Ordinal);
        Assert.Empty(await Demo.ListAsync("ports", $"?network_id={network}"));
        var again = await Demo.PortAsync(network, new JsonObject { ["fixed_ips"] = fixedIp.DeepClone() });
        Assert.Contains(address, again["fixed_ips"]!.ToJsonString(), StringComparison.Ordinal);

        // Rules of one group are stored in one write: a duplicate in the list, or of a rule the group has, stores none
        // of them, and the group keeps its revision.
        var group = await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "bulk-dup" });
        var groupId = (string)group["id"]!;
        JsonObject Rule(int port) => new() { ["security_group_id"] = groupId, ["direction"] = "ingress", ["protocol"] = "udp", ["port_range_min"] = port, ["port_range_max"] = port };
        var inList = await Demo.PostAsync("/v2.0/security-group-rules", Bulk("security_group_rules", Rule(5), Rule(6), Rule(5)));
        Assert.Equal(HttpStatusCode.Conflict, inList.Status);
        Assert.Equal("security_group_rules[2]: Duplicate Security Group Rule in POST.", inList.Error.Message);
        var existing = await Demo.CreateAsync("security-group-rules", "security_group_rule", Rule(7));
        var ofGroup = await Demo.PostAsync("/v2.0/security-group-rules", Bulk("security_group_rules", Rule(8), Rule(7)));
        Assert.Equal(HttpStatusCode.Conflict, ofGroup.Status);
        Assert.Equal($"security_group_rules[1]: Security group rule already exists. Rule id is {existing["id"]}.", ofGroup.Error.Message);
        var after = (await Demo.GetAsync($"/v2.0/security-groups/{groupId}")).Body!["security_group"]!;
        Assert.Equal(2, (long)after["revision_number"]!);
        Assert.Equal(3, after["security_group_rules"]!.AsArray().Count);
    }

    public static TheoryData<string, string> MalformedBodies => new()
    {
        { """{"networks": []}""", "'networks' is an empty list" },
        { """{"networks": {"name": "x"}}""", "'networks' must be a JSON list of objects" },
        { """{"networks": [{"name": "x"}, 3]}""", "networks[1] must be a JSON object" },
        { """{"networks": [{"name": "x"}], "network": {"name": "y"}}""", "Unrecognized attribute(s) 'networks' beside 'network'" },
        { """{"networks": [{"name": "x"}], "extra": 1}""", "Unrecognized attribute(s) 'extra' beside 'networks'" },
        { """{"networks": [{"name": "bulk-x"}, {"name": "bulk-y", "color": "red"}]}""", "networks[1]: Unrecognized attribute(s) 'color'" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Malformed_lists_are_refused_before_anything_is_made(string body, string message)
    {
        var reply = await Demo.SendAsync(HttpMethod.Post, "/v2.0/networks", body);
        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains(message, reply.Error.Message, StringComparison.Ordinal);
        Assert.Empty(await Demo.ListAsync("networks", "?name=x&name=y&name=bulk-x&name=bulk-y"));
    }

    [Fact]
    public async Task A_list_is_refused_where_only_one_resource_may_be_sent()
    {
        var network = (string)(await Demo.NetworkAsync("bulk-update"))["id"]!;
        var reply = await Demo.PutAsync($"/v2.0/networks/{network}", Bulk("networks", new JsonObject { ["name"] = "x" }));
        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains("only for creating", reply.Error.Message, StringComparison.Ordinal);
    }
}
