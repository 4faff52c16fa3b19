using System.Net;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

/// <summary>QoS policies, their bandwidth-limit and packet-rate rules, rule types, and qos_policy_id on networks and ports.</summary>
[Collection(TokenApi.Name)]
public sealed class QosTests(TokenApiServer server)
{
    private NeutronClient Admin => server.Admin;

    private NeutronClient Demo => server.Demo;

    private async Task<string> PolicyAsync(string name, JsonObject? extra = null)
    {
        var body = extra ?? new JsonObject();
        body["name"] = name;
        body["project_id"] ??= "demo";
        return (string)(await Admin.CreateAsync("qos/policies", "policy", body))["id"]!;
    }

    private async Task<JsonArray> ListAsync(string path, string key)
    {
        var reply = await Demo.GetAsync("/v2.0/" + path);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Body![key]!.AsArray();
    }

    private Task<Reply> RuleAsync(string policy, string collection, string singular, JsonObject rule) =>
        Admin.PostAsync($"/v2.0/qos/policies/{policy}/{collection}", new JsonObject { [singular] = rule });

    [Fact]
    public async Task Policies_and_rules_are_created_listed_changed_and_deleted_by_admins()
    {
        var denied = await Demo.PostAsync("/v2.0/qos/policies", new JsonObject { ["policy"] = new JsonObject { ["name"] = "mine" } });
        Assert.Equal(HttpStatusCode.Forbidden, denied.Status);
        var id = await PolicyAsync("qos-crud", new JsonObject { ["description"] = "gold" });
        var shown = (await Demo.GetAsync($"/v2.0/qos/policies/{id}")).Body!["policy"]!;
        Assert.Equal(("qos-crud", "gold", false, false, "demo"), ((string)shown["name"]!, (string)shown["description"]!, (bool)shown["shared"]!,
            (bool)shown["is_default"]!, (string)shown["project_id"]!));
        Assert.Empty(shown["rules"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await server.Other.GetAsync($"/v2.0/qos/policies/{id}")).Status);

        var egress = await RuleAsync(id, "bandwidth_limit_rules", "bandwidth_limit_rule", new JsonObject { ["max_kbps"] = 10000, ["max_burst_kbps"] = 1000 });
        Assert.Equal(HttpStatusCode.Created, egress.Status);
        var rule = egress.Body!["bandwidth_limit_rule"]!;
        Assert.Equal((10000, 1000, "egress"), ((int)rule["max_kbps"]!, (int)rule["max_burst_kbps"]!, (string)rule["direction"]!));
        var duplicate = await RuleAsync(id, "bandwidth_limit_rules", "bandwidth_limit_rule", new JsonObject { ["max_kbps"] = 5 });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Status);
        var ingress = await RuleAsync(id, "bandwidth_limit_rules", "bandwidth_limit_rule", new JsonObject { ["max_kbps"] = 2000, ["direction"] = "ingress" });
        Assert.Equal(HttpStatusCode.Created, ingress.Status);
        var pps = await RuleAsync(id, "packet_rate_limit_rules", "packet_rate_limit_rule", new JsonObject { ["max_kpps"] = 300, ["direction"] = "ingress" });
        Assert.Equal(HttpStatusCode.Created, pps.Status);
        Assert.Equal(300, (int)pps.Body!["packet_rate_limit_rule"]!["max_kpps"]!);

        var policy = (await Demo.GetAsync($"/v2.0/qos/policies/{id}")).Body!["policy"]!;
        Assert.Equal(3, policy["rules"]!.AsArray().Count);
        Assert.Equal(4, (int)policy["revision_number"]!);
        Assert.Equal(2, (await ListAsync($"qos/policies/{id}/bandwidth_limit_rules", "bandwidth_limit_rules")).Count);
        Assert.Single(await ListAsync($"qos/policies/{id}/bandwidth_limit_rules?direction=ingress", "bandwidth_limit_rules"));

