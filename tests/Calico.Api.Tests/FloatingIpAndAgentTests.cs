using System.Net;
using Calico.Api.Tests.Harness;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Resources;

namespace Calico.Api.Tests;

[Collection(TokenApi.Name)]
public sealed class FloatingIpAndAgentTests(TokenApiServer server)
{
    private NeutronClient Demo => server.Demo;

    [Fact]
    public async Task Floating_ips_come_from_an_external_network_and_follow_their_port()
    {
        var external = await server.Admin.NetworkAsync("ext-fip", new JsonObject { ["router:external"] = true });
        var externalCidr = Cidrs.NextV4();
        await server.Admin.SubnetAsync((string)external["id"]!, externalCidr);
        var network = await Demo.NetworkAsync("net-fip");
        var cidr = Cidrs.NextV4();
        var subnet = (string)(await Demo.SubnetAsync((string)network["id"]!, cidr))["id"]!;
        var port = await Demo.PortAsync((string)network["id"]!);
        var fixedIp = (string)port["fixed_ips"]![0]!["ip_address"]!;
        var router = (string)(await Demo.RouterAsync((string)external["id"]!, subnet))["id"]!;

        var fip = await Demo.CreateAsync("floatingips", "floatingip", new JsonObject { ["floating_network_id"] = (string)external["id"]! });
        var id = (string)fip["id"]!;
        var address = (string)fip["floating_ip_address"]!;
        Assert.StartsWith(externalCidr[..externalCidr.LastIndexOf('.')], address, StringComparison.Ordinal);
        Assert.Equal("DOWN", (string)fip["status"]!);
        Assert.Equal("demo", (string)fip["project_id"]!);

        var taken = await Demo.PostAsync("/v2.0/floatingips", new JsonObject { ["floatingip"] = new JsonObject { ["floating_network_id"] = (string)external["id"]!, ["floating_ip_address"] = address } });
        Assert.Equal(HttpStatusCode.Conflict, taken.Status);

        var associated = await Demo.PutAsync($"/v2.0/floatingips/{id}", new JsonObject { ["floatingip"] = new JsonObject { ["port_id"] = (string)port["id"]! } });
        Assert.Equal(HttpStatusCode.OK, associated.Status);
        Assert.Equal(fixedIp, (string)associated.Body!["floatingip"]!["fixed_ip_address"]!);
        Assert.Equal("ACTIVE", (string)associated.Body!["floatingip"]!["status"]!);
        Assert.Equal(router, (string)associated.Body!["floatingip"]!["router_id"]!);
        Assert.Single(await Demo.ListAsync("floatingips", $"?port_id={port["id"]}"));

        // Deleting the port disassociates its floating IP, as in Neutron.
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/ports/{port["id"]}")).Status);
        var after = (await Demo.GetAsync($"/v2.0/floatingips/{id}")).Body!["floatingip"]!;
        Assert.Null(after["port_id"]);
        Assert.Null(after["fixed_ip_address"]);
        Assert.Null(after["router_id"]);

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/floatingips/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/floatingips/{id}")).Status);
        // The address is free again.
        var again = await Demo.CreateAsync("floatingips", "floatingip", new JsonObject { ["floating_network_id"] = (string)external["id"]!, ["floating_ip_address"] = address });
        Assert.Equal(address, (string)again["floating_ip_address"]!);
    }

