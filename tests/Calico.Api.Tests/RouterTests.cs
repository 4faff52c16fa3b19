using System.Net;
using Calico.Api.Tests.Fuzz;
using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

/// <summary>
/// Neutron's routers through the API: the collection, the external gateway and its port, interfaces by subnet and by
/// port with their ports, extra routes, and the floating IP rule they decide. Each refusal is checked for its status,
/// type and message, and for leaving everything as it was.
/// </summary>
[Collection(TokenApi.Name)]
public sealed class RouterTests(TokenApiServer server)
{
    private NeutronClient Demo => server.Demo;

    private NeutronClient Admin => server.Admin;

    private async Task<(string Network, string Subnet, string Cidr)> ExternalAsync(string name)
    {
        var network = (string)(await Admin.NetworkAsync(name, new JsonObject { ["router:external"] = true }))["id"]!;
        var cidr = Cidrs.NextV4();
        var subnet = (string)(await Admin.SubnetAsync(network, cidr))["id"]!;
        return (network, subnet, cidr);
    }

    private static JsonObject Router(JsonObject attributes) => new() { ["router"] = attributes };

    private static JsonObject Gateway(string network) => new() { ["network_id"] = network };

    /// <summary>Sends a request that must be refused, and checks that the store is the same afterwards.</summary>
    private async Task<Reply> RefusedAsync(Func<Task<Reply>> request, HttpStatusCode status, string type, string message)
    {
        var before = await StoreDump.TakeAsync(Admin);
        var reply = await request();
        Assert.True(reply.Status == status, $"expected {(int)status}, got {(int)reply.Status}: {reply.Text}");
        Assert.Equal(type, reply.Error.Type);
        Assert.Contains(message, reply.Error.Message, StringComparison.Ordinal);
        Assert.Equal("", (await StoreDump.TakeAsync(Admin)).DifferencesFrom(before));
        return reply;
    }