        // Bad input is refused, naming what is wrong, and changes nothing.
        foreach (var (body, words) in new[]
        {
            (new JsonObject { ["max_kbps"] = -1, ["direction"] = "ingress" }, "max_kbps"),
            (new JsonObject { ["max_kbps"] = 1, ["direction"] = "sideways" }, "'sideways' is not one of ingress, egress"),
            (new JsonObject { ["max_burst_kbps"] = 1 }, "max_kbps: is required"),
            (new JsonObject { ["max_kbps"] = 1, ["max_kpps"] = 1 }, "Unrecognized attribute(s) 'max_kpps'"),
        })
        {
            var reply = await RuleAsync(id, "bandwidth_limit_rules", "bandwidth_limit_rule", body);
            Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
            Assert.Contains(words, reply.Error.Message, StringComparison.Ordinal);
        }
        Assert.Equal(4, (int)(await Demo.GetAsync($"/v2.0/qos/policies/{id}")).Body!["policy"]!["revision_number"]!);

        var ruleId = (string)rule["id"]!;
        var changed = await Admin.PutAsync($"/v2.0/qos/policies/{id}/bandwidth_limit_rules/{ruleId}",
            new JsonObject { ["bandwidth_limit_rule"] = new JsonObject { ["max_kbps"] = 20000 } });
        Assert.Equal(HttpStatusCode.OK, changed.Status);
        Assert.Equal((20000, 1000), ((int)changed.Body!["bandwidth_limit_rule"]!["max_kbps"]!, (int)changed.Body!["bandwidth_limit_rule"]!["max_burst_kbps"]!));
        var clash = await Admin.PutAsync($"/v2.0/qos/policies/{id}/bandwidth_limit_rules/{ruleId}",
            new JsonObject { ["bandwidth_limit_rule"] = new JsonObject { ["direction"] = "ingress" } });
        Assert.Equal(HttpStatusCode.Conflict, clash.Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Demo.DeleteAsync($"/v2.0/qos/policies/{id}/bandwidth_limit_rules/{ruleId}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/v2.0/qos/policies/{id}/bandwidth_limit_rules/{ruleId}")).Status);
        var missing = await Demo.GetAsync($"/v2.0/qos/policies/{id}/bandwidth_limit_rules/{ruleId}");
        Assert.Equal((HttpStatusCode.NotFound, "QosRuleNotFound"), (missing.Status, missing.Error.Type));
        // A rule of the other type is not found under this one's collection.
        var ppsId = (string)pps.Body!["packet_rate_limit_rule"]!["id"]!;
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/qos/policies/{id}/bandwidth_limit_rules/{ppsId}")).Status);

        var renamed = await Admin.PutAsync($"/v2.0/qos/policies/{id}", new JsonObject { ["policy"] = new JsonObject { ["name"] = "qos-crud-2" } });
        Assert.Equal("qos-crud-2", (string)renamed.Body!["policy"]!["name"]!);
        Assert.Equal(HttpStatusCode.Created, (await Admin.PutAsync($"/v2.0/qos/policies/{id}/tags/blue", new JsonObject())).Status);
        Assert.Single(await ListAsync("qos/policies?tags=blue&name=qos-crud-2", "policies"));
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/v2.0/qos/policies/{id}")).Status);
        var gone = await Demo.GetAsync($"/v2.0/qos/policies/{id}");
        Assert.Equal((HttpStatusCode.NotFound, "QosPolicyNotFound"), (gone.Status, gone.Error.Type));
    }

    [Fact]
    public async Task Networks_and_ports_name_a_policy_that_exists_and_it_is_not_deleted_while_used()
    {
        var policy = await PolicyAsync("qos-used");
        var network = await Demo.NetworkAsync("net-qos", new JsonObject { ["qos_policy_id"] = policy });
        var networkId = (string)network["id"]!;
        Assert.Equal(policy, (string)network["qos_policy_id"]!);
        await Demo.SubnetAsync(networkId, Cidrs.NextV4());

        var unknown = await Demo.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = networkId, ["qos_policy_id"] = "no-such-policy" } });
        Assert.Equal((HttpStatusCode.NotFound, "QosPolicyNotFound"), (unknown.Status, unknown.Error.Type));
        Assert.Empty(await Demo.ListAsync("ports", $"?network_id={networkId}"));
        var hidden = await PolicyAsync("qos-other", new JsonObject { ["project_id"] = "other" });
        var notVisible = await Demo.PutAsync($"/v2.0/networks/{networkId}", new JsonObject { ["network"] = new JsonObject { ["qos_policy_id"] = hidden } });
        Assert.Equal(HttpStatusCode.NotFound, notVisible.Status);

        var port = await Demo.PortAsync(networkId);
        var portId = (string)port["id"]!;
        Assert.Null(port["qos_policy_id"]);
        var set = await Demo.PutAsync($"/v2.0/ports/{portId}", new JsonObject { ["port"] = new JsonObject { ["qos_policy_id"] = policy } });
        Assert.Equal(policy, (string)set.Body!["port"]!["qos_policy_id"]!);
        Assert.Single(await Demo.ListAsync("ports", $"?qos_policy_id={policy}"));

        var inUse = await Admin.DeleteAsync($"/v2.0/qos/policies/{policy}");
        Assert.Equal((HttpStatusCode.Conflict, "QosPolicyInUse"), (inUse.Status, inUse.Error.Type));
        Assert.Equal($"QoS Policy {policy} is used by port {portId}.", inUse.Error.Message);
        await Demo.PutAsync($"/v2.0/ports/{portId}", new JsonObject { ["port"] = new JsonObject { ["qos_policy_id"] = null } });
        inUse = await Admin.DeleteAsync($"/v2.0/qos/policies/{policy}");
        Assert.Equal($"QoS Policy {policy} is used by network {networkId}.", inUse.Error.Message);
        Assert.Equal(HttpStatusCode.OK, (await Admin.GetAsync($"/v2.0/qos/policies/{policy}")).Status);
        await Demo.PutAsync($"/v2.0/networks/{networkId}", new JsonObject { ["network"] = new JsonObject { ["qos_policy_id"] = null } });
        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/v2.0/qos/policies/{policy}")).Status);
    }

    [Fact]
    public async Task A_projects_default_policy_goes_to_its_new_networks_and_rule_types_are_listed()
    {
        var policy = await PolicyAsync("qos-default", new JsonObject { ["is_default"] = true, ["project_id"] = "qos-default-p" });
        var second = await Admin.PostAsync("/v2.0/qos/policies", new JsonObject { ["policy"] = new JsonObject
        {
            ["name"] = "qos-default-2", ["is_default"] = true, ["project_id"] = "qos-default-p",
        } });
        Assert.Equal((HttpStatusCode.Conflict, "QoSPolicyDefaultAlreadyExists"), (second.Status, second.Error.Type));
        var network = await Admin.CreateAsync("networks", "network", new JsonObject { ["name"] = "net-qos-default", ["project_id"] = "qos-default-p" });
        Assert.Equal(policy, (string)network["qos_policy_id"]!);

        var types = (await ListAsync("qos/rule-types", "rule_types")).Select(t => (string)t!["type"]!).Order(StringComparer.Ordinal);
        Assert.Equal(["bandwidth_limit", "packet_rate_limit"], types);
        var details = (await Demo.GetAsync("/v2.0/qos/rule-types/bandwidth_limit")).Body!["rule_type"]!;
        Assert.Equal("max_kbps", (string)details["drivers"]![0]!["supported_parameters"]![0]!["parameter_name"]!);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync("/v2.0/qos/rule-types/dscp_marking")).Status);
    }
}
