using System.Net;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

[Collection(TokenApi.Name)]
public sealed class NetworkAndSubnetTests(TokenApiServer server)
{
    private NeutronClient Demo => server.Demo;

    [Fact]
    public async Task Ipv6_address_modes_are_kept_and_slaac_ports_get_their_eui64_address()
    {
        var network = (string)(await Demo.NetworkAsync("net-ipv6-modes"))["id"]!;
        var v4 = Cidrs.NextV4();
        await Demo.SubnetAsync(network, v4);
        var slaacCidr = Cidrs.NextV6();
        var slaac = await Demo.SubnetAsync(network, slaacCidr, new JsonObject { ["ip_version"] = 6, ["ipv6_ra_mode"] = "slaac", ["ipv6_address_mode"] = "slaac" });
        Assert.Equal("slaac", (string)slaac["ipv6_ra_mode"]!);
        Assert.Equal("slaac", (string)slaac["ipv6_address_mode"]!);
        var statefulCidr = Cidrs.NextV6();
        var stateful = await Demo.SubnetAsync(network, statefulCidr, new JsonObject { ["ip_version"] = 6, ["ipv6_address_mode"] = "dhcpv6-stateful" });
        Assert.Null(stateful["ipv6_ra_mode"]);

        // A port gets an IPv4 address, one of the stateful subnet (IPAM's choice) and its SLAAC address.
        var port = await Demo.PortAsync(network, new JsonObject { ["mac_address"] = "fa:16:3e:12:34:56" });
        var addresses = port["fixed_ips"]!.AsArray().Select(f => (string)f!["ip_address"]!).ToList();
        Assert.Equal(3, addresses.Count);
        Assert.Contains(slaacCidr.Replace("::/64", "::f816:3eff:fe12:3456", StringComparison.Ordinal), addresses);
        Assert.Contains(addresses, a => a.StartsWith(statefulCidr.Replace("::/64", ":", StringComparison.Ordinal), StringComparison.Ordinal));
        // Another address in the SLAAC subnet cannot be the port's.
        var named = await Demo.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject
        {
            ["network_id"] = network, ["fixed_ips"] = new JsonArray(new JsonObject { ["ip_address"] = slaacCidr.Replace("::/64", "::5", StringComparison.Ordinal) }),
        } });
        Assert.Equal(HttpStatusCode.BadRequest, named.Status);
        Assert.Contains("configured for automatic addresses", named.Error.Message, StringComparison.Ordinal);

        foreach (var (cidr, attributes, message) in new (string, JsonObject, string)[]
        {
            (Cidrs.NextV4(), new JsonObject { ["ipv6_ra_mode"] = "slaac" }, "ipv6_ra_mode: is not valid when ip_version is 4"),
            (Cidrs.NextV6(), new JsonObject { ["ip_version"] = 6, ["ipv6_ra_mode"] = "slaac", ["ipv6_address_mode"] = "dhcpv6-stateful" }, "If both attributes are set, they must be the same value"),
            (Cidrs.NextV6().Replace("/64", "/80", StringComparison.Ordinal), new JsonObject { ["ip_version"] = 6, ["ipv6_address_mode"] = "slaac" }, "requires the prefix to be /64"),
            (Cidrs.NextV6(), new JsonObject { ["ip_version"] = 6, ["ipv6_address_mode"] = "eui-64" }, "'eui-64' is not one of"),
        })
        {
            attributes["network_id"] = network;
            attributes["cidr"] = cidr;
            attributes["name"] = "subnet-mode-refused";
            var refused = await Demo.PostAsync("/v2.0/subnets", new JsonObject { ["subnet"] = attributes });
            Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
            Assert.Contains(message, refused.Error.Message, StringComparison.Ordinal);
        }
        Assert.Empty(await Demo.ListAsync("subnets", "?name=subnet-mode-refused"));
    }

    [Fact]
    public async Task Deleting_an_auto_address_subnet_takes_its_addresses_off_the_ports_but_a_stateful_one_is_refused_while_used()
    {
        var network = (string)(await Demo.NetworkAsync("net-auto-address-delete"))["id"]!;
        var v4 = (string)(await Demo.SubnetAsync(network, Cidrs.NextV4()))["id"]!;
        var slaac = (string)(await Demo.SubnetAsync(network, Cidrs.NextV6(), new JsonObject { ["ip_version"] = 6, ["ipv6_address_mode"] = "slaac", ["ipv6_ra_mode"] = "slaac" }))["id"]!;
        var stateless = (string)(await Demo.SubnetAsync(network, Cidrs.NextV6(), new JsonObject { ["ip_version"] = 6, ["ipv6_address_mode"] = "dhcpv6-stateless" }))["id"]!;
        var stateful = (string)(await Demo.SubnetAsync(network, Cidrs.NextV6(), new JsonObject { ["ip_version"] = 6, ["ipv6_address_mode"] = "dhcpv6-stateful" }))["id"]!;
        var ports = new List<string>();
        for (var i = 0; i < 2; i++) ports.Add((string)(await Demo.PortAsync(network))["id"]!);

        async Task<List<string>> SubnetsOf(string port) =>
            (await Demo.GetAsync($"/v2.0/ports/{port}")).Body!["port"]!["fixed_ips"]!.AsArray().Select(f => (string)f!["subnet_id"]!).ToList();
        foreach (var port in ports) Assert.Equal(new[] { v4, slaac, stateless, stateful }.Order(), (await SubnetsOf(port)).Order());

        // The stateful subnet's addresses were chosen for the ports: refused while they hold them, nothing changed.
        var refused = await Demo.DeleteAsync($"/v2.0/subnets/{stateful}");
        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Equal("SubnetInUse", refused.Error.Type);
        Assert.Equal(HttpStatusCode.OK, (await Demo.GetAsync($"/v2.0/subnets/{stateful}")).Status);
        foreach (var port in ports) Assert.Contains(stateful, await SubnetsOf(port));

        // SLAAC and DHCPv6-stateless addresses go with their subnet, as in Neutron.
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/subnets/{slaac}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/subnets/{stateless}")).Status);
        foreach (var port in ports)
        {
            var left = await SubnetsOf(port);
            Assert.Equal(2, left.Count);
            Assert.Contains(v4, left);
            Assert.Contains(stateful, left);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/subnets/{slaac}")).Status);
        // A port made after the delete has no address of it.
        var later = (string)(await Demo.PortAsync(network))["id"]!;
        Assert.DoesNotContain(slaac, await SubnetsOf(later));
    }

    [Fact]
    public async Task Provider_networks_are_local_or_flat_set_by_an_admin_at_creation_and_each_is_one_segment()
    {
        var admin = server.Admin;
        var local = await admin.NetworkAsync("net-provider-local");
        Assert.Equal("local", (string)local["provider:network_type"]!);
        Assert.Null(local["provider:physical_network"]);
        Assert.Null(local["provider:segmentation_id"]);
        var flat = await admin.NetworkAsync("net-provider-flat", new JsonObject
        {
            ["provider:network_type"] = "flat", ["provider:physical_network"] = "physnet1",
        });
        var flatId = (string)flat["id"]!;
        Assert.Equal("physnet1", (string)flat["provider:physical_network"]!);

        // Each network is a segment of its own, visible to an admin only.
        var segment = Assert.Single(await admin.ListAsync("segments", $"?network_id={flatId}"))!;
        Assert.Equal("flat", (string)segment["network_type"]!);
        Assert.Equal("physnet1", (string)segment["physical_network"]!);
        var shown = await admin.GetAsync($"/v2.0/segments/{(string)segment["id"]!}");
        Assert.Equal(flatId, (string)shown.Body!["segment"]!["network_id"]!);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/v2.0/segments/{Guid.NewGuid()}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Demo.GetAsync("/v2.0/segments")).Status);
        var post = await admin.PostAsync("/v2.0/segments", new JsonObject { ["segment"] = new JsonObject { ["network_id"] = flatId } });
        Assert.Equal(HttpStatusCode.NotFound, post.Status); // read only: no create route, as for agents

        // Refused, naming the attribute, and nothing is created.
        foreach (var (attributes, message) in new (JsonObject, string)[]
        {
            (new JsonObject { ["provider:network_type"] = "vxlan" }, "'vxlan' is not supported"),
            (new JsonObject { ["provider:network_type"] = "flat" }, "provider:physical_network: is required for a flat network"),
            (new JsonObject { ["provider:physical_network"] = "physnet1" }, "must not be set for a local network"),
            (new JsonObject { ["provider:network_type"] = "flat", ["provider:physical_network"] = "physnet1", ["provider:segmentation_id"] = 100 }, "no segmentation id"),
        })
        {
            attributes["name"] = "net-provider-refused";
            var refused = await admin.PostAsync("/v2.0/networks", new JsonObject { ["network"] = attributes });
            Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
            Assert.Contains(message, refused.Error.Message, StringComparison.Ordinal);
        }
        Assert.Empty(await admin.ListAsync("networks", "?name=net-provider-refused"));
        // Set at creation only, and by an admin only.
        var update = await admin.PutAsync($"/v2.0/networks/{flatId}", new JsonObject { ["network"] = new JsonObject { ["provider:physical_network"] = "physnet2" } });
        Assert.Equal(HttpStatusCode.BadRequest, update.Status);
        var member = await Demo.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["provider:network_type"] = "local" } });
        Assert.Equal(HttpStatusCode.Forbidden, member.Status);
    }

    [Fact]
    public async Task Network_create_show_list_update_delete_in_neutron_shapes()
    {
        var created = await Demo.NetworkAsync("net-crud", new JsonObject { ["mtu"] = 1450, ["description"] = "d" });
        var id = (string)created["id"]!;
        Assert.True(Guid.TryParse(id, out _));
        Assert.Equal(1450, (int)created["mtu"]!);
        Assert.Equal("d", (string)created["description"]!);
        Assert.Equal("ACTIVE", (string)created["status"]!);
        Assert.Equal(1, (long)created["revision_number"]!);
        Assert.False((bool)created["router:external"]!);
        Assert.Equal((string)created["created_at"]!, (string)created["updated_at"]!);

        var shown = await Demo.GetAsync($"/v2.0/networks/{id}");
        Assert.Equal(HttpStatusCode.OK, shown.Status);
        Assert.Equal("net-crud", (string)shown.Body!["network"]!["name"]!);

        var byName = await Demo.ListAsync("networks", "?name=net-crud");
        Assert.Equal(id, (string)Assert.Single(byName)!["id"]!);
        var fields = await Demo.ListAsync("networks", "?name=net-crud&fields=id&fields=name");
        Assert.Equal(["id", "name"], Assert.Single(fields)!.AsObject().Select(p => p.Key).Order());

        var updated = await Demo.PutAsync($"/v2.0/networks/{id}", new JsonObject { ["network"] = new JsonObject { ["name"] = "net-renamed", ["admin_state_up"] = false } });
        Assert.Equal(HttpStatusCode.OK, updated.Status);
        Assert.Equal("net-renamed", (string)updated.Body!["network"]!["name"]!);
        Assert.Equal("DOWN", (string)updated.Body!["network"]!["status"]!);
        Assert.Equal(2, (long)updated.Body!["network"]!["revision_number"]!);

        var readOnly = await Demo.PutAsync($"/v2.0/networks/{id}", new JsonObject { ["network"] = new JsonObject { ["id"] = "x" } });
        Assert.Equal(HttpStatusCode.BadRequest, readOnly.Status);
        Assert.Contains("Cannot update read-only attribute(s) 'id'", readOnly.Error.Message, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/networks/{id}")).Status);
        var gone = await Demo.GetAsync($"/v2.0/networks/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.Status);
        Assert.Equal("NetworkNotFound", gone.Error.Type);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.DeleteAsync($"/v2.0/networks/{id}")).Status);
    }

    [Fact]
    public async Task Sharing_or_making_a_network_external_is_for_admins()
    {
        var reply = await Demo.PostAsync("/v2.0/networks", new JsonObject { ["network"] = new JsonObject { ["name"] = "x", ["router:external"] = true } });
        Assert.Equal(HttpStatusCode.Forbidden, reply.Status);
        var shared = await server.Admin.NetworkAsync("shared-by-admin", new JsonObject { ["shared"] = true });
        // A shared network is visible to every project, but only its owner changes it.
        Assert.Equal(HttpStatusCode.OK, (await Demo.GetAsync($"/v2.0/networks/{shared["id"]}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Demo.DeleteAsync($"/v2.0/networks/{shared["id"]}")).Status);
    }

    [Fact]
    public async Task A_shared_networks_subnets_are_visible_to_every_project_an_external_networks_only_to_its_own()
    {
        // As Neutron (Tempest's test_external_network_visibility): every project sees an external network, to take
        // floating IPs from, but not its subnets; a shared network's subnets are everyone's.
        var external = (string)(await server.Admin.NetworkAsync("visible-external", new JsonObject { ["router:external"] = true }))["id"]!;
        var externalSubnet = (string)(await server.Admin.SubnetAsync(external, Cidrs.NextV4()))["id"]!;
        var shared = (string)(await server.Admin.NetworkAsync("visible-shared", new JsonObject { ["shared"] = true }))["id"]!;
        var sharedSubnet = (string)(await server.Admin.SubnetAsync(shared, Cidrs.NextV4()))["id"]!;

        Assert.Equal(HttpStatusCode.OK, (await Demo.GetAsync($"/v2.0/networks/{external}")).Status);
        Assert.Single(await Demo.ListAsync("networks", $"?id={external}&router:external=True"));
        Assert.Empty(await Demo.ListAsync("subnets", $"?network_id={external}"));
        var hidden = await Demo.GetAsync($"/v2.0/subnets/{externalSubnet}");
        Assert.Equal((HttpStatusCode.NotFound, "SubnetNotFound"), (hidden.Status, hidden.Error.Type));
        Assert.Single(await server.Admin.ListAsync("subnets", $"?network_id={external}"));

        Assert.Equal(sharedSubnet, (string)Assert.Single(await Demo.ListAsync("subnets", $"?network_id={shared}"))!["id"]!);
        Assert.Equal(HttpStatusCode.OK, (await Demo.GetAsync($"/v2.0/subnets/{sharedSubnet}")).Status);
    }

    [Fact]
    public async Task Lists_page_with_limit_and_marker()
    {
        for (var i = 0; i < 3; i++) await Demo.NetworkAsync("paged");
        var first = await Demo.GetAsync("/v2.0/networks?name=paged&limit=2");
        var page = (JsonArray)first.Body!["networks"]!;
        Assert.Equal(2, page.Count);
        var next = (string)first.Body!["networks_links"]![0]!["href"]!;
        Assert.Contains("marker=" + (string)page[1]!["id"]!, next, StringComparison.Ordinal);
        var second = await Demo.GetAsync(next[server.BaseUrl.Length..]);
        var rest = (JsonArray)second.Body!["networks"]!;
        Assert.Single(rest);
        Assert.Null(second.Body!["networks_links"]);
        Assert.DoesNotContain((string)rest[0]!["id"]!, page.Select(n => (string)n!["id"]!));
    }

    [Fact]
    public async Task Subnet_gets_neutron_defaults_and_shows_on_its_network()
    {
        var network = await Demo.NetworkAsync("net-sub");
        var cidr = Cidrs.NextV4();
        var subnet = await Demo.SubnetAsync((string)network["id"]!, cidr, new JsonObject { ["name"] = "sub-a", ["dns_nameservers"] = new JsonArray("192.0.2.53") });
        Assert.Equal(cidr, (string)subnet["cidr"]!);
        Assert.Equal(4, (int)subnet["ip_version"]!);
        Assert.Equal(Cidrs.At(cidr, 1), (string)subnet["gateway_ip"]!);
        Assert.Equal(Cidrs.At(cidr, 2), (string)subnet["allocation_pools"]![0]!["start"]!);
        Assert.Equal(Cidrs.At(cidr, 254), (string)subnet["allocation_pools"]![0]!["end"]!);
        Assert.True((bool)subnet["enable_dhcp"]!);
        Assert.Equal("192.0.2.53", (string)subnet["dns_nameservers"]![0]!);
        var shown = await Demo.GetAsync($"/v2.0/networks/{network["id"]}");
        Assert.Equal((string)subnet["id"]!, (string)shown.Body!["network"]!["subnets"]![0]!);
        Assert.Single(await Demo.ListAsync("subnets", $"?network_id={network["id"]}"));

        var v6 = await Demo.SubnetAsync((string)network["id"]!, Cidrs.NextV6(), new JsonObject { ["gateway_ip"] = null });
        Assert.Null(v6["gateway_ip"]);
        Assert.Equal(6, (int)v6["ip_version"]!);

        var updated = await Demo.PutAsync($"/v2.0/subnets/{subnet["id"]}", new JsonObject { ["subnet"] = new JsonObject { ["name"] = "sub-b", ["enable_dhcp"] = false } });
        Assert.Equal(HttpStatusCode.OK, updated.Status);
        Assert.False((bool)updated.Body!["subnet"]!["enable_dhcp"]!);
        var cidrChange = await Demo.PutAsync($"/v2.0/subnets/{subnet["id"]}", new JsonObject { ["subnet"] = new JsonObject { ["cidr"] = Cidrs.NextV4() } });
        Assert.Equal(HttpStatusCode.BadRequest, cidrChange.Status);

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/subnets/{v6["id"]}")).Status);
        // Deleting the network takes its remaining subnet with it.
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/networks/{network["id"]}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/subnets/{subnet["id"]}")).Status);
    }

    public static TheoryData<string, string> BadSubnets => new()
    {
        { """{"cidr": "10.1.2.300/24", "ip_version": 4}""", "'10.1.2.300/24' is not an IP address or prefix" },
        { """{"cidr": "10.77.0.5/24", "ip_version": 4}""", "has host bits set; did you mean 10.77.0.0/24?" },
        { """{"cidr": "10.77.1.0/24", "ip_version": 6}""", "is not an IPv6 prefix" },
        { """{"cidr": "10.77.2.0/31", "ip_version": 4}""", "is too small" },
        { """{"cidr": "10.77.3.0/24", "gateway_ip": "10.78.0.1"}""", "gateway_ip: 10.78.0.1 is outside 10.77.3.0/24" },
        { """{"cidr": "10.77.4.0/24", "allocation_pools": [{"start": "10.77.4.10", "end": "10.77.5.1"}]}""", "is not inside 10.77.4.0/24" },
        { """{"cidr": "10.77.5.0/24", "host_routes": [{"destination": "bad"}]}""", "host_routes[0].destination" },
        { """{"ip_version": 4}""", "cidr: is required" },
    };

    [Theory]
    [MemberData(nameof(BadSubnets))]
    public async Task Invalid_subnets_are_400_and_store_nothing(string attributes, string message)
    {
        var network = await Demo.NetworkAsync("net-bad-subnet");
        var body = JsonNode.Parse(attributes)!.AsObject();
        body["network_id"] = (string)network["id"]!;
        var reply = await Demo.PostAsync("/v2.0/subnets", new JsonObject { ["subnet"] = body });
        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains(message, reply.Error.Message, StringComparison.Ordinal);
        Assert.Empty(await Demo.ListAsync("subnets", $"?network_id={network["id"]}"));
    }

    [Fact]
    public async Task Overlapping_subnets_are_refused_on_the_same_network_and_on_any_other()
    {
        var a = await Demo.NetworkAsync("net-overlap-a");
        var b = await Demo.NetworkAsync("net-overlap-b");
        var cidr = Cidrs.NextV4();
        await Demo.SubnetAsync((string)a["id"]!, cidr);
        foreach (var (network, text, message) in new[] { (a, cidr, "of the same network"), (b, cidr, "all networks share one routed address space") })
        {
            var reply = await Demo.PostAsync("/v2.0/subnets", new JsonObject { ["subnet"] = new JsonObject { ["network_id"] = (string)network["id"]!, ["cidr"] = text, ["ip_version"] = 4 } });
            Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
            Assert.Equal("InvalidInput", reply.Error.Type);
            // Neutron's wording, which Tempest matches to move on to another CIDR.
            Assert.StartsWith($"Invalid input for operation: Requested subnet with cidr: {cidr} for network: {network["id"]} overlaps with another subnet.",
                reply.Error.Message, StringComparison.Ordinal);
            Assert.Contains(message, reply.Error.Message, StringComparison.Ordinal);
        }
        Assert.Empty(await Demo.ListAsync("subnets", $"?network_id={b["id"]}"));
    }

    [Fact]
    public async Task A_subnet_on_an_unknown_network_is_404()
    {
        var reply = await Demo.PostAsync("/v2.0/subnets", new JsonObject { ["subnet"] = new JsonObject { ["network_id"] = Guid.NewGuid().ToString(), ["cidr"] = Cidrs.NextV4(), ["ip_version"] = 4 } });
        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("NetworkNotFound", reply.Error.Type);
    }
}