    [Fact]
    public async Task A_router_is_created_shown_listed_updated_tagged_and_deleted_with_its_gateway_port()
    {
        var (external, externalSubnet, _) = await ExternalAsync("ext-router-crud");
        var created = await Demo.CreateAsync("routers", "router", new JsonObject
        {
            ["name"] = "r-crud", ["admin_state_up"] = false, ["external_gateway_info"] = Gateway(external), ["tags"] = new JsonArray("blue"),
        });
        var id = (string)created["id"]!;
        Assert.Equal(("r-crud", false, "ACTIVE", "demo", "demo"),
            ((string)created["name"]!, (bool)created["admin_state_up"]!, (string)created["status"]!, (string)created["project_id"]!, (string)created["tenant_id"]!));
        var gateway = created["external_gateway_info"]!;
        Assert.Equal(external, (string)gateway["network_id"]!);
        Assert.True((bool)gateway["enable_snat"]!);
        Assert.Equal(externalSubnet, (string)gateway["external_fixed_ips"]![0]!["subnet_id"]!);
        Assert.Empty(created["routes"]!.AsArray());
        Assert.Equal(1, (int)created["revision_number"]!);
        Assert.Equal("blue", (string)created["tags"]![0]!);

        // The gateway port: on the external network, owned by the router, of no project (only admins see it), never bound.
        var gatewayPorts = await Admin.ListAsync("ports", $"?device_id={id}&device_owner=network:router_gateway&network_id={external}");
        var gatewayPort = Assert.Single(gatewayPorts);
        Assert.Equal((string)gateway["external_fixed_ips"]![0]!["ip_address"]!, (string)gatewayPort!["fixed_ips"]![0]!["ip_address"]!);
        Assert.Equal(("", "", "ACTIVE"), ((string)gatewayPort["project_id"]!, (string)gatewayPort["binding:host_id"]!, (string)gatewayPort["status"]!));
        Assert.Empty(await Demo.ListAsync("ports", $"?device_id={id}"));

        Assert.Equal("r-crud", (string)(await Demo.GetAsync($"/v2.0/routers/{id}")).Body!["router"]!["name"]!);
        Assert.Contains(await Demo.ListAsync("routers", "?name=r-crud"), r => (string)r!["id"]! == id);
        Assert.Contains(await Demo.ListAsync("routers", "?tags=blue"), r => (string)r!["id"]! == id);
        var fields = await Demo.ListAsync("routers", $"?id={id}&fields=id&fields=name");
        Assert.Equal(["id", "name"], Assert.Single(fields)!.AsObject().Select(p => p.Key).Order());
        Assert.Empty(await server.Other.ListAsync("routers", $"?id={id}"));

        var updated = await Demo.PutAsync($"/v2.0/routers/{id}", Router(new JsonObject { ["name"] = "r-crud-2", ["admin_state_up"] = true }));
        Assert.Equal(HttpStatusCode.OK, updated.Status);
        Assert.Equal(("r-crud-2", true), ((string)updated.Body!["router"]!["name"]!, (bool)updated.Body!["router"]!["admin_state_up"]!));
        Assert.Equal(HttpStatusCode.Created, (await Demo.PutAsync($"/v2.0/routers/{id}/tags/red", new JsonObject())).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.GetAsync($"/v2.0/routers/{id}/tags/red")).Status);

        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/routers/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/routers/{id}")).Status);
        Assert.Empty(await Admin.ListAsync("ports", $"?device_id={id}"));
        // The gateway's address is free again: a floating IP may take it.
        var address = (string)gateway["external_fixed_ips"]![0]!["ip_address"]!;
        Assert.Equal(address, (string)(await Demo.CreateAsync("floatingips", "floatingip", new JsonObject
        {
            ["floating_network_id"] = external, ["floating_ip_address"] = address,
        }))["floating_ip_address"]!);
    }

    [Fact]
    public async Task A_gateway_must_be_an_external_network_and_snat_and_addresses_are_for_admins()
    {
        var (external, externalSubnet, externalCidr) = await ExternalAsync("ext-router-gw");
        var (internalNetwork, _, _) = await Demo.NetworkWithSubnetAsync("net-router-gw");
        var router = (string)(await Demo.RouterAsync(null))["id"]!;

        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}", Router(new JsonObject { ["external_gateway_info"] = Gateway(internalNetwork) })),
            HttpStatusCode.BadRequest, "HTTPBadRequest", $"Bad router request: Network {internalNetwork} is not an external network.");
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}", Router(new JsonObject { ["external_gateway_info"] = Gateway(router) })),
            HttpStatusCode.NotFound, "NetworkNotFound", $"Network {router} could not be found.");
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}", Router(new JsonObject
            {
                ["external_gateway_info"] = new JsonObject { ["network_id"] = external, ["enable_snat"] = false },
            })),
            HttpStatusCode.Forbidden, "PolicyNotAuthorized", "Setting 'external_gateway_info.enable_snat' is disallowed by policy");
        await RefusedAsync(() => Demo.PostAsync("/v2.0/routers", Router(new JsonObject { ["external_gateway_info"] = new JsonObject { ["network_id"] = external, ["nope"] = 1 } })),
            HttpStatusCode.BadRequest, "InvalidInput", "external_gateway_info: unrecognized key(s) 'nope'");

        // An admin chooses the address and SNAT; the same network again keeps the port and changes what is asked.
        var chosen = Cidrs.At(externalCidr, 77);
        var set = await Admin.PutAsync($"/v2.0/routers/{router}", Router(new JsonObject
        {
            ["external_gateway_info"] = new JsonObject
            {
                ["network_id"] = external, ["enable_snat"] = false,
                ["external_fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = externalSubnet, ["ip_address"] = chosen }),
            },
        }));
        Assert.Equal(HttpStatusCode.OK, set.Status);
        var gateway = set.Body!["router"]!["external_gateway_info"]!;
        Assert.Equal((false, chosen), ((bool)gateway["enable_snat"]!, (string)gateway["external_fixed_ips"]![0]!["ip_address"]!));
        var port = (string)Assert.Single(await Admin.ListAsync("ports", $"?device_id={router}"))!["id"]!;
        var snatOn = await Admin.PutAsync($"/v2.0/routers/{router}", Router(new JsonObject { ["external_gateway_info"] = new JsonObject { ["network_id"] = external, ["enable_snat"] = true } }));
        Assert.True((bool)snatOn.Body!["router"]!["external_gateway_info"]!["enable_snat"]!);
        Assert.Equal(port, (string)Assert.Single(await Admin.ListAsync("ports", $"?device_id={router}"))!["id"]!);

        // The gateway port is the router's: not deleted, bound or readdressed through the port API.
        await RefusedAsync(() => Admin.DeleteAsync($"/v2.0/ports/{port}"), HttpStatusCode.Conflict, "ServicePortInUse",
            $"Port {port} cannot be deleted directly via the port API: has device owner network:router_gateway.");
        await RefusedAsync(() => Admin.PutAsync($"/v2.0/ports/{port}", new JsonObject { ["port"] = new JsonObject { ["binding:host_id"] = "h1" } }),
            HttpStatusCode.Conflict, "PortInUse", "its binding (a router's port is never bound to a host)");

        // Cleared: no gateway, no gateway port.
        var cleared = await Demo.PutAsync($"/v2.0/routers/{router}", Router(new JsonObject { ["external_gateway_info"] = new JsonObject() }));
        Assert.Equal(HttpStatusCode.OK, cleared.Status);
        Assert.Null(cleared.Body!["router"]!["external_gateway_info"]);
        Assert.Empty(await Admin.ListAsync("ports", $"?device_id={router}"));
    }

    [Fact]
    public async Task An_interface_by_subnet_is_a_port_with_the_gateway_address_that_only_the_router_removes()
    {
        var (network, subnet, cidr) = await Demo.NetworkWithSubnetAsync("net-router-if");
        var gatewayIp = (string)(await Demo.GetAsync($"/v2.0/subnets/{subnet}")).Body!["subnet"]!["gateway_ip"]!;
        var router = (string)(await Demo.RouterAsync(null))["id"]!;

        var added = await Demo.AddInterfaceAsync(router, new JsonObject { ["subnet_id"] = subnet });
        var port = (string)added["port_id"]!;
        Assert.Equal((router, subnet, network, "demo", "demo"),
            ((string)added["id"]!, (string)added["subnet_id"]!, (string)added["network_id"]!, (string)added["tenant_id"]!, (string)added["project_id"]!));
        Assert.Equal(subnet, (string)added["subnet_ids"]![0]!);
        var shown = (await Demo.GetAsync($"/v2.0/ports/{port}")).Body!["port"]!;
        Assert.Equal((router, "network:router_interface", gatewayIp),
            ((string)shown["device_id"]!, (string)shown["device_owner"]!, (string)shown["fixed_ips"]![0]!["ip_address"]!));
        // Never bound (binding attributes are an admin's to see).
        Assert.Equal("", (string)(await Admin.GetAsync($"/v2.0/ports/{port}")).Body!["port"]!["binding:host_id"]!);
        Assert.Single(await Demo.ListAsync("ports", $"?device_id={router}&device_owner=network:router_interface"));

        // Neutron's refusals, each changing nothing.
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}/add_router_interface", new JsonObject { ["subnet_id"] = subnet }),
            HttpStatusCode.BadRequest, "HTTPBadRequest", $"Bad router request: Router already has a port on subnet {subnet}.");
        var second = (string)(await Demo.SubnetAsync(network, Cidrs.NextV4()))["id"]!;
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}/add_router_interface", new JsonObject { ["subnet_id"] = second }),
            HttpStatusCode.BadRequest, "HTTPBadRequest", "Cannot have multiple router ports with the same network id if both contain IPv4 subnets.");
        var other = (string)(await Demo.RouterAsync(null))["id"]!;
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{other}/add_router_interface", new JsonObject { ["subnet_id"] = subnet }),
            HttpStatusCode.Conflict, "IpAddressInUse", $"The IP address {gatewayIp} is in use.");
        var (_, noGateway, _) = await Demo.NetworkWithSubnetAsync("net-router-nogw");
        Assert.Equal(HttpStatusCode.OK, (await Demo.PutAsync($"/v2.0/subnets/{noGateway}", new JsonObject { ["subnet"] = new JsonObject { ["gateway_ip"] = null } })).Status);
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}/add_router_interface", new JsonObject { ["subnet_id"] = noGateway }),
            HttpStatusCode.BadRequest, "HTTPBadRequest", "Bad router request: Subnet for router interface must have a gateway IP.");
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}/add_router_interface", new JsonObject { ["subnet_id"] = subnet, ["port_id"] = port }),
            HttpStatusCode.BadRequest, "HTTPBadRequest", "Cannot specify both subnet-id and port-id");
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}/add_router_interface", new JsonObject()),
            HttpStatusCode.BadRequest, "HTTPBadRequest", "Either subnet_id or port_id must be specified");

        // The port, the subnet, the subnet's gateway and the router stay while the interface does.
        await RefusedAsync(() => Demo.DeleteAsync($"/v2.0/ports/{port}"), HttpStatusCode.Conflict, "ServicePortInUse",
            $"Port {port} cannot be deleted directly via the port API: has device owner network:router_interface.");
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/ports/{port}", new JsonObject { ["port"] = new JsonObject { ["device_id"] = "" } }),
            HttpStatusCode.Conflict, "PortInUse", "its device_id or device_owner cannot be changed through the port API");
        await RefusedAsync(() => Demo.DeleteAsync($"/v2.0/routers/{router}"), HttpStatusCode.Conflict, "RouterInUse", $"Router {router} still has ports");
        await RefusedAsync(() => Demo.DeleteAsync($"/v2.0/subnets/{subnet}"), HttpStatusCode.Conflict, "SubnetInUse",
            $"Unable to complete operation on subnet {subnet}: one or more ports have an IP allocation from this subnet (port {port}, the interface of router {router}).");
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/subnets/{subnet}", new JsonObject { ["subnet"] = new JsonObject { ["gateway_ip"] = Cidrs.At(cidr, 9) } }),
            HttpStatusCode.Conflict, "GatewayIpInUse", $"Current gateway ip {gatewayIp} already in use by port {port}. Unable to update.");
        // Its fixed_ips may be asked for again on the same subnet (Tempest does): the gateway address stays.
        var again = await Demo.PutAsync($"/v2.0/ports/{port}", new JsonObject { ["port"] = new JsonObject { ["fixed_ips"] = new JsonArray(new JsonObject { ["subnet_id"] = subnet }) } });
        Assert.Equal(gatewayIp, (string)again.Body!["port"]!["fixed_ips"]![0]!["ip_address"]!);

        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{other}/remove_router_interface", new JsonObject { ["subnet_id"] = subnet }),
            HttpStatusCode.NotFound, "RouterInterfaceNotFoundForSubnet", $"Router {other} has no interface on subnet {subnet}.");
        var removed = await Demo.PutAsync($"/v2.0/routers/{router}/remove_router_interface", new JsonObject { ["subnet_id"] = subnet });
        Assert.Equal(HttpStatusCode.OK, removed.Status);
        Assert.Equal((port, subnet), ((string)removed.Body!["port_id"]!, (string)removed.Body!["subnet_id"]!));
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/ports/{port}")).Status);
        // Now the other router may have the subnet, and the first may be deleted.
        await Demo.AddInterfaceAsync(other, new JsonObject { ["subnet_id"] = subnet });
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/routers/{router}")).Status);
    }

    [Fact]
    public async Task An_interface_by_port_takes_an_unbound_unused_port_and_removing_it_deletes_the_port()
    {
        var (network, subnet, _) = await Demo.NetworkWithSubnetAsync("net-router-port");
        var router = (string)(await Demo.RouterAsync(null))["id"]!;
        var used = (string)(await Demo.PortAsync(network, new JsonObject { ["device_id"] = "vm-1" }))["id"]!;
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}/add_router_interface", new JsonObject { ["port_id"] = used }),
            HttpStatusCode.Conflict, "PortInUse", $"Unable to complete operation on port {used} for network {network}. Port already has an attached device vm-1.");
        var bound = (string)(await Admin.PortAsync(network, new JsonObject { ["binding:host_id"] = "router-host-1", ["project_id"] = "demo" }))["id"]!;
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}/add_router_interface", new JsonObject { ["port_id"] = bound }),
            HttpStatusCode.Conflict, "PortInUse", "is bound to host router-host-1");

        var port = await Demo.PortAsync(network);
        var address = (string)port["fixed_ips"]![0]!["ip_address"]!;
        var added = await Demo.AddInterfaceAsync(router, new JsonObject { ["port_id"] = (string)port["id"]! });
        Assert.Equal(((string)port["id"]!, subnet), ((string)added["port_id"]!, (string)added["subnet_id"]!));
        var listed = Assert.Single(await Demo.ListAsync("ports", $"?device_id={router}"));
        Assert.Equal(("network:router_interface", address), ((string)listed!["device_owner"]!, (string)listed["fixed_ips"]![0]!["ip_address"]!));
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}/add_router_interface", new JsonObject { ["port_id"] = (string)port["id"]! }),
            HttpStatusCode.Conflict, "PortInUse", $"Port already has an attached device {router}.");

        var removed = await Demo.PutAsync($"/v2.0/routers/{router}/remove_router_interface", new JsonObject { ["port_id"] = (string)port["id"]! });
        Assert.Equal(HttpStatusCode.OK, removed.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Demo.GetAsync($"/v2.0/ports/{port["id"]}")).Status);
        // Its address went back to the subnet.
        Assert.Equal(address, (string)(await Demo.PortAsync(network, new JsonObject
        {
            ["fixed_ips"] = new JsonArray(new JsonObject { ["ip_address"] = address }),
        }))["fixed_ips"]![0]!["ip_address"]!);
    }

    [Fact]
    public async Task A_floating_ip_reaches_a_port_only_through_a_router_with_the_gateway_and_the_interface()
    {
        var (external, _, _) = await ExternalAsync("ext-router-fip");
        var (network, subnet, _) = await Demo.NetworkWithSubnetAsync("net-router-fip");
        var port = (string)(await Demo.PortAsync(network))["id"]!;
        var fip = (string)(await Demo.CreateAsync("floatingips", "floatingip", new JsonObject { ["floating_network_id"] = external }))["id"]!;
        var associate = new JsonObject { ["floatingip"] = new JsonObject { ["port_id"] = port } };
        var unreachable = $"External network {external} is not reachable from subnet {subnet}.  Therefore, cannot associate Port {port} with a Floating IP.";

        await RefusedAsync(() => Demo.PutAsync($"/v2.0/floatingips/{fip}", associate), HttpStatusCode.NotFound, "ExternalGatewayForFloatingIPNotFound", unreachable);
        await RefusedAsync(() => Demo.PostAsync("/v2.0/floatingips", new JsonObject { ["floatingip"] = new JsonObject { ["floating_network_id"] = external, ["port_id"] = port } }),
            HttpStatusCode.NotFound, "ExternalGatewayForFloatingIPNotFound", unreachable);
        // An interface without the gateway, or the gateway without the interface, is not enough.
        var router = (string)(await Demo.RouterAsync(null, subnet))["id"]!;
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/floatingips/{fip}", associate), HttpStatusCode.NotFound, "ExternalGatewayForFloatingIPNotFound", unreachable);
        var elsewhere = (string)(await Demo.RouterAsync(external))["id"]!;
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/floatingips/{fip}", associate), HttpStatusCode.NotFound, "ExternalGatewayForFloatingIPNotFound", unreachable);

        Assert.Equal(HttpStatusCode.OK, (await Demo.PutAsync($"/v2.0/routers/{router}", Router(new JsonObject { ["external_gateway_info"] = Gateway(external) }))).Status);
        var associated = await Demo.PutAsync($"/v2.0/floatingips/{fip}", associate);
        Assert.Equal(HttpStatusCode.OK, associated.Status);
        Assert.Equal(router, (string)associated.Body!["floatingip"]!["router_id"]!);

        // The interface and the gateway stay while the floating IP needs them.
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}/remove_router_interface", new JsonObject { ["subnet_id"] = subnet }),
            HttpStatusCode.Conflict, "RouterInterfaceInUseByFloatingIP",
            $"Router interface for subnet {subnet} on router {router} cannot be deleted, as it is required by one or more floating IPs.");
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}", Router(new JsonObject { ["external_gateway_info"] = null })),
            HttpStatusCode.Conflict, "RouterExternalGatewayInUseByFloatingIp",
            $"Gateway cannot be updated for router {router}, since a gateway to external network {external} is required by one or more floating IPs.");
        // A router's own port never has one.
        var interfacePort = (string)Assert.Single(await Demo.ListAsync("ports", $"?device_id={router}&device_owner=network:router_interface"))!["id"]!;
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/floatingips/{fip}", new JsonObject { ["floatingip"] = new JsonObject { ["port_id"] = interfacePort } }),
            HttpStatusCode.BadRequest, "HTTPBadRequest", $"Port {interfacePort} has owner network:router_interface and therefore cannot be assigned a floating IP.");

        var disassociated = await Demo.PutAsync($"/v2.0/floatingips/{fip}", new JsonObject { ["floatingip"] = new JsonObject { ["port_id"] = null } });
        Assert.Null(disassociated.Body!["floatingip"]!["router_id"]);
        Assert.Equal(HttpStatusCode.OK, (await Demo.PutAsync($"/v2.0/routers/{router}/remove_router_interface", new JsonObject { ["subnet_id"] = subnet })).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Demo.DeleteAsync($"/v2.0/routers/{elsewhere}")).Status);
    }

    [Fact]
    public async Task Extra_routes_go_through_a_subnet_of_the_routers_interfaces()
    {
        var (_, subnet, cidr) = await Demo.NetworkWithSubnetAsync("net-router-routes");
        var router = (string)(await Demo.RouterAsync(null))["id"]!;
        JsonObject Routes(string destination, string nexthop) =>
            Router(new JsonObject { ["routes"] = new JsonArray(new JsonObject { ["destination"] = destination, ["nexthop"] = nexthop }) });
        var via = Cidrs.At(cidr, 5);

        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}", Routes("198.51.100.0/24", via)),
            HttpStatusCode.BadRequest, "InvalidRoutes", "the nexthop is not connected with router");
        await Demo.AddInterfaceAsync(router, new JsonObject { ["subnet_id"] = subnet });
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}", Routes("198.51.100.1/24", via)),
            HttpStatusCode.BadRequest, "InvalidInput", "'198.51.100.1/24' isn't a recognized IP subnet cidr, '198.51.100.0/24' is recommended");
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}", Routes("2001:db8::/64", via)),
            HttpStatusCode.BadRequest, "InvalidRoutes", "is not of the destination 2001:db8::/64's family");
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}", Routes("198.51.100.0/24", Cidrs.At(cidr, 1))),
            HttpStatusCode.BadRequest, "InvalidRoutes", "the nexthop is used by router");

        var set = await Demo.PutAsync($"/v2.0/routers/{router}", Routes("198.51.100.0/24", via));
        Assert.Equal(HttpStatusCode.OK, set.Status);
        var route = Assert.Single(set.Body!["router"]!["routes"]!.AsArray())!;
        Assert.Equal(("198.51.100.0/24", via), ((string)route["destination"]!, (string)route["nexthop"]!));
        await RefusedAsync(() => Demo.PutAsync($"/v2.0/routers/{router}/remove_router_interface", new JsonObject { ["subnet_id"] = subnet }),
            HttpStatusCode.Conflict, "RouterInterfaceInUseByRoute", "cannot be deleted, as it is required by one or more routes.");
        var cleared = await Demo.PutAsync($"/v2.0/routers/{router}", Router(new JsonObject { ["routes"] = null }));
        Assert.Empty(cleared.Body!["router"]!["routes"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, (await Demo.PutAsync($"/v2.0/routers/{router}/remove_router_interface", new JsonObject { ["subnet_id"] = subnet })).Status);
    }

    [Fact]
    public async Task The_router_quota_is_enforced_on_create()
    {
        const string project = "quota-routers";
        Assert.Equal(HttpStatusCode.OK, (await Admin.PutAsync($"/v2.0/quotas/{project}", new JsonObject { ["quota"] = new JsonObject { ["router"] = 1 } })).Status);
        var first = await Admin.CreateAsync("routers", "router", new JsonObject { ["name"] = "q1", ["project_id"] = project });
        Assert.Equal(project, (string)first["project_id"]!);
        await RefusedAsync(() => Admin.PostAsync("/v2.0/routers", Router(new JsonObject { ["name"] = "q2", ["project_id"] = project })),
            HttpStatusCode.Conflict, "OverQuota", "Quota exceeded for resources: ['router'].");
        Assert.Equal(1, (int)(await Admin.GetAsync($"/v2.0/quotas/{project}/details")).Body!["quota"]!["router"]!["used"]!);
    }
}

