using System.Net;
using Calico.Api.Tests.Harness;
using Calico.Grains;
using Calico.Model.Resources;

namespace Calico.Api.Tests;

[Collection(TokenApi.Name)]
public sealed class PortTests(TokenApiServer server)
{
    private NeutronClient Demo => server.Demo;

    [Fact]
    public async Task A_port_gets_an_address_a_mac_and_the_projects_default_group()
    {
        var (network, subnet, cidr) = await Demo.NetworkWithSubnetAsync("net-port-defaults");
        var port = await Demo.PortAsync(network, new JsonObject { ["name"] = "vm-1", ["device_id"] = "vm-1-uuid", ["device_owner"] = "compute:nova" });
        Assert.Matches("^fa:16:3e(:[0-9a-f]{2}){3}$", (string)port["mac_address"]!);
        var fixedIp = Assert.Single(port["fixed_ips"]!.AsArray())!;
        Assert.Equal(subnet, (string)fixedIp["subnet_id"]!);
        Assert.StartsWith(cidr[..cidr.LastIndexOf('.')], (string)fixedIp["ip_address"]!, StringComparison.Ordinal);
        Assert.Equal("DOWN", (string)port["status"]!);
        // Where and how a port is plugged is for admins only, as in Neutron's default policy.
        foreach (var binding in new[] { "binding:host_id", "binding:vif_type", "binding:vif_details", "binding:profile" }) Assert.False(port.ContainsKey(binding), binding);
        Assert.Equal("normal", (string)port["binding:vnic_type"]!);
        Assert.Equal("unbound", (string)(await server.Admin.GetAsync($"/v2.0/ports/{port["id"]}")).Body!["port"]!["binding:vif_type"]!);

        var groupId = (string)Assert.Single(port["security_groups"]!.AsArray())!;
        var group = (await Demo.GetAsync($"/v2.0/security-groups/{groupId}")).Body!["security_group"]!;
        Assert.Equal("default", (string)group["name"]!);
        Assert.Equal("demo", (string)group["project_id"]!);

        Assert.Single(await Demo.ListAsync("ports", "?device_id=vm-1-uuid"));
        Assert.Single(await Demo.ListAsync("ports", $"?network_id={network}&name=vm-1"));
        Assert.Single(await Demo.ListAsync("ports", $"?fixed_ips=ip_address={fixedIp["ip_address"]}"));
        Assert.Empty(await Demo.ListAsync("ports", "?device_id=no-such-device"));
        // ip-substring-filtering: part of an address finds the port; a part no address has finds none.
        var address = (string)fixedIp["ip_address"]!;
        Assert.Contains(await Demo.ListAsync("ports", $"?fixed_ips=ip_address_substr={address[..^1]}"), p => (string)p!["id"]! == (string)port["id"]!);
        Assert.Single(await Demo.ListAsync("ports", $"?device_id=vm-1-uuid&fixed_ips=ip_address_substr={address}"));
        Assert.Empty(await Demo.ListAsync("ports", $"?device_id=vm-1-uuid&fixed_ips=ip_address_substr={address}9999"));
        // openstacksdk's names for attributes are understood in fields= (the CLI's "port list --long" sends them).
        var projected = Assert.Single(await Demo.ListAsync("ports", $"?device_id=vm-1-uuid&fields=id&fields=security_group_ids"))!.AsObject();
        Assert.Equal(["id", "security_groups"], projected.Select(p => p.Key).Order());
        Assert.Equal(groupId, (string)projected["security_groups"]![0]!);
    }

