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
        await Demo.SubnetAsync((string)network["id"]!, cidr);
        var port = await Demo.PortAsync((string)network["id"]!);
        var fixedIp = (string)port["fixed_ips"]![0]!["ip_address"]!;

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
        Assert.Single(await Demo.ListAsync("floatingips", $"?port_id={port["id"]}"));

        // Deleting the port disassociates its floating IP, as in Neutron.
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/ports/{port["id"]}")).Status);
        var after = (await Demo.GetAsync($"/v2.0/floatingips/{id}")).Body!["floatingip"]!;
        Assert.Null(after["port_id"]);
        Assert.Null(after["fixed_ip_address"]);

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/floatingips/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/floatingips/{id}")).Status);
        // The address is free again.
        var again = await Demo.CreateAsync("floatingips", "floatingip", new JsonObject { ["floating_network_id"] = (string)external["id"]!, ["floating_ip_address"] = address });
        Assert.Equal(address, (string)again["floating_ip_address"]!);
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
        await server.Cluster.GetGrain<IHostGrain>(live).ReportAsync(new HostReport("compute-" + live, null, DateTimeOffset.UtcNow, "test"));
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
        Assert.NotNull(liveAgent["heartbeat_timestamp"]);
        Assert.Single(await server.Admin.ListAsync("agents", $"?host={live}&alive=True"));
        Assert.Equal(live, (string)(await server.Admin.GetAsync($"/v2.0/agents/{liveAgent["id"]}")).Body!["agent"]!["host"]!);

        var forbidden = await Demo.GetAsync("/v2.0/agents");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.Status);
        var alive = await server.Admin.DeleteAsync($"/v2.0/agents/{liveAgent["id"]}");
        Assert.Equal(HttpStatusCode.Conflict, alive.Status);
        Assert.Contains("is alive", alive.Error.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await server.Admin.DeleteAsync($"/v2.0/agents/{deadAgent["id"]}")).Status);
        Assert.Empty(await server.Admin.ListAsync("agents", $"?host={dead}"));
    }
}
