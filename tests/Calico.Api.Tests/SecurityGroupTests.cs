using System.Net;
using Calico.Api.Tests.Harness;
using Calico.Grains;
using Calico.Model.Net;

namespace Calico.Api.Tests;

[Collection(TokenApi.Name)]
public sealed class SecurityGroupTests(TokenApiServer server)
{
    private NeutronClient Demo => server.Demo;

    private static JsonObject Rule(string group, string direction, JsonObject? extra = null)
    {
        var rule = new JsonObject { ["security_group_id"] = group, ["direction"] = direction };
        foreach (var (k, v) in extra ?? []) rule[k] = v?.DeepClone();
        return new JsonObject { ["security_group_rule"] = rule };
    }

    [Fact]
    public async Task Every_project_gets_one_default_group_with_neutrons_default_rules()
    {
        var groups = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => server.Other.ListAsync("security-groups", "?name=default")));
        var group = Assert.Single(groups[0])!;
        Assert.All(groups, g => Assert.Equal((string)group["id"]!, (string)Assert.Single(g)!["id"]!));
        var id = (string)group["id"]!;
        var rules = group["security_group_rules"]!.AsArray()
            .Select(r => ((string)r!["direction"]!, (string)r["ethertype"]!, (string?)r["remote_group_id"], (string?)r["protocol"], (string?)r["remote_ip_prefix"]))
            .Order().ToList();
        Assert.Equal(
        [
            ("egress", "IPv4", null, null, null), ("egress", "IPv6", null, null, null),
            ("ingress", "IPv4", id, null, null), ("ingress", "IPv6", id, null, null),
        ], rules);
        var delete = await server.Other.DeleteAsync($"/v2.0/security-groups/{id}");
        Assert.Equal(HttpStatusCode.Conflict, delete.Status);
        Assert.Contains("Removing default security group not allowed", delete.Error.Message, StringComparison.Ordinal);
        var duplicate = await server.Other.PostAsync("/v2.0/security-groups", new JsonObject { ["security_group"] = new JsonObject { ["name"] = "default" } });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Status);
    }

    [Fact]
    public async Task Groups_and_rules_are_created_shown_listed_updated_and_deleted()
    {
        var group = await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "sg-crud", ["description"] = "web tier" });
        var id = (string)group["id"]!;
        Assert.Equal(2, group["security_group_rules"]!.AsArray().Count);
        Assert.True((bool)group["stateful"]!);

        var rule = await Demo.PostAsync("/v2.0/security-group-rules", Rule(id, "ingress", new JsonObject
        {
            ["protocol"] = "tcp", ["port_range_min"] = 22, ["port_range_max"] = 22, ["remote_ip_prefix"] = "192.0.2.0/24",
        }));
        Assert.Equal(HttpStatusCode.Created, rule.Status);
        var ruleId = (string)rule.Body!["security_group_rule"]!["id"]!;
        Assert.Equal("tcp", (string)rule.Body!["security_group_rule"]!["protocol"]!);
        Assert.Equal(2, (long)rule.Body!["security_group_rule"]!["revision_number"]!);

        var duplicate = await Demo.PostAsync("/v2.0/security-group-rules", Rule(id, "ingress", new JsonObject
        {
            ["protocol"] = "6", ["port_range_min"] = 22, ["port_range_max"] = 22, ["remote_ip_prefix"] = "192.0.2.0/24",
        }));
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Status);
        Assert.Contains(ruleId, duplicate.Error.Message, StringComparison.Ordinal);

        var remote = await Demo.PostAsync("/v2.0/security-group-rules", Rule(id, "ingress", new JsonObject { ["remote_group_id"] = id, ["ethertype"] = "IPv6" }));
        Assert.Equal(HttpStatusCode.Created, remote.Status);

        Assert.Equal(4, (await Demo.ListAsync("security-group-rules", $"?security_group_id={id}")).Count);
        Assert.Single(await Demo.ListAsync("security-group-rules", $"?security_group_id={id}&protocol=tcp"));
        Assert.Equal(id, (string)(await Demo.GetAsync($"/v2.0/security-group-rules/{ruleId}")).Body!["security_group_rule"]!["security_group_id"]!);

        var renamed = await Demo.PutAsync($"/v2.0/security-groups/{id}", new JsonObject { ["security_group"] = new JsonObject { ["name"] = "sg-renamed" } });
        Assert.Equal("sg-renamed", (string)renamed.Body!["security_group"]!["name"]!);
        Assert.Equal(4, renamed.Body!["security_group"]!["security_group_rules"]!.AsArray().Count);

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/security-group-rules/{ruleId}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/security-group-rules/{ruleId}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.DeleteAsync($"/v2.0/security-group-rules/{ruleId}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/security-groups/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/security-groups/{id}")).Status);
    }

    [Fact]
    public async Task Concurrent_rule_additions_are_all_kept()
    {
        var group = await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "sg-concurrent" });
        var id = (string)group["id"]!;
        var replies = await Task.WhenAll(Enumerable.Range(1, 6).Select(port => Demo.PostAsync("/v2.0/security-group-rules",
            Rule(id, "ingress", new JsonObject { ["protocol"] = "udp", ["port_range_min"] = 1000 + port, ["port_range_max"] = 1000 + port }))));
        Assert.All(replies, r => Assert.Equal(HttpStatusCode.Created, r.Status));
        Assert.Equal(6, (await Demo.ListAsync("security-group-rules", $"?security_group_id={id}&protocol=udp")).Count);
    }

    /// <summary>Neutron's wording for each refusal: Tempest's negative tests match these texts.</summary>
    public static TheoryData<string, HttpStatusCode, string> BadRules => new()
    {
        { """{"direction": "sideways"}""", HttpStatusCode.BadRequest, "'sideways' is not 'ingress' or 'egress'" },
        { """{}""", HttpStatusCode.BadRequest, "direction: is required" },
        { """{"direction": "ingress", "protocol": "carrier-pigeon"}""", HttpStatusCode.BadRequest, "Security group rule protocol carrier-pigeon not supported." },
        { """{"direction": "ingress", "protocol": "tcp", "port_range_min": 90, "port_range_max": 80}""", HttpStatusCode.BadRequest, "For TCP/UDP protocols, port_range_min must be <= port_range_max" },
        { """{"direction": "ingress", "protocol": "tcp", "port_range_max": 6}""", HttpStatusCode.BadRequest, "port_range_min must be <= port_range_max" },
        { """{"direction": "ingress", "protocol": "tcp", "port_range_min": -16, "port_range_max": 80}""", HttpStatusCode.BadRequest, "Invalid value for port -16" },
        { """{"direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 65536}""", HttpStatusCode.BadRequest, "Invalid value for port 65536" },
        { """{"direction": "ingress", "protocol": "tcp", "port_range_min": "x", "port_range_max": 80}""", HttpStatusCode.BadRequest, "Invalid value for port x" },
        { """{"direction": "ingress", "protocol": "icmp", "port_range_min": 1, "port_range_max": 256}""", HttpStatusCode.BadRequest, "Invalid value for ICMP code (port_range_max) 256. It must be 0 to 255." },
        { """{"direction": "ingress", "protocol": "icmp", "port_range_min": 300, "port_range_max": 1}""", HttpStatusCode.BadRequest, "Invalid value for ICMP type (port_range_min) 300" },
        { """{"direction": "ingress", "protocol": "icmp", "port_range_min": -1, "port_range_max": 25}""", HttpStatusCode.BadRequest, "Invalid value for port -1" },
        { """{"direction": "ingress", "protocol": "icmp", "port_range_max": 6}""", HttpStatusCode.BadRequest, "ICMP code (port-range-max) 6 is provided but ICMP type (port-range-min) is missing." },
        { """{"direction": "ingress", "protocol": "gre", "port_range_min": 1, "port_range_max": 2}""", HttpStatusCode.BadRequest, "Invalid protocol gre for port range" },
        { """{"direction": "ingress", "port_range_min": 1, "port_range_max": 2}""", HttpStatusCode.BadRequest, "Must also specify protocol if port range is given." },
        { """{"direction": "ingress", "protocol": "ipv6-icmp"}""", HttpStatusCode.BadRequest, "Invalid ethertype IPv4 for protocol ipv6-icmp." },
        { """{"direction": "ingress", "remote_ip_prefix": "2001:db8::/32"}""", HttpStatusCode.BadRequest, "Conflicting value ethertype IPv4 for CIDR 2001:db8::/32" },
        { """{"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "192.0.2.0/24"}""", HttpStatusCode.BadRequest, "Conflicting value ethertype IPv6 for CIDR 192.0.2.0/24" },
        { """{"direction": "ingress", "remote_ip_prefix": "192.0.2.0/24", "remote_group_id": "5e1b0000-0000-4000-8000-000000000001"}""", HttpStatusCode.BadRequest, "Only remote_ip_prefix or remote_group_id may be provided." },
        { """{"direction": "ingress", "remote_group_id": "5e1b0000-0000-4000-8000-000000000001"}""", HttpStatusCode.NotFound, "Security group 5e1b0000-0000-4000-8000-000000000001 does not exist" },
        { """{"direction": "ingress", "ethertype": "IPX"}""", HttpStatusCode.BadRequest, "'IPX' is not 'IPv4' or 'IPv6'" },
    };

    [Fact]
    public async Task A_protocol_comes_back_as_it_was_given_and_icmp_with_ipv6_is_ipv6_icmp_underneath()
    {
        var group = await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "sg-protocols" });
        var id = (string)group["id"]!;
        async Task<JsonObject> CreateAsync(JsonObject extra)
        {
            var reply = await Demo.PostAsync("/v2.0/security-group-rules", Rule(id, "ingress", extra));
            Assert.True(reply.Status == HttpStatusCode.Created, reply.Text);
            return (JsonObject)reply.Body!["security_group_rule"]!;
        }
        var number = await CreateAsync(new JsonObject { ["protocol"] = 17, ["port_range_min"] = 53, ["port_range_max"] = 53 });
        Assert.Equal("17", (string)number["protocol"]!);
        var text = await CreateAsync(new JsonObject { ["protocol"] = "132" });
        Assert.Equal("132", (string)text["protocol"]!);
        var upper = await CreateAsync(new JsonObject { ["protocol"] = "UDP", ["port_range_min"] = 54, ["port_range_max"] = 54 });
        Assert.Equal("udp", (string)upper["protocol"]!);
        var icmp6 = await CreateAsync(new JsonObject { ["protocol"] = "icmp", ["ethertype"] = "IPv6", ["port_range_min"] = 128 });
        Assert.Equal("icmp", (string)icmp6["protocol"]!);
        Assert.Equal("IPv6", (string)icmp6["ethertype"]!);

        Assert.Equal("17", (string)(await Demo.GetAsync($"/v2.0/security-group-rules/{number["id"]}")).Body!["security_group_rule"]!["protocol"]!);
        Assert.Equal((string)number["id"]!, (string)Assert.Single(await Demo.ListAsync("security-group-rules", $"?security_group_id={id}&protocol=17"))!["id"]!);
        // The same traffic by name or by number is one rule.
        var duplicate = await Demo.PostAsync("/v2.0/security-group-rules", Rule(id, "ingress", new JsonObject { ["protocol"] = "udp", ["port_range_min"] = 53, ["port_range_max"] = 53 }));
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Status);
        Assert.Contains((string)number["id"]!, duplicate.Error.Message, StringComparison.Ordinal);

        // What the dataplane compiles: the numbers, with ICMP over IPv6 as ipv6-icmp (58).
        var stored = (await server.Cluster.GetGrain<ISecurityGroupGrain>(id).GetAsync())!.Value.Rules;
        Assert.Equal(IpProtocols.Udp, stored.Single(r => r.Id == (string)number["id"]!).Protocol);
        Assert.Equal(IpProtocols.Udp, stored.Single(r => r.Id == (string)upper["id"]!).Protocol);
        Assert.Equal(IpProtocols.Icmpv6, stored.Single(r => r.Id == (string)icmp6["id"]!).Protocol);
    }

    [Theory]
    [MemberData(nameof(BadRules))]
    public async Task Invalid_rules_are_refused_and_leave_the_group_as_it_was(string attributes, HttpStatusCode status, string message)
    {
        var group = await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "sg-bad-rule" });
        var body = JsonNode.Parse(attributes)!.AsObject();
        body["security_group_id"] = (string)group["id"]!;
        var reply = await Demo.PostAsync("/v2.0/security-group-rules", new JsonObject { ["security_group_rule"] = body });
        Assert.Equal(status, reply.Status);
        Assert.Contains(message, reply.Error.Message, StringComparison.Ordinal);
        var after = (await Demo.GetAsync($"/v2.0/security-groups/{group["id"]}")).Body!["security_group"]!;
        Assert.Equal(1, (long)after["revision_number"]!);
        Assert.Equal(2, after["security_group_rules"]!.AsArray().Count);
    }

    [Fact]
    public async Task A_group_in_use_by_a_port_cannot_be_deleted_and_rules_naming_a_deleted_group_go_with_it()
    {
        var network = await Demo.NetworkAsync("net-sg-in-use");
        var used = await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "sg-used" });
        var referenced = await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "sg-referenced" });
        var port = await Demo.PortAsync((string)network["id"]!, new JsonObject { ["security_groups"] = new JsonArray((string)used["id"]!) });
        Assert.Equal(HttpStatusCode.Created, (await Demo.PostAsync("/v2.0/security-group-rules",
            Rule((string)used["id"]!, "ingress", new JsonObject { ["remote_group_id"] = (string)referenced["id"]! }))).Status);

        var inUse = await Demo.DeleteAsync($"/v2.0/security-groups/{used["id"]}");
        Assert.Equal(HttpStatusCode.Conflict, inUse.Status);
        Assert.Equal("SecurityGroupInUse", inUse.Error.Type);

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/security-groups/{referenced["id"]}")).Status);
        Assert.Empty(await Demo.ListAsync("security-group-rules", $"?security_group_id={used["id"]}&remote_group_id={referenced["id"]}"));
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/ports/{port["id"]}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/security-groups/{used["id"]}")).Status);
    }
}
