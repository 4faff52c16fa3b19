using System.Net;
using Calico.Api.Tests.Harness;
using Calico.Silo.Tests;

namespace Calico.Api.Tests;

/// <summary>Neutron's quotas: per-project limits, shown, set, reset, and enforced on create with 409 OverQuota.</summary>
[Collection(TokenApi.Name)]
public sealed class QuotaTests(TokenApiServer server)
{
    private NeutronClient Admin => server.Admin;

    private static JsonObject Quota(JsonObject limits) => new() { ["quota"] = limits };

    private Task<JsonObject> NetworkOfAsync(string project, string name) =>
        Admin.CreateAsync("networks", "network", new JsonObject { ["name"] = name, ["project_id"] = project });

    [Fact]
    public async Task Limits_are_shown_set_enforced_and_reset()
    {
        const string project = "quota-p1";
        var initial = await Admin.GetAsync($"/v2.0/quotas/{project}");
        Assert.Equal(HttpStatusCode.OK, initial.Status);
        // No Api:QuotaDefaults on this server: nothing is limited.
        Assert.All(new[] { "network", "subnet", "port", "security_group", "security_group_rule", "floatingip", "router" },
            r => Assert.Equal(-1, (int)initial.Body!["quota"]![r]!));

        var set = await Admin.PutAsync($"/v2.0/quotas/{project}", Quota(new JsonObject { ["network"] = 2, ["port"] = "7" }));
        Assert.Equal(HttpStatusCode.OK, set.Status);
        Assert.Equal(2, (int)set.Body!["quota"]!["network"]!);
        Assert.Equal(7, (int)set.Body!["quota"]!["port"]!);
        Assert.Equal(-1, (int)set.Body!["quota"]!["subnet"]!);
        // A second PUT keeps what it does not name.
        await Admin.PutAsync($"/v2.0/quotas/{project}", Quota(new JsonObject { ["subnet"] = 3 }));
        var shown = (await Admin.GetAsync($"/v2.0/quotas/{project}")).Body!["quota"]!;
        Assert.Equal((2, 3, 7), ((int)shown["network"]!, (int)shown["subnet"]!, (int)shown["port"]!));
        var listed = (await Admin.ListAsync("quotas")).Single(q => (string)q!["project_id"]! == project)!;
        Assert.Equal(2, (int)listed["network"]!);

        await NetworkOfAsync(project, "quota-n1");
        await NetworkOfAsync(project, "quota-n2");
        var over = await Admin.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = "quota-n3", ["project_id"] = project } });
        Assert.Equal(HttpStatusCode.Conflict, over.Status);
        Assert.Equal(("OverQuota", "Quota exceeded for resources: ['network']."), over.Error);
        Assert.Empty(await Admin.ListAsync("networks", "?name=quota-n3"));
        var details = (await Admin.GetAsync($"/v2.0/quotas/{project}/details.json")).Body!["quota"]!["network"]!;
        Assert.Equal((2, 2, 0), ((int)details["used"]!, (int)details["limit"]!, (int)details["reserved"]!));

        Assert.Equal(HttpStatusCode.NoContent, (await Admin.DeleteAsync($"/v2.0/quotas/{project}")).Status);
        Assert.Equal(-1, (int)(await Admin.GetAsync($"/v2.0/quotas/{project}")).Body!["quota"]!["network"]!);
        Assert.DoesNotContain(await Admin.ListAsync("quotas"), q => (string)q!["project_id"]! == project);
        await NetworkOfAsync(project, "quota-n3");
        Assert.Equal(-1, (int)(await Admin.GetAsync($"/v2.0/quotas/{project}/default")).Body!["quota"]!["network"]!);
    }

    [Fact]
    public async Task A_bulk_create_that_would_pass_a_limit_makes_nothing()
    {
        const string project = "quota-p2";
        Assert.Equal(HttpStatusCode.OK, (await Admin.PutAsync($"/v2.0/quotas/{project}", Quota(new JsonObject { ["network"] = 1, ["security_group_rule"] = 8 }))).Status);
        var bulk = await Admin.PostAsync("/v2.0/networks", new JsonObject
        {
            ["networks"] = new JsonArray(new JsonObject { ["name"] = "quota-b1", ["project_id"] = project }, new JsonObject { ["name"] = "quota-b2", ["project_id"] = project }),
        });
        Assert.Equal(HttpStatusCode.Conflict, bulk.Status);
        Assert.Equal("networks[1]: Quota exceeded for resources: ['network'].", bulk.Error.Message);
        Assert.Empty(await Admin.ListAsync("networks", "?name=quota-b1"));

        // A new group brings its two egress rules (and the project's default group its four): 6 of 8.
        var group = (string)(await Admin.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "quota-sg", ["project_id"] = project }))["id"]!;
        JsonObject Rule(int port) => new() { ["security_group_id"] = group, ["direction"] = "ingress", ["protocol"] = "tcp", ["port_range_min"] = port, ["port_range_max"] = port };
        var rules = await Admin.PostAsync("/v2.0/security-group-rules", new JsonObject { ["security_group_rules"] = new JsonArray(Rule(1), Rule(2), Rule(3)) });
        Assert.Equal(HttpStatusCode.Conflict, rules.Status);
        Assert.Equal("security_group_rules[0]: Quota exceeded for resources: ['security_group_rule'].", rules.Error.Message);
        Assert.Equal(HttpStatusCode.Created, (await Admin.PostAsync("/v2.0/security-group-rules", new JsonObject { ["security_group_rules"] = new JsonArray(Rule(1), Rule(2)) })).Status);
        var details = (await Admin.GetAsync($"/v2.0/quotas/{project}/details")).Body!["quota"]!["security_group_rule"]!;
        Assert.Equal(8, (int)details["used"]!);
    }

    [Fact]
    public async Task Only_an_admin_changes_or_lists_quotas_and_a_project_sees_its_own()
    {
        Assert.Equal(HttpStatusCode.OK, (await server.Demo.GetAsync("/v2.0/quotas/demo")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Demo.GetAsync("/v2.0/quotas/other")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Demo.GetAsync("/v2.0/quotas")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Demo.PutAsync("/v2.0/quotas/demo", Quota(new JsonObject { ["network"] = 50 }))).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Demo.DeleteAsync("/v2.0/quotas/demo")).Status);
        Assert.Equal(-1, (int)(await server.Demo.GetAsync("/v2.0/quotas/demo")).Body!["quota"]!["network"]!);
        Assert.Equal(HttpStatusCode.OK, (await server.Demo.GetAsync("/v2.0/extensions/quotas")).Status);
    }

    public static TheoryData<string, string> BadQuotas => new()
    {
        { """{"quota": {"network": -2}}""", "network: '-2' must be -1 (no limit) or more" },
        { """{"quota": {"network": "many"}}""", "network: '\"many\"' is not an integer" },
        { """{"quota": {"widgets": 1}}""", "Unrecognized attribute(s) 'widgets'" },
        { """{"quota": {"project_id": "x"}}""", "Cannot update read-only attribute(s) 'project_id'" },
        { """{"limits": {"network": 1}}""", "Unable to find 'quota' in request body" },
    };

    [Theory]
    [MemberData(nameof(BadQuotas))]
    public async Task Bad_limits_are_refused_and_change_nothing(string body, string message)
    {
        const string project = "quota-p3";
        await Admin.PutAsync($"/v2.0/quotas/{project}", Quota(new JsonObject { ["network"] = 4 }));
        var reply = await Admin.SendAsync(HttpMethod.Put, $"/v2.0/quotas/{project}", body);
        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains(message, reply.Error.Message, StringComparison.Ordinal);
        Assert.Equal(4, (int)(await Admin.GetAsync($"/v2.0/quotas/{project}")).Body!["quota"]!["network"]!);
    }
}