    [Fact]
    public async Task A_binding_profile_is_kept_as_Nova_sets_it_and_checked()
    {
        var (network, _, _) = await Demo.NetworkWithSubnetAsync("net-port-profile");
        var port = await server.Admin.PortAsync(network, new JsonObject
        {
            ["binding:host_id"] = "compute-1", ["project_id"] = "demo", ["binding:profile"] = new JsonObject(),
        });
        var id = (string)port["id"]!;
        Assert.Equal("{}", port["binding:profile"]!.ToJsonString());

        // Live migration: Nova names the destination in the profile, then binds the port there.
        var migrating = await server.Admin.PutAsync($"/v2.0/ports/{id}", new JsonObject { ["port"] = new JsonObject
        {
            ["binding:profile"] = new JsonObject { ["migrating_to"] = "compute-2" },
        } });
        Assert.Equal(HttpStatusCode.OK, migrating.Status);
        Assert.Equal("""{"migrating_to":"compute-2"}""", (await server.Admin.GetAsync($"/v2.0/ports/{id}")).Body!["port"]!["binding:profile"]!.ToJsonString());

        foreach (var (profile, message) in new (JsonNode?, string)[]
        {
            (JsonValue.Create("migrating_to=compute-2"), "is not an object"),
            (new JsonObject { ["pad"] = new string('x', 4096) }, "at most 4095"),
            // migrating_to names the host that prepares the port: a host name, or nothing.
            (new JsonObject { ["migrating_to"] = 7 }, "binding:profile.migrating_to"),
            (new JsonObject { ["migrating_to"] = "compute 2" }, "binding:profile.migrating_to"),
        })
        {
            var refused = await server.Admin.PutAsync($"/v2.0/ports/{id}", new JsonObject { ["port"] = new JsonObject { ["binding:profile"] = profile } });
            Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
            Assert.Contains(message, refused.Error.Message, StringComparison.Ordinal);
        }
        var cleared = await server.Admin.PutAsync($"/v2.0/ports/{id}", new JsonObject { ["port"] = new JsonObject { ["binding:profile"] = null } });
        Assert.Equal("{}", cleared.Body!["port"]!["binding:profile"]!.ToJsonString());
    }

    [Fact]
    public async Task Dns_name_and_extra_dhcp_opts_are_kept_merged_as_Neutron_does_and_checked()
    {
        var (network, _, _) = await Demo.NetworkWithSubnetAsync("net-port-dhcp-opts");
        var port = await Demo.PortAsync(network, new JsonObject
        {
            ["dns_name"] = "vm-one",
            ["extra_dhcp_opts"] = new JsonArray(
                new JsonObject { ["opt_name"] = "bootfile-name", ["opt_value"] = "pxelinux.0" },
                new JsonObject { ["opt_name"] = "tftp-server", ["opt_value"] = "192.0.2.7", ["ip_version"] = 4 }),
        });
        var id = (string)port["id"]!;
        Assert.Equal("vm-one", (string)port["dns_name"]!);
        var assignment = Assert.Single(port["dns_assignment"]!.AsArray())!;
        Assert.Equal("vm-one", (string)assignment["hostname"]!);
        Assert.Equal("vm-one.openstacklocal.", (string)assignment["fqdn"]!);
        Assert.Equal("""[{"opt_name":"bootfile-name","opt_value":"pxelinux.0","ip_version":4},{"opt_name":"tftp-server","opt_value":"192.0.2.7","ip_version":4}]""",
            port["extra_dhcp_opts"]!.ToJsonString());

        // An update replaces the options it names, removes those given a null value, keeps the rest.
        var updated = await Demo.PutAsync($"/v2.0/ports/{id}", new JsonObject { ["port"] = new JsonObject
        {
            ["dns_name"] = "",
            ["extra_dhcp_opts"] = new JsonArray(
                new JsonObject { ["opt_name"] = "bootfile-name", ["opt_value"] = null },
                new JsonObject { ["opt_name"] = "tftp-server", ["opt_value"] = "192.0.2.8" }),
        } });
        Assert.Equal(HttpStatusCode.OK, updated.Status);
        var after = updated.Body!["port"]!;
        Assert.Equal("", (string)after["dns_name"]!);
        Assert.StartsWith("host-", (string)after["dns_assignment"]![0]!["hostname"]!, StringComparison.Ordinal);
        Assert.Equal("""[{"opt_name":"tftp-server","opt_value":"192.0.2.8","ip_version":4}]""", after["extra_dhcp_opts"]!.ToJsonString());

        // Refused, naming what is wrong, and nothing changes.
        foreach (var (body, field) in new (JsonObject, string)[]
        {
            (new JsonObject { ["dns_name"] = "not a name" }, "dns_name"),
            (new JsonObject { ["extra_dhcp_opts"] = new JsonArray(new JsonObject { ["opt_name"] = "bad,name", ["opt_value"] = "x" }) }, "extra_dhcp_opts[0]"),
            (new JsonObject { ["extra_dhcp_opts"] = new JsonArray(new JsonObject { ["opt_name"] = "domain-search", ["opt_value"] = "a\nb" }) }, "extra_dhcp_opts[0]"),
            (new JsonObject { ["extra_dhcp_opts"] = new JsonArray(new JsonObject { ["opt_name"] = "router", ["opt_value"] = "x", ["ip_version"] = 5 }) }, "ip_version"),
        })
        {
            var refused = await Demo.PutAsync($"/v2.0/ports/{id}", new JsonObject { ["port"] = body });
            Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
            Assert.True(refused.Error.Message.Contains(field, StringComparison.Ordinal), refused.Text);
        }
        Assert.Equal(after.ToJsonString(), (await Demo.GetAsync($"/v2.0/ports/{id}")).Body!["port"]!.ToJsonString());
    }