    [Fact]
    public async Task An_external_network_is_deleted_with_its_unassociated_floating_ips_but_not_while_one_is_associated()
    {
        // Neutron deletes the disassociated floating IPs of an external network with it (Tempest's
        // test_delete_external_networks_with_floating_ip); an associated one keeps the network in use.
        var external = await server.Admin.NetworkAsync("ext-fip-delete", new JsonObject { ["router:external"] = true });
        var externalId = (string)external["id"]!;
        var subnet = (string)(await server.Admin.SubnetAsync(externalId, Cidrs.NextV4()))["id"]!;
        var network = await Demo.NetworkAsync("net-fip-delete");
        var internalSubnet = (string)(await Demo.SubnetAsync((string)network["id"]!, Cidrs.NextV4()))["id"]!;
        var port = await Demo.PortAsync((string)network["id"]!);
        var router = (string)(await Demo.RouterAsync(externalId, internalSubnet))["id"]!;
        var free = (string)(await Demo.CreateAsync("floatingips", "floatingip", new JsonObject { ["floating_network_id"] = externalId }))["id"]!;
        var bound = (string)(await Demo.CreateAsync("floatingips", "floatingip", new JsonObject
        {
            ["floating_network_id"] = externalId, ["port_id"] = (string)port["id"]!,
        }))["id"]!;

        // The association needs the router's gateway on the network, whose port keeps the network in use.
        var inUse = await server.Admin.DeleteAsync($"/v2.0/networks/{externalId}");
        Assert.Equal((HttpStatusCode.Conflict, "NetworkInUse"), (inUse.Status, inUse.Error.Type));
        Assert.Equal(2, (await server.Admin.ListAsync("floatingips", $"?floating_network_id={externalId}")).Count);
        Assert.Equal(HttpStatusCode.OK, (await server.Admin.GetAsync($"/v2.0/networks/{externalId}")).Status);
        var clearGateway = new JsonObject { ["router"] = new JsonObject { ["external_gateway_info"] = new JsonObject() } };
        var gatewayInUse = await Demo.PutAsync($"/v2.0/routers/{router}", clearGateway);
        Assert.Equal((HttpStatusCode.Conflict, "RouterExternalGatewayInUseByFloatingIp"), (gatewayInUse.Status, gatewayInUse.Error.Type));

        Assert.Equal(HttpStatusCode.OK, (await Demo.PutAsync($"/v2.0/floatingips/{bound}",
            new JsonObject { ["floatingip"] = new JsonObject { ["port_id"] = null } })).Status);
        Assert.Equal(HttpStatusCode.OK, (await Demo.PutAsync($"/v2.0/routers/{router}", clearGateway)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await server.Admin.DeleteAsync($"/v2.0/networks/{externalId}")).Status);
        foreach (var fip in new[] { free, bound })
            Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/floatingips/{fip}")).Status);
        Assert.Empty(await server.Admin.ListAsync("floatingips", $"?floating_network_id={externalId}"));
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.GetAsync($"/v2.0/subnets/{subnet}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Demo.GetAsync($"/v2.0/ports/{port["id"]}")).Status);
    }

    [Fact]
    public async Task Floating_ips_need_an_external_network_and_a_real_port()
    {
        var internalNetwork = await Demo.NetworkAsync("net-not-external");
        var notExternal = await Demo.PostAsync("/v2.0/floatingips", new JsonObject { ["floatingip"] = new JsonObject { ["floating_network_id"] = (string)internalNetwork["id"]! } });
        Assert.Equal(HttpStatusCode.BadRequest, notExternal.Status);
        Assert.Contains("is not a valid external network", notExternal.Error.Message, StringComparison.Ordinal);

        var external = await server.Admin.NetworkAsync("ext-fip-2", new JsonObject { ["router:external"] = true });
        await server.Admin.SubnetAsync((string)external["id"]!, Cidrs.NextV4());
        var noPort = await Demo.PostAsync("/v2.0/floatingips", new JsonObject { ["floatingip"] = new JsonObject
        {
            ["floating_network_id"] = (string)external["id"]!, ["port_id"] = Guid.NewGuid().ToString(),
        } });
        Assert.Equal(HttpStatusCode.NotFound, noPort.Status);
        Assert.Equal("PortNotFound", noPort.Error.Type);
        Assert.Empty(await Demo.ListAsync("floatingips", $"?floating_network_id={external["id"]}"));
    }

    [Fact]
    public async Task Agents_are_the_compute_hosts_alive_while_they_report()
    {
        var live = $"host-live-{Guid.NewGuid():N}"[..20];
        var dead = $"host-dead-{Guid.NewGuid():N}"[..20];
        var spec = (string name) => new HostSpec(name, System.Net.IPAddress.Parse("192.0.2.40"), null, 64512, ValueMap.Empty);
        await server.Cluster.GetGrain<IHostGrain>(live).RegisterAsync(spec(live));
        // In BGP mode a report carries the sessions its BIRD reported; the agent's configurations show them.
        var session = new BgpSession(System.Net.IPAddress.Parse("192.0.2.41"), "Mesh_192_0_2_41", "Established",
            new DateTimeOffset(2026, 12, 7, 5, 2, 55, TimeSpan.Zero), 3, null);
        await server.Cluster.GetGrain<IHostGrain>(live).ReportAsync(new HostReport("compute-" + live, null, DateTimeOffset.UtcNow, "test", [session]));
        await server.Cluster.GetGrain<IHostGrain>(dead).RegisterAsync(spec(dead));

        var agents = await server.Admin.ListAsync("agents");
        var liveAgent = agents.Single(a => (string)a!["host"]! == live)!;
        var deadAgent = agents.Single(a => (string)a!["host"]! == dead)!;
        Assert.True((bool)liveAgent["alive"]!);
        Assert.False((bool)deadAgent["alive"]!);
        Assert.Equal("Calico per-host agent", (string)liveAgent["agent_type"]!);
        Assert.Equal(10, (int)liveAgent["configurations"]!["report_interval"]!);
        Assert.Equal(40, (int)liveAgent["configurations"]!["dead_after"]!);
        Assert.Equal("compute-" + live, (string)liveAgent["configurations"]!["silo"]!);
        var reported = liveAgent["configurations"]!["bgp_sessions"]!.AsArray().Single()!;
        Assert.Equal(("192.0.2.41", "Established", "2026-12-07 05:02:55", 3),
            ((string)reported["peer"]!, (string)reported["state"]!, (string)reported["since"]!, (int)reported["routes_received"]!));
        Assert.Null(deadAgent["configurations"]!["bgp_sessions"]);
        Assert.NotNull(liveAgent["heartbeat_timestamp"]);
        Assert.Single(await server.Admin.ListAsync("agents", $"?host={live}&alive=True"));
        Assert.Equal(live, (string)(await server.Admin.GetAsync($"/v2.0/agents/{liveAgent["id"]}")).Body!["agent"]!["host"]!);

        // Only admins see agents (Neutron's default policy): to a project the list is empty and an agent is not
        // found, so it cannot even tell whether one exists (Tempest's test_list_agents_non_admin).
        var hidden = await Demo.GetAsync("/v2.0/agents");
        Assert.Equal(HttpStatusCode.OK, hidden.Status);
        Assert.Empty(hidden.Body!["agents"]!.AsArray());
        Assert.Empty(await server.Reader.ListAsync("agents", $"?host={live}"));
        var shown = await Demo.GetAsync($"/v2.0/agents/{liveAgent["id"]}");
        Assert.Equal((HttpStatusCode.NotFound, "AgentNotFound"), (shown.Status, shown.Error.Type));
        var deletedByProject = await Demo.DeleteAsync($"/v2.0/agents/{deadAgent["id"]}");
        Assert.Equal((HttpStatusCode.NotFound, "AgentNotFound"), (deletedByProject.Status, deletedByProject.Error.Type));
        Assert.Single(await server.Admin.ListAsync("agents", $"?host={dead}"));
        var alive = await server.Admin.DeleteAsync($"/v2.0/agents/{liveAgent["id"]}");
        Assert.Equal(HttpStatusCode.Conflict, alive.Status);
        Assert.Contains("is alive", alive.Error.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await server.Admin.DeleteAsync($"/v2.0/agents/{deadAgent["id"]}")).Status);
        Assert.Empty(await server.Admin.ListAsync("agents", $"?host={dead}"));
    }
}
