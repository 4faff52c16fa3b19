using System.Net;
using Calico.Api.Tests.Harness;
using Calico.Grains;

namespace Calico.Api.Tests;

/// <summary>
/// Nova's order through the API: a port created unbound gets an address at once (the create answer shows it), and
/// its first bind moves it into the host's block, which the bind's answer shows; what the caller named stays.
/// </summary>
[Collection(TokenApi.Name)]
public sealed class FirstBindTests(TokenApiServer server)
{
    private NeutronClient Demo => server.Demo;

    /// <summary>A bind, made as Nova makes it: by an admin (binding:host_id is an admin's attribute).</summary>
    private async Task<JsonObject> PutAsync(string id, JsonObject attributes)
    {
        var reply = await server.Admin.PutAsync($"/v2.0/ports/{id}", new JsonObject { ["port"] = attributes });
        Assert.True(reply.Status == HttpStatusCode.OK, $"PUT answered {(int)reply.Status}: {reply.Text}");
        return (JsonObject)reply.Body!["port"]!;
    }

    /// <summary>A port of project demo created bound, by an admin.</summary>
    private Task<JsonObject> BoundPortAsync(string network, string host) =>
        server.Admin.PortAsync(network, new JsonObject { ["binding:host_id"] = host, ["project_id"] = "demo" });

    private static string Address(JsonObject port) => (string)Assert.Single(port["fixed_ips"]!.AsArray())!["ip_address"]!;

    /// <summary>Every allocation of the subnet as "port address host", to compare with what the ports hold.</summary>
    private async Task<string[]> AllocationsAsync(string subnet) =>
        [.. (await server.Cluster.GetGrain<ISubnetIpamGrain>(subnet).ListAsync()).Select(a => $"{a.PortId} {a.Address} {a.Host ?? "-"}").Order(StringComparer.Ordinal)];

    [Fact]
    public async Task A_port_created_unbound_gets_an_address_in_its_hosts_block_when_bound()
    {
        var (network, subnet, cidr) = await Demo.NetworkWithSubnetAsync("net-first-bind");
        var onHost = await BoundPortAsync(network, "nova-h1");
        Assert.Equal(Cidrs.At(cidr, 2), Address(onHost));                 // nova-h1's block: .0/26
        var unbound = await Demo.PortAsync(network, new JsonObject { ["device_owner"] = "compute:nova" });
        var id = (string)unbound["id"]!;
        Assert.Equal(Cidrs.At(cidr, 64), Address(unbound));               // a block of no host's: .64/26

        var bound = await PutAsync(id, new JsonObject { ["binding:host_id"] = "nova-h1" });
        Assert.Equal(Cidrs.At(cidr, 3), Address(bound));
        Assert.Equal("nova-h1", (string)bound["binding:host_id"]!);
        Assert.Equal((int)unbound["revision_number"]! + 1, (int)bound["revision_number"]!);
        Assert.Equal(Cidrs.At(cidr, 3), Address((JsonObject)(await Demo.GetAsync($"/v2.0/ports/{id}")).Body!["port"]!));
        // The old address is released: the subnet's allocations are exactly what the ports hold.
        Assert.Equal(new[] { $"{onHost["id"]} {Cidrs.At(cidr, 2)} nova-h1", $"{id} {Cidrs.At(cidr, 3)} nova-h1" }.Order(StringComparer.Ordinal),
            await AllocationsAsync(subnet));

        // Moved to another host later (a migration): it keeps the address.
        var migrated = await PutAsync(id, new JsonObject { ["binding:host_id"] = "nova-h2" });
        Assert.Equal(Cidrs.At(cidr, 3), Address(migrated));
        Assert.Equal("nova-h2", (string)migrated["binding:host_id"]!);
    }

    [Fact]
    public async Task What_the_caller_named_stays()
    {
        var (network, subnet, cidr) = await Demo.NetworkWithSubnetAsync("net-first-bind-named");
        await BoundPortAsync(network, "nova-h3");
        // An address asked for at create.
        var named = await Demo.PortAsync(network, new JsonObject
        {
            ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = subnet, ["ip_address"] = Cidrs.At(cidr, 150) }),
        });
        Assert.Equal(Cidrs.At(cidr, 150), Address(await PutAsync((string)named["id"]!, new JsonObject { ["binding:host_id"] = "nova-h3" })));
        // A bind that names fixed_ips itself gets what it names (here: the address the port holds in that subnet).
        var unbound = await Demo.PortAsync(network);
        var address = Address(unbound);
        var bound = await PutAsync((string)unbound["id"]!, new JsonObject
        {
            ["binding:host_id"] = "nova-h3",
            ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = subnet }),
        });
        Assert.Equal(address, Address(bound));
    }

    [Fact]
    public async Task An_address_a_floating_ip_points_at_stays()
    {
        var external = await server.Admin.NetworkAsync("ext-first-bind", new JsonObject { ["router:external"] = true });
        await server.Admin.SubnetAsync((string)external["id"]!, Cidrs.NextV4());
        var (network, subnet, _) = await Demo.NetworkWithSubnetAsync("net-first-bind-fip");
        await Demo.RouterAsync((string)external["id"]!, subnet);
        await BoundPortAsync(network, "nova-h4");
        var port = await Demo.PortAsync(network);
        var address = Address(port);
        var fip = await Demo.CreateAsync("floatingips", "floatingip", new JsonObject
        {
            ["floating_network_id"] = (string)external["id"]!, ["port_id"] = (string)port["id"]!,
        });
        Assert.Equal(address, (string)fip["fixed_ip_address"]!);

        Assert.Equal(address, Address(await PutAsync((string)port["id"]!, new JsonObject { ["binding:host_id"] = "nova-h4" })));
        Assert.Equal(address, (string)(await Demo.GetAsync($"/v2.0/floatingips/{fip["id"]}")).Body!["floatingip"]!["fixed_ip_address"]!);
    }
}