    [Fact]
    public async Task A_port_without_port_security_has_no_groups_and_refuses_them_as_Neutron_does()
    {
        var (network, _, _) = await Demo.NetworkWithSubnetAsync("net-port-security");
        var open = await Demo.PortAsync(network, new JsonObject { ["port_security_enabled"] = false });
        Assert.False((bool)open["port_security_enabled"]!);
        Assert.Empty(open["security_groups"]!.AsArray());
        var id = (string)open["id"]!;

        // Groups or pairs on a port without port security: refused with Neutron's errors, nothing changed.
        var groupId = (string)(await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "ps-group" }))["id"]!;
        var refused = await Demo.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject
        {
            ["network_id"] = network, ["port_security_enabled"] = false, ["security_groups"] = new JsonArray(groupId), ["name"] = "ps-refused",
        } });
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("PortSecurityAndIPRequiredForSecurityGroups", refused.Error.Type);
        Assert.Empty(await Demo.ListAsync("ports", "?name=ps-refused"));
        var pairs = await Demo.PutAsync($"/v2.0/ports/{id}", new JsonObject { ["port"] = new JsonObject
        {
            ["allowed_address_pairs"] = new JsonArray(new JsonObject { ["ip_address"] = "10.99.0.1" }),
        } });
        Assert.Equal(HttpStatusCode.Conflict, pairs.Status);
        Assert.Equal("AddressPairAndPortSecurityRequired", pairs.Error.Type);

        // Turning it off on a port that has groups is refused until the request also removes them.
        var secured = (string)(await Demo.PortAsync(network))["id"]!;
        var off = new JsonObject { ["port"] = new JsonObject { ["port_security_enabled"] = false } };
        var conflict = await Demo.PutAsync($"/v2.0/ports/{secured}", off);
        Assert.Equal(HttpStatusCode.Conflict, conflict.Status);
        Assert.Equal("PortSecurityPortHasSecurityGroup", conflict.Error.Type);
        Assert.True((bool)(await Demo.GetAsync($"/v2.0/ports/{secured}")).Body!["port"]!["port_security_enabled"]!);
        var both = await Demo.PutAsync($"/v2.0/ports/{secured}", new JsonObject { ["port"] = new JsonObject
        {
            ["port_security_enabled"] = false, ["security_groups"] = new JsonArray(),
        } });
        Assert.Equal(HttpStatusCode.OK, both.Status);
        Assert.False((bool)both.Body!["port"]!["port_security_enabled"]!);

        // A network's port_security_enabled is the default of its new ports.
        var plain = (string)(await Demo.NetworkAsync("net-port-security-off"))["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await Demo.PutAsync($"/v2.0/networks/{plain}", new JsonObject { ["network"] = new JsonObject { ["port_security_enabled"] = false } })).Status);
        await Demo.SubnetAsync(plain, Cidrs.NextV4());
        var inherited = await Demo.PortAsync(plain);
        Assert.False((bool)inherited["port_security_enabled"]!);
        Assert.Empty(inherited["security_groups"]!.AsArray());
    }

    [Fact]
    public async Task A_bound_port_is_down_until_its_host_reports_it_programmed()
    {
        var (network, _, _) = await Demo.NetworkWithSubnetAsync("net-port-status");
        var port = await server.Admin.PortAsync(network, new JsonObject { ["binding:host_id"] = "compute-7", ["project_id"] = "demo" });
        var id = (string)port["id"]!;
        Assert.Equal("compute-7", (string)port["binding:host_id"]!);
        Assert.Equal("tap", (string)port["binding:vif_type"]!);
        // Nova's tap plugging takes the host side's MAC from here, as networking-calico gives it.
        Assert.Equal("""{"port_filter":true,"mac_address":"00:61:fe:ed:ca:fe"}""", port["binding:vif_details"]!.ToJsonString());
        Assert.Equal("DOWN", (string)port["status"]!);
        var asMember = (await Demo.GetAsync($"/v2.0/ports/{id}")).Body!["port"]!.AsObject();
        Assert.False(asMember.ContainsKey("binding:host_id"));
        Assert.False(asMember.ContainsKey("binding:vif_details"));

        var host = server.Cluster.GetGrain<IHostGrain>("compute-7");
        await host.ReportEndpointStatusesAsync(Report(id, new EndpointStatus(EndpointStatusKind.Active, null, "compute-7", 3, DateTimeOffset.UtcNow)));
        Assert.Equal("ACTIVE", await StatusAsync(id));
        Assert.Equal("ACTIVE", (string)Assert.Single(await Demo.ListAsync("ports", $"?id={id}"))!["status"]!);
        await host.ReportEndpointStatusesAsync(Report(id, new EndpointStatus(EndpointStatusKind.Error, "tap missing", "compute-7", 4, DateTimeOffset.UtcNow)));
        Assert.Equal("ERROR", await StatusAsync(id));

        // Moving the port to another host: that host has not programmed it yet.
        var moved = await server.Admin.PutAsync($"/v2.0/ports/{id}", new JsonObject { ["port"] = new JsonObject { ["binding:host_id"] = "compute-8" } });
        Assert.Equal(HttpStatusCode.OK, moved.Status);
        Assert.Equal("DOWN", (string)moved.Body!["port"]!["status"]!);
        Assert.Equal("compute-8", (string)moved.Body!["port"]!["binding:host_id"]!);
    }

    private static EndpointStatusReport Report(string port, EndpointStatus status) =>
        new(new Dictionary<string, EndpointStatus> { [port] = status }, [], Complete: false);

    private async Task<string> StatusAsync(string id) => (string)(await Demo.GetAsync($"/v2.0/ports/{id}")).Body!["port"]!["status"]!;

    [Fact]
    public async Task Explicit_addresses_pairs_and_groups_are_kept_and_a_taken_address_is_409()
    {
        var (network, subnet, cidr) = await Demo.NetworkWithSubnetAsync("net-port-explicit");
        var group = await Demo.CreateAsync("security-groups", "security_group", new JsonObject { ["name"] = "web" });
        var address = Cidrs.At(cidr, 50);
        var port = await Demo.PortAsync(network, new JsonObject
        {
            ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = subnet, ["ip_address"] = address }),
            ["security_groups"] = new JsonArray((string)group["id"]!),
            ["allowed_address_pairs"] = new JsonArray(new JsonObject { ["ip_address"] = Cidrs.At(cidr, 99) }),
            ["mac_address"] = "FA:16:3E:AA:BB:CC",
        });
        Assert.Equal(address, (string)port["fixed_ips"]![0]!["ip_address"]!);
        Assert.Equal((string)group["id"]!, (string)port["security_groups"]![0]!);
        Assert.Equal(Cidrs.At(cidr, 99), (string)port["allowed_address_pairs"]![0]!["ip_address"]!);
        Assert.Equal("fa:16:3e:aa:bb:cc", (string)port["allowed_address_pairs"]![0]!["mac_address"]!);

        var before = (await Demo.ListAsync("ports", $"?network_id={network}")).Count;
        var taken = await Demo.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = network, ["fixed_ips"] = new JsonArray(new JsonObject { ["ip_address"] = address }) } });
        Assert.Equal(HttpStatusCode.Conflict, taken.Status);
        Assert.Contains(address, taken.Error.Message, StringComparison.Ordinal);
        var sameMac = await Demo.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = network, ["mac_address"] = "fa:16:3e:aa:bb:cc" } });
        Assert.Equal(HttpStatusCode.Conflict, sameMac.Status);
        Assert.Equal("MacAddressInUse", sameMac.Error.Type);
        Assert.Equal(before, (await Demo.ListAsync("ports", $"?network_id={network}")).Count);
    }

    [Fact]
    public async Task Ports_are_listed_by_network_and_a_mac_is_taken_only_on_its_own_network()
    {
        var (a, _, _) = await Demo.NetworkWithSubnetAsync("net-rows-a");
        var (b, _, _) = await Demo.NetworkWithSubnetAsync("net-rows-b");
        const string mac = "fa:16:3e:12:34:56";
        var onA = (string)(await server.Admin.PortAsync(a, new JsonObject { ["mac_address"] = mac, ["binding:host_id"] = "compute-9", ["project_id"] = "demo" }))["id"]!;
        var onB = (string)(await Demo.PortAsync(b, new JsonObject { ["mac_address"] = mac }))["id"]!;
        var secondOnA = (string)(await Demo.PortAsync(a))["id"]!;
        static async Task<List<string>> IdsAsync(Task<JsonArray> list) => [.. (await list).Select(p => (string)p!["id"]!).Order(StringComparer.Ordinal)];

        Assert.Equal(new[] { onA, secondOnA }.Order(StringComparer.Ordinal), await IdsAsync(Demo.ListAsync("ports", $"?network_id={a}")));
        Assert.Equal(new[] { onA, secondOnA, onB }.Order(StringComparer.Ordinal),
            await IdsAsync(Demo.ListAsync("ports", $"?network_id={a}&network_id={b}")));
        Assert.Equal([onB], await IdsAsync(Demo.ListAsync("ports", $"?network_id={b}&mac_address={mac}")));
        Assert.Empty(await Demo.ListAsync("ports", "?network_id=no-such-network"));
        // Another project's network lists none of its ports to this caller.
        Assert.Empty(await server.Other.ListAsync("ports", $"?network_id={a}"));

        var sameMac = await Demo.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = a, ["mac_address"] = mac } });
        Assert.Equal(HttpStatusCode.Conflict, sameMac.Status);
        Assert.Equal("MacAddressInUse", sameMac.Error.Type);
        // Once the port that had it is gone, the MAC is free on its network again.
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/ports/{onA}")).Status);
        var again = (string)(await Demo.PortAsync(a, new JsonObject { ["mac_address"] = mac }))["id"]!;
        Assert.Equal(new[] { again, secondOnA }.Order(StringComparer.Ordinal), await IdsAsync(Demo.ListAsync("ports", $"?network_id={a}")));
    }

    [Fact]
    public async Task Concurrent_requests_for_one_address_give_it_to_exactly_one_port()
    {
        var (network, _, cidr) = await Demo.NetworkWithSubnetAsync("net-port-race");
        var address = Cidrs.At(cidr, 77);
        var replies = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Demo.PostAsync("/v2.0/ports", new JsonObject
        {
            ["port"] = new JsonObject { ["network_id"] = network, ["fixed_ips"] = new JsonArray(new JsonObject { ["ip_address"] = address }) },
        })));
        Assert.Single(replies, r => r.Status == HttpStatusCode.Created);
        Assert.All(replies.Where(r => r.Status != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.Conflict, r.Status));
        Assert.Single(await Demo.ListAsync("ports", $"?network_id={network}"));
    }

    public static TheoryData<string, HttpStatusCode, string> BadPorts => new()
    {
        { """{"fixed_ips": [{"ip_address": "192.0.2.10"}]}""", HttpStatusCode.BadRequest, "is not a valid IP for any of the subnets" },
        { """{"fixed_ips": [{"ip_address": "not-an-ip"}]}""", HttpStatusCode.BadRequest, "'not-an-ip' is not a valid IP address" },
        { """{"fixed_ips": [{"subnet_id": "SUBNET", "ip_address": "192.0.2.10"}]}""", HttpStatusCode.BadRequest, "is not a valid IP for subnet" },
        { """{"fixed_ips": [{"subnet_id": "OTHER_SUBNET"}]}""", HttpStatusCode.BadRequest, "not on the port's network" },
        { """{"fixed_ips": [{"subnet_id": "3f0c8d5e-0000-4000-8000-000000000000"}]}""", HttpStatusCode.NotFound, "Subnet 3f0c8d5e-0000-4000-8000-000000000000 could not be found" },
        { """{"fixed_ips": [{"ip_address": "GATEWAY"}]}""", HttpStatusCode.BadRequest, "gateway" },
        { """{"fixed_ips": [{"ip_address": "FIFTH"}, {"ip_address": "FIFTH"}]}""", HttpStatusCode.BadRequest, "listed twice" },
        { """{"fixed_ips": [{"subnet_id": "SUBNET"}, {"subnet_id": "SUBNET"}]}""", HttpStatusCode.BadRequest, "fixed_ips[1]: asks subnet SUBNET for a second automatic address" },
        { """{"security_groups": ["5e1b0000-0000-4000-8000-000000000000"]}""", HttpStatusCode.NotFound, "Security group 5e1b0000-0000-4000-8000-000000000000 does not exist" },
        { """{"mac_address": "01:00:5e:00:00:01"}""", HttpStatusCode.BadRequest, "multicast" },
        { """{"binding:vnic_type": "direct"}""", HttpStatusCode.BadRequest, "'direct' is not supported" },
        // Binding is Nova's (an admin's) act: a member may not, whatever the host.
        { """{"binding:host_id": "compute-1"}""", HttpStatusCode.Forbidden, "Setting 'binding:host_id' is disallowed by policy" },
    };

    [Theory]
    [MemberData(nameof(BadPorts))]
    public async Task Invalid_ports_are_refused_and_take_no_address(string attributes, HttpStatusCode status, string message)
    {
        var (network, subnet, cidr) = await Demo.NetworkWithSubnetAsync("net-port-bad");
        var (_, otherSubnet, _) = await Demo.NetworkWithSubnetAsync("net-port-bad-other");
        var body = JsonNode.Parse(attributes
            .Replace("OTHER_SUBNET", otherSubnet, StringComparison.Ordinal).Replace("SUBNET", subnet, StringComparison.Ordinal)
            .Replace("GATEWAY", Cidrs.At(cidr, 1), StringComparison.Ordinal).Replace("FIFTH", Cidrs.At(cidr, 5), StringComparison.Ordinal))!.AsObject();
        body["network_id"] = network;
        var reply = await Demo.PostAsync("/v2.0/ports", new JsonObject { ["port"] = body });
        Assert.Equal(status, reply.Status);
        Assert.Contains(message.Replace("SUBNET", subnet, StringComparison.Ordinal), reply.Error.Message, StringComparison.Ordinal);
        Assert.Empty(await Demo.ListAsync("ports", $"?network_id={network}"));
        // Nothing was left allocated: the subnet's addresses are all free.
        Assert.Empty(await server.Cluster.GetGrain<ISubnetIpamGrain>(subnet).ListAsync());
    }

    [Fact]
    public async Task A_bind_to_an_invalid_host_name_is_refused_and_takes_no_address()
    {
        var (network, subnet, _) = await Demo.NetworkWithSubnetAsync("net-port-bad-host");
        var reply = await server.Admin.PostAsync("/v2.0/ports", new JsonObject
        {
            ["port"] = new JsonObject { ["network_id"] = network, ["binding:host_id"] = "bad host!", ["project_id"] = "demo" },
        });
        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains("binding:host_id", reply.Error.Message, StringComparison.Ordinal);
        Assert.Empty(await Demo.ListAsync("ports", $"?network_id={network}"));
        Assert.Empty(await server.Cluster.GetGrain<ISubnetIpamGrain>(subnet).ListAsync());
    }

    [Fact]
    public async Task A_port_on_an_unknown_network_is_404()
    {
        var reply = await Demo.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = Guid.NewGuid().ToString() } });
        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("NetworkNotFound", reply.Error.Type);
    }

    [Fact]
    public async Task Changing_or_deleting_a_port_releases_its_addresses()
    {
        var (network, subnet, cidr) = await Demo.NetworkWithSubnetAsync("net-port-release");
        var first = Cidrs.At(cidr, 10);
        var second = Cidrs.At(cidr, 11);
        var port = await Demo.PortAsync(network, new JsonObject { ["fixed_ips"] = new JsonArray(new JsonObject { ["ip_address"] = first }) });
        var id = (string)port["id"]!;

        var moved = await Demo.PutAsync($"/v2.0/ports/{id}", new JsonObject { ["port"] = new JsonObject { ["fixed_ips"] = new JsonArray(new JsonObject { ["ip_address"] = second }) } });
        Assert.Equal(HttpStatusCode.OK, moved.Status);
        Assert.Equal(second, (string)moved.Body!["port"]!["fixed_ips"]![0]!["ip_address"]!);
        Assert.Equal([second], (await server.Cluster.GetGrain<ISubnetIpamGrain>(subnet).ListAsync()).Select(a => a.Address.ToString()));
        // The old address is free again: another port can have it.
        await Demo.PortAsync(network, new JsonObject { ["fixed_ips"] = new JsonArray(new JsonObject { ["ip_address"] = first }) });

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/ports/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/ports/{id}")).Status);
        await Demo.PortAsync(network, new JsonObject { ["fixed_ips"] = new JsonArray(new JsonObject { ["ip_address"] = second }) });
    }

    [Fact]
    public async Task A_network_or_subnet_with_ports_cannot_be_deleted()
    {
        var (network, subnet, _) = await Demo.NetworkWithSubnetAsync("net-in-use");
        var port = await Demo.PortAsync(network);
        var net = await Demo.DeleteAsync($"/v2.0/networks/{network}");
        Assert.Equal(HttpStatusCode.Conflict, net.Status);
        Assert.Equal("NetworkInUse", net.Error.Type);
        var sub = await Demo.DeleteAsync($"/v2.0/subnets/{subnet}");
        Assert.Equal(HttpStatusCode.Conflict, sub.Status);
        Assert.Equal("SubnetInUse", sub.Error.Type);
        Assert.Equal(HttpStatusCode.OK, (await Demo.GetAsync($"/v2.0/networks/{network}")).Status);

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/ports/{port["id"]}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/networks/{network}")).Status);
    }
}