/// <summary>Api:QuotaDefaults: the limits of every project without its own, checked at start.</summary>
public sealed class QuotaDefaultsTests
{
    [Fact]
    public async Task Configured_defaults_limit_every_project_until_it_has_its_own()
    {
        await using var silo = SiloProcess.Start("--role", "controller", "--datastore", "memory", "--Api:QuotaDefaults:network=1", "--Api:QuotaDefaults:port=500");
        await silo.WaitForAsync("/readyz");
        var api = new NeutronClient($"http://127.0.0.1:{silo.HttpPort}", null, () => silo.Output);
        var defaults = (await api.GetAsync("/v2.0/quotas/admin/default")).Body!["quota"]!;
        Assert.Equal((1, 500, -1), ((int)defaults["network"]!, (int)defaults["port"]!, (int)defaults["subnet"]!));
        await api.NetworkAsync("default-quota-1");
        var over = await api.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = "default-quota-2" } });
        Assert.Equal(HttpStatusCode.Conflict, over.Status);
        Assert.Equal("OverQuota", over.Error.Type);
        Assert.Equal(HttpStatusCode.OK, (await api.PutAsync("/v2.0/quotas/admin", new JsonObject { ["quota"] = new JsonObject { ["network"] = 2 } })).Status);
        await api.NetworkAsync("default-quota-2");
    }

    [Theory]
    [InlineData("--Api:QuotaDefaults:widgets=1", "Api:QuotaDefaults:widgets names no quota resource")]
    [InlineData("--Api:QuotaDefaults:port=-5", "Api:QuotaDefaults:port -5 must be -1 (no limit) or more")]
    public async Task Bad_defaults_stop_the_silo_naming_the_setting(string setting, string message)
    {
        await using var silo = SiloProcess.Start("--role", "controller", "--datastore", "memory", setting);
        Assert.NotEqual(0, await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(message, silo.Output, StringComparison.Ordinal);
    }
}
