using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Ports;
using Calico.Api.Subnets;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.AspNetCore.Routing;

namespace Calico.Api.Routers;

/// <summary>
/// <c>PUT /v2.0/routers/{id}/add_router_interface</c> and <c>…/remove_router_interface</c>, with <c>subnet_id</c> or
/// <c>port_id</c>, as Neutron: by subnet, a new port holding the subnet's gateway address; by port, an unbound port
/// not in use becomes the interface. Removing either deletes the port. Both answer
/// <c>{subnet_id, subnet_ids, port_id, id, network_id, tenant_id, project_id}</c>.
/// </summary>
internal sealed class RouterInterfaces(
    ResourceStore store, RequestBody bodies, RouterEndpoints routers, SubnetEndpoints subnets, PortEndpoints portsApi,
    RouterPorts ports, FloatingIpRouters floatingIps)
{
    private static readonly IReadOnlySet<string> Keys = new HashSet<string> { "subnet_id", "port_id" };

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPut("/routers/{id}/add_router_interface", (HttpContext h, string id, RouterInterfaces i) => i.AddAsync(h, Existing(id)));
        api.MapPut("/routers/{id}/remove_router_interface", (HttpContext h, string id, RouterInterfaces i) => i.RemoveAsync(h, Existing(id)));
    }

    private static string Existing(string id) => Ids.CanExist(id) ? id : throw RouterEndpoints.NotFound(id);

    private async Task<(Caller Caller, Versioned<Router> Router, string? SubnetId, string? PortId)> ReadAsync(HttpContext http, string id, string action)
    {
        var caller = Caller.Of(http);
        var body = await bodies.ReadObjectAsync(http, action);
        var unknown = body.Names.Where(n => !Keys.Contains(n)).ToList();
        if (unknown.Count > 0) throw ApiException.BadRequest($"Unrecognized attribute(s) '{string.Join("', '", unknown)}'; {action} takes subnet_id or port_id.");
        var subnetId = body.Id("subnet_id");
        var portId = body.Id("port_id");
        var router = await routers.GetVisibleAsync(caller, id);
        Projects.RequireOwner(caller, router.Value.ProjectId, $"Router {id}");
        return (caller, router, subnetId, portId);
    }

    public async Task<IResult> AddAsync(HttpContext http, string id)
    {
        var (caller, router, subnetId, portId) = await ReadAsync(http, id, "add_router_interface");
        if (subnetId is not null && portId is not null) throw ApiException.BadRequest("Bad router request: Cannot specify both subnet-id and port-id.");
        if (subnetId is null && portId is null) throw ApiException.BadRequest("Bad router request: Either subnet_id or port_id must be specified.");
        return portId is not null
            ? await AddPortAsync(http, caller, router.Value, portId)
            : await AddSubnetAsync(http, caller, router.Value, subnetId!);
    }

    private async Task<IResult> AddSubnetAsync(HttpContext http, Caller caller, Router router, string subnetId)
    {
        var subnet = (await subnets.GetVisibleAsync(caller, subnetId)).Value;
        if (subnet.GatewayIp is null) throw ApiException.BadRequest("Bad router request: Subnet for router interface must have a gateway IP.");
        var all = await AllSubnetsAsync(http);
        CheckNewInterface(router, subnet.NetworkId, [subnet], all);
        var port = await ports.CreateInterfaceAsync(router, subnet, http.RequestAborted);
        var added = new RouterInterface(port.Value.Id, subnet.NetworkId, ValueList.Create(subnet.Id));
        try
        {
            await AddToRouterAsync(caller, router.Id, added, all);
        }
        catch
        {
            await ports.DeleteAsync(port.Value.Id);
            throw;
        }
        return Answer(router, added, port.Value);
    }

    private async Task<IResult> AddPortAsync(HttpContext http, Caller caller, Router router, string portId)
    {
        var port = await portsApi.GetVisibleAsync(caller, portId);
        var p = port.Value;
        if (p.DeviceId.Length > 0)
            throw ApiException.Conflict("PortInUse", $"Unable to complete operation on port {portId} for network {p.NetworkId}. Port already has an attached device {p.DeviceId}.");
        if (p.IsBound)
            throw ApiException.Conflict("PortInUse",
                $"Unable to complete operation on port {portId} for network {p.NetworkId}. Port is bound to host {p.Host}: a workload's port cannot be a router interface; unbind it first.");
        if (p.FixedIps.Count == 0) throw ApiException.BadRequest("Bad router request: Router port must have at least one fixed IP.");
        var all = await AllSubnetsAsync(http);
        var own = p.FixedIps.Select(f => f.SubnetId).Distinct().Select(s => all.GetValueOrDefault(s) ?? throw SubnetEndpoints.NotFound(s)).ToList();
        if (own.Count(s => s.IpVersion == 4) > 1) throw ApiException.BadRequest("Bad router request: Cannot have multiple IPv4 subnets on router port.");
        CheckNewInterface(router, p.NetworkId, own, all);
        var grain = store.Grains.GetGrain<IEndpointGrain>(portId);
        // The port first (conditional on what was checked), then the router: a port taken meanwhile is a conflict.
        var taken = await grain.PutAsync(p with { DeviceId = router.Id, DeviceOwner = Router.InterfaceOwner }, port.Revision);
        var added = new RouterInterface(portId, p.NetworkId, own.Select(s => s.Id).ToValueList());
        try
        {
            await AddToRouterAsync(caller, router.Id, added, all);
        }
        catch
        {
            await grain.PutAsync(p, taken.Revision);
            throw;
        }
        return Answer(router, added, taken.Value);
    }

    /// <summary>Adds the interface to the router's record, checked again against the router as it is when written.</summary>
    private async Task AddToRouterAsync(Caller caller, string routerId, RouterInterface added, IReadOnlyDictionary<string, Subnet> all) =>
        await Writes.UpdateAsync(store.Grains.GetGrain<IRouterGrain>(routerId), current =>
        {
            if (current is null || !caller.CanSee(current.Value.ProjectId)) throw RouterEndpoints.NotFound(routerId);
            CheckNewInterface(current.Value, added.NetworkId, [.. added.SubnetIds.Select(s => all[s])], all);
            return Task.FromResult(current.Value with { Interfaces = current.Value.Interfaces.Append(added).ToValueList() });
        });

    /// <summary>
    /// Neutron's rules for a new interface (400 each): not a subnet the router has already, no overlap with one it
    /// has, and at most one port per network with IPv4 subnets.
    /// </summary>
    private static void CheckNewInterface(Router router, string networkId, IReadOnlyList<Subnet> adding, IReadOnlyDictionary<string, Subnet> all)
    {
        foreach (var subnet in adding)
        {
            if (router.SubnetIds.Contains(subnet.Id)) throw ApiException.BadRequest($"Bad router request: Router already has a port on subnet {subnet.Id}.");
            foreach (var existing in router.SubnetIds.Select(s => all.GetValueOrDefault(s)).OfType<Subnet>())
                if (existing.Cidr.Overlaps(subnet.Cidr))
                    throw ApiException.BadRequest($"Bad router request: Cidr {subnet.Cidr} of subnet {subnet.Id} overlaps with cidr {existing.Cidr} of subnet {existing.Id}.");
        }
        if (!adding.Any(s => s.IpVersion == 4)) return;
        foreach (var i in router.Interfaces.Where(i => i.NetworkId == networkId))
            if (i.SubnetIds.Any(s => all.GetValueOrDefault(s)?.IpVersion == 4))
                throw ApiException.BadRequest(
                    $"Bad router request: Cannot have multiple router ports with the same network id if both contain IPv4 subnets. Existing port {i.PortId} has IPv4 subnet(s) and network id {networkId}.");
    }

    public async Task<IResult> RemoveAsync(HttpContext http, string id)
    {
        var (caller, router, subnetId, portId) = await ReadAsync(http, id, "remove_router_interface");
        if (subnetId is null && portId is null) throw ApiException.BadRequest("Bad router request: Either subnet_id or port_id must be specified.");
        if (subnetId is not null) await subnets.GetVisibleAsync(caller, subnetId);
        var removed = Find(router.Value, subnetId, portId);
        var all = await AllSubnetsAsync(http);
        var removedSubnets = removed.SubnetIds.Select(s => all.GetValueOrDefault(s)).OfType<Subnet>().ToList();
        await RefuseIfInUseAsync(router.Value, removedSubnets, http.RequestAborted);

        var grain = store.Grains.GetGrain<IRouterGrain>(id);
        var stored = await Writes.UpdateAsync(grain, current =>
        {
            if (current is null || !caller.CanSee(current.Value.ProjectId)) throw RouterEndpoints.NotFound(id);
            var now = Find(current.Value, subnetId, portId);
            return Task.FromResult(current.Value with { Interfaces = current.Value.Interfaces.Where(i => i.PortId != now.PortId).ToValueList() });
        });
        // A floating IP associated through this interface while it was being removed: the interface goes back.
        foreach (var subnet in removedSubnets)
        {
            if ((await floatingIps.UsingAsync(id, subnet, http.RequestAborted)).Count == 0) continue;
            await Writes.UpdateAsync(grain, current => Task.FromResult(current is null ? throw RouterEndpoints.NotFound(id)
                : current.Value with { Interfaces = current.Value.Interfaces.Append(removed).ToValueList() }));
            throw InterfaceInUseByFloatingIp(subnet.Id, id);
        }
        var port = await store.Grains.GetGrain<IEndpointGrain>(removed.PortId).GetAsync();
        await ports.DeleteAsync(removed.PortId);
        return Answer(stored.Value, removed, port?.Value);
    }

    private static RouterInterface Find(Router router, string? subnetId, string? portId)
    {
        if (portId is not null)
        {
            var byPort = router.InterfaceOfPort(portId)
                ?? throw ApiException.NotFound("RouterInterfaceNotFound", $"Router {router.Id} does not have an interface with id {portId}.");
            return subnetId is null || byPort.SubnetIds.Contains(subnetId) ? byPort
                : throw ApiException.BadRequest($"Bad router request: Subnet {subnetId} is not on interface port {portId} of router {router.Id}.");
        }
        return router.Interfaces.FirstOrDefault(i => i.SubnetIds.Contains(subnetId!))
            ?? throw ApiException.NotFound("RouterInterfaceNotFoundForSubnet", $"Router {router.Id} has no interface on subnet {subnetId}.");
    }

    /// <summary>Neutron's 409s: a floating IP associated through the interface, or an extra route whose next hop only it reaches.</summary>
    private async Task RefuseIfInUseAsync(Router router, IReadOnlyList<Subnet> removedSubnets, CancellationToken cancellationToken)
    {
        foreach (var subnet in removedSubnets)
        {
            if ((await floatingIps.UsingAsync(router.Id, subnet, cancellationToken)).Count > 0) throw InterfaceInUseByFloatingIp(subnet.Id, router.Id);
            if (router.Routes.Any(r => subnet.Cidr.Contains(r.NextHop)))
                throw ApiException.Conflict("RouterInterfaceInUseByRoute",
                    $"Router interface for subnet {subnet.Id} on router {router.Id} cannot be deleted, as it is required by one or more routes.");
        }
    }

    private static ApiException InterfaceInUseByFloatingIp(string subnetId, string routerId) =>
        ApiException.Conflict("RouterInterfaceInUseByFloatingIP",
            $"Router interface for subnet {subnetId} on router {routerId} cannot be deleted, as it is required by one or more floating IPs.");

    private async Task<IReadOnlyDictionary<string, Subnet>> AllSubnetsAsync(HttpContext http) =>
        (await store.ListAsync<Subnet>(Calico.Grains.Resources.GrainTypes.Subnet, http.RequestAborted)).ToDictionary(s => s.Value.Id, s => s.Value, StringComparer.Ordinal);

    private static IResult Answer(Router router, RouterInterface i, WorkloadEndpoint? port) => Results.Json(new JsonObject
    {
        ["id"] = router.Id,
        ["tenant_id"] = router.ProjectId,
        ["project_id"] = router.ProjectId,
        ["port_id"] = i.PortId,
        ["network_id"] = port?.NetworkId ?? i.NetworkId,
        ["subnet_id"] = i.SubnetIds[0],
        ["subnet_ids"] = StandardAttributes.Strings(i.SubnetIds),
    });
}
