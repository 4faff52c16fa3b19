using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Api.Quotas;
using Calico.Api.Tags;
using Calico.Api.Networks;
using Calico.Api.SecurityGroups;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Api.Ports;

/// <summary>
/// /v2.0/ports. A port bound to a host (binding:host_id) is a workload endpoint on that host. Its status is what
/// that host's dataplane reported: DOWN until it has programmed the port, then ACTIVE, or ERROR.
/// </summary>
internal sealed class PortEndpoints(
    ResourceStore store, RequestBody bodies, NetworkEndpoints networks, SecurityGroupEndpoints groups,
    DefaultSecurityGroups defaults, PortAddresses addresses, NetworkPorts networkPorts, References references,
    ProjectQuotas quotas, Nova.NovaNotifier nova, Qos.QosPolicyEndpoints qos)
    : IReadableCollection, ITaggableCollection<WorkloadEndpoint>, ICreatableCollection, IUpdatableCollection, IDeletableCollection
{
    public static ApiException NotFound(string id) => ApiException.NotFound("PortNotFound", $"Port {id} could not be found.");

    public IResourceGrain<WorkloadEndpoint> Grain(string id) => store.Grains.GetGrain<IEndpointGrain>(id);

    public string ProjectOf(WorkloadEndpoint value) => value.ProjectId;

    public Task<Versioned<WorkloadEndpoint>> GetVisibleAsync(Caller caller, string id) =>
        store.GetVisibleAsync<IEndpointGrain, WorkloadEndpoint>(caller, id, p => p.ProjectId, NotFound);

    public async Task<IResult> ListAsync(HttpContext http)
    {
        var caller = Caller.Of(http);
        var query = new ListQuery(http.Request.Query, PortJson.Attributes);
        // Filtered by network: only those networks' ports are read (through their rows); the query filters again.
        var all = query.Values("network_id") is { } networkIds
            ? (await Task.WhenAll(networkIds.Distinct().Select(n => networkPorts.ListAsync(n, http.RequestAborted)))).SelectMany(p => p)
            : await store.ListAsync<WorkloadEndpoint>(GrainTypes.Endpoint, http.RequestAborted);
        var ports = all.Where(p => caller.CanSee(p.Value.ProjectId)).ToList();
        var statuses = await Task.WhenAll(ports.Select(p => StatusAsync(p.Value)));
        return NeutronResults.List(http, "ports", ports.Select((p, i) => PortJson.Render(p, statuses[i], caller)), query);
    }

    public async Task<IResult> ShowAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var port = await GetVisibleAsync(caller, id);
        return NeutronResults.One("port", new ListQuery(http.Request.Query, PortJson.Attributes).Project(PortJson.Render(port, await StatusAsync(port.Value), caller)));
    }

    public string Singular => "port";

    public async Task<JsonObject> CreateAsync(HttpContext http, RequestObject body)
    {
        var caller = Caller.Of(http);
        body.Accept(PortJson.Creatable, PortJson.Attributes, update: false);
        var networkId = body.Id("network_id") ?? throw RequestObject.Invalid("network_id", "is required");
        var project = Projects.ForCreate(caller, body);
        var network = await networks.GetVisibleAsync(caller, networkId);
        var requestedMac = PortJson.NormalizeMac(body.String("mac_address"), "mac_address");
        Task<bool> MacInUseAsync(string mac) => networkPorts.MacInUseAsync(networkId, mac, http.RequestAborted);
        var mac = requestedMac ?? await PortJson.NewMacAsync(MacInUseAsync);
        var port = PortJson.Apply(body, new WorkloadEndpoint(Ids.New(), networkId, "", project, null, mac,
            ValueList<FixedIp>.Empty, ValueList<string>.Empty, ValueList<AllowedAddressPair>.Empty, AdminStateUp: true, "", ""));
        // A port without port security (asked for, or its network's default) gets no default group.
        if (!body.Has("port_security_enabled")) port = port with { PortSecurityOff = network.Value.PortSecurityOff };
        var requestedGroups = await SecurityGroupsAsync(caller, body);
        await qos.RequestedAsync(caller, body);
        port = port with
        {
            SecurityGroupIds = requestedGroups ?? (port.PortSecurityEnabled ? ValueList.Create(DefaultSecurityGroups.IdFor(project)) : ValueList<string>.Empty),
        };
        // Everything that can be refused without touching IPAM is checked before any address is taken.
        PortJson.CheckPortSecurity(null, port, requestedGroups is not null);
        port.EnsureValid();
        var tags = body.Tags();
        await quotas.EnsureRoomAsync(project, "port", 1, http.RequestAborted);
        if (requestedMac is not null && await MacInUseAsync(requestedMac))
            throw ApiException.Conflict("MacAddressInUse", $"Unable to complete operation for network {port.NetworkId}. The mac address {port.MacAddress} is in use.");
        var requests = await addresses.ResolveAsync(body, networkId, port.MacAddress, create: true, http.RequestAborted);

        var (fixedIps, fresh) = await addresses.AllocateAsync(port.Id, port.Host, requests!, []);
        try
        {
            // The project's default group is made only now that nothing is left to refuse before the port is stored.
            if (requestedGroups is null && port.PortSecurityEnabled) await defaults.EnsureAsync(project);
            var grain = store.Grains.GetGrain<IEndpointGrain>(port.Id);
            var stored = await grain.CreateAsync(port with { FixedIps = fixedIps.ToValueList() }, tags);
            // Stored first, checked second (see References): a network, subnet or group deleted meanwhile undoes the port.
            if (await MissingReferenceAsync(stored.Value) is { } missing)
            {
                await grain.DeleteAsync(stored.Revision);
                throw missing;
            }
            return PortJson.Render(stored, await StatusAsync(stored.Value), caller);
        }
        catch
        {
            await addresses.ReleaseAsync(port.Id, fresh);
            throw;
        }
    }

    public async Task<IResult> UpdateAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var body = await bodies.ReadAsync(http, "port");
        body.Accept(PortJson.Updatable, PortJson.Attributes, update: true);
        var grain = store.Grains.GetGrain<IEndpointGrain>(id);
        for (var attempt = 1; ; attempt++)
        {
            var current = await GetVisibleAsync(caller, id);
            var next = PortJson.Apply(body, current.Value);
            if (await OwningRouterAsync(current.Value) is { } router) RefuseRouterPortChange(router, current.Value, next, body);
            var requestedGroups = await SecurityGroupsAsync(caller, body);
            await qos.RequestedAsync(caller, body);
            if (requestedGroups is not null) next = next with { SecurityGroupIds = requestedGroups.Value };
            PortJson.CheckPortSecurity(current.Value, next, requestedGroups is not null);
            next.EnsureValid();
            var requests = await addresses.ResolveAsync(body, next.NetworkId, next.MacAddress, create: false, http.RequestAborted);
            IReadOnlyList<FixedIp> fresh = [];
            if (requests is not null)
            {
                (var fixedIps, fresh) = await addresses.AllocateAsync(id, next.Host, requests, current.Value.FixedIps.Items);
                next = next with { FixedIps = fixedIps.ToValueList() };
                if (await OwningRouterAsync(current.Value) is { } owner && !SameSubnets(current.Value, next))
                {
                    await addresses.ReleaseAsync(id, fresh);
                    throw RouterPortChange(owner, id, "its subnets");
                }
            }
            try
            {
                // A bind that names no fixed_ips may move addresses chosen before the port had a host into the host's
                // blocks (the grain does it in one turn: allocate, store, release); the answer shows where they are now.
                var stored = requests is null && body.Has("binding:host_id")
                    ? await grain.BindAsync(next, current.Revision)
                    : await grain.PutAsync(next, current.Revision);
                if (await MissingReferenceAsync(stored.Value) is { } missing)
                {
                    // Undone, except for addresses the bind moved: the old ones are released, and the new ones are as good.
                    await grain.PutAsync(requests is null ? current.Value with { FixedIps = stored.Value.FixedIps } : current.Value, stored.Revision);
                    throw missing;
                }
                await addresses.ReleaseAsync(id, current.Value.FixedIps.Except(next.FixedIps));
                return NeutronResults.One("port", PortJson.Render(stored, await StatusAsync(stored.Value), caller));
            }
            catch (Exception e)
            {
                await addresses.ReleaseAsync(id, fresh);
                // Someone else changed the port in between: apply this request again to what they wrote.
                if (e is not ResourceConflictException || attempt >= 5) throw;
            }
        }
    }

    /// <summary>
    /// Deletes the port, then releases its addresses and disassociates floating IPs that pointed at it (as Neutron does).
    /// A router's own port goes only with its interface or gateway (409, Neutron's ServicePortInUse).
    /// </summary>
    public async Task<IResult> DeleteAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var port = await GetVisibleAsync(caller, id);
        if (await OwningRouterAsync(port.Value) is not null)
            throw ApiException.Conflict("ServicePortInUse", $"Port {id} cannot be deleted directly via the port API: has device owner {port.Value.DeviceOwner}.");
        await store.Grains.GetGrain<IEndpointGrain>(id).DeleteAsync(port.Revision);
        nova.OnPortDeleted(port.Value);
        await addresses.ReleaseAsync(id, port.Value.FixedIps);
        foreach (var fip in await store.ListAsync<FloatingIp>(GrainTypes.FloatingIp, http.RequestAborted))
        {
            if (fip.Value.PortId != id) continue;
            await Writes.UpdateAsync(store.Grains.GetGrain<IFloatingIpGrain>(fip.Value.Id), current =>
                Task.FromResult((current?.Value ?? fip.Value) is var f && f.PortId == id ? f with { PortId = null, FixedIpAddress = null, RouterId = null } : f));
        }
        return Results.NoContent();
    }

    /// <summary>The groups the request names, each checked to exist and be visible; null when it names none.</summary>
    private async Task<ValueList<string>?> SecurityGroupsAsync(Caller caller, RequestObject body)
    {
        if (body.IsNull("security_groups")) return ValueList<string>.Empty;
        var ids = body.IdList("security_groups");
        if (ids is null) return null;
        foreach (var id in ids.Distinct()) await groups.GetVisibleAsync(caller, id);
        return ids.ToValueList();
    }

    private Task<ApiException?> MissingReferenceAsync(WorkloadEndpoint port) =>
        references.FirstMissingAsync(port.NetworkId, port.FixedIps.Select(f => f.SubnetId).Distinct(), port.SecurityGroupIds, qosPolicyId: port.QosPolicyId);

    /// <summary>
    /// The router whose interface or gateway the port is (its device_owner says so, its device_id names the router,
    /// and the router lists it), or null.
    /// </summary>
    private async Task<Router?> OwningRouterAsync(WorkloadEndpoint port)
    {
        if (!Router.IsRouterOwner(port.DeviceOwner) || !Ids.CanExist(port.DeviceId)) return null;
        var router = await store.Grains.GetGrain<IRouterGrain>(port.DeviceId).GetAsync();
        return router is not null && router.Value.Owns(port.Id) ? router.Value : null;
    }

    /// <summary>
    /// A router's port is never bound (it is no workload: no host may make an endpoint of it), and keeps its owner and
    /// device: those change through the router (409 otherwise). Its name, description and addresses on the same
    /// subnets may change (the gateway port's addresses: through the router's external_fixed_ips).
    /// </summary>
    private static void RefuseRouterPortChange(Router router, WorkloadEndpoint current, WorkloadEndpoint next, RequestObject body)
    {
        if (next.Host != current.Host) throw RouterPortChange(router, current.Id, "its binding (a router's port is never bound to a host)");
        if (next.DeviceId != current.DeviceId || next.DeviceOwner != current.DeviceOwner) throw RouterPortChange(router, current.Id, "its device_id or device_owner");
        if (body.Has("fixed_ips") && current.DeviceOwner == Router.GatewayOwner)
            throw RouterPortChange(router, current.Id, "its fixed_ips (set the router's external_gateway_info.external_fixed_ips)");
    }

    private static bool SameSubnets(WorkloadEndpoint a, WorkloadEndpoint b) =>
        a.FixedIps.Select(f => f.SubnetId).ToHashSet(StringComparer.Ordinal).SetEquals(b.FixedIps.Select(f => f.SubnetId));

    private static ApiException RouterPortChange(Router router, string portId, string what) =>
        ApiException.Conflict("PortInUse", $"Port {portId} is owned by router {router.Id} ({(router.Gateway?.PortId == portId ? Router.GatewayOwner : Router.InterfaceOwner)}): {what} cannot be changed through the port API; use the router's add_router_interface, remove_router_interface or external_gateway_info.");

    /// <summary>
    /// DOWN until the port's host reports it programmed (ACTIVE) or failed (ERROR); an unbound port is DOWN. A router's
    /// port is ACTIVE: nothing has to be programmed for it. A live migration's port whose VM has arrived on the target
    /// is the target's to report.
    /// </summary>
    private async Task<string> StatusAsync(WorkloadEndpoint port)
    {
        if (Router.IsRouterOwner(port.DeviceOwner) && !port.IsBound) return "ACTIVE";
        if (!port.IsBound) return "DOWN";
        var status = await store.Grains.GetGrain<IHostGrain>(port.AsProgrammed().Host!).GetEndpointStatusAsync(port.Id);
        return status?.Status switch
        {
            EndpointStatusKind.Active => "ACTIVE",
            EndpointStatusKind.Error => "ERROR",
            _ => "DOWN",
        };
    }
}
