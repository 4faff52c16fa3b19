using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Api.Networks;
using Calico.Api.Quotas;
using Calico.Api.Tags;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Api.Routers;

/// <summary>
/// /v2.0/routers. The router's grain owns it (name, gateway, interfaces, extra routes); its gateway and interface
/// ports are ports in the store (see <see cref="RouterPorts"/>). Every change of the router is a write with its
/// revision as precondition, so interfaces added and removed concurrently never undo one another.
/// </summary>
internal sealed class RouterEndpoints(
    ResourceStore store, RequestBody bodies, NetworkEndpoints networks, RouterPorts ports, FloatingIpRouters floatingIps,
    ProjectQuotas quotas)
    : IReadableCollection, ITaggableCollection<Router>, ICreatableCollection, IUpdatableCollection, IDeletableCollection
{
    private const int Attempts = 5;

    public static ApiException NotFound(string id) => ApiException.NotFound("RouterNotFound", $"Router {id} could not be found.");

    public IResourceGrain<Router> Grain(string id) => store.Grains.GetGrain<IRouterGrain>(id);

    public string ProjectOf(Router value) => value.ProjectId;

    public Task<Versioned<Router>> GetVisibleAsync(Caller caller, string id) =>
        store.GetVisibleAsync<IRouterGrain, Router>(caller, id, r => r.ProjectId, NotFound);

    public async Task<IResult> ListAsync(HttpContext http)
    {
        var caller = Caller.Of(http);
        var query = new ListQuery(http.Request.Query, RouterJson.Attributes);
        var all = await store.ListAsync<Router>(GrainTypes.Router, http.RequestAborted);
        return NeutronResults.List(http, "routers", all.Where(r => caller.CanSee(r.Value.ProjectId)).Select(RouterJson.Render), query);
    }

    public async Task<IResult> ShowAsync(HttpContext http, string id) =>
        NeutronResults.One("router", new ListQuery(http.Request.Query, RouterJson.Attributes)
            .Project(RouterJson.Render(await GetVisibleAsync(Caller.Of(http), id))));

    public string Singular => "router";

    public async Task<JsonObject> CreateAsync(HttpContext http, RequestObject body)
    {
        var caller = Caller.Of(http);
        body.Accept(RouterJson.Creatable, RouterJson.Attributes, update: false);
        var router = new Router(Ids.New(), body.String("name") ?? "", Projects.ForCreate(caller, body),
            body.Bool("admin_state_up") ?? true, Gateway: null, ValueList<RouterInterface>.Empty, ValueList<HostRoute>.Empty, body.String("description") ?? "");
        router.EnsureValid();
        var tags = body.Tags();
        var gateway = await GatewayRequestAsync(caller, body);
        await quotas.EnsureRoomAsync(router.ProjectId, "router", 1, http.RequestAborted);

        Versioned<WorkloadEndpoint>? gatewayPort = null;
        if (gateway is { } g)
        {
            gatewayPort = await ports.CreateGatewayAsync(router, g.NetworkId, g.Info, http.RequestAborted);
            router = router with { Gateway = new RouterGateway(g.NetworkId, g.EnableSnat ?? true, gatewayPort.Value.Id, gatewayPort.Value.FixedIps) };
        }
        try
        {
            var stored = await store.Grains.GetGrain<IRouterGrain>(router.Id).CreateAsync(router, tags);
            return RouterJson.Render(stored);
        }
        catch
        {
            if (gatewayPort is not null) await ports.DeleteAsync(gatewayPort.Value.Id);
            throw;
        }
    }

    public async Task<IResult> UpdateAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var body = await bodies.ReadAsync(http, "router");
        body.Accept(RouterJson.Updatable, RouterJson.Attributes, update: true);
        var routes = body.Has("routes") ? RouterJson.Routes(body) : (ValueList<HostRoute>?)null;
        var gateway = body.Has("external_gateway_info") ? await GatewayRequestAsync(caller, body) : null;
        for (var attempt = 1; ; attempt++)
        {
            var current = await GetVisibleAsync(caller, id);
            Projects.RequireOwner(caller, current.Value.ProjectId, $"Router {id}");
            var next = current.Value with
            {
                Name = body.String("name") ?? current.Value.Name,
                Description = body.String("description") ?? current.Value.Description,
                AdminStateUp = body.Bool("admin_state_up") ?? current.Value.AdminStateUp,
            };
            if (routes is { } wanted)
            {
                await CheckRoutesAsync(body, next, wanted, http.RequestAborted);
                next = next with { Routes = wanted };
            }
            next.EnsureValid();
            var (withGateway, created, replaced) = body.Has("external_gateway_info")
                ? await ChangeGatewayAsync(next, gateway, http.RequestAborted)
                : (next, null, null);
            try
            {
                var stored = await store.Grains.GetGrain<IRouterGrain>(id).PutAsync(withGateway, current.Revision);
                // A floating IP associated through the old gateway while this ran: the gateway goes back.
                if (replaced is not null && (await floatingIps.UsingAsync(id, null, http.RequestAborted)).Count > 0)
                {
                    await store.Grains.GetGrain<IRouterGrain>(id).PutAsync(current.Value, stored.Revision);
                    throw GatewayInUse(id, replaced.NetworkId);
                }
                if (replaced is not null) await ports.DeleteAsync(replaced.PortId);
                return NeutronResults.One("router", RouterJson.Render(stored));
            }
            catch (Exception e)
            {
                if (created is not null) await ports.DeleteAsync(created);
                if (e is not ResourceConflictException || attempt >= Attempts) throw;
            }
        }
    }

    /// <summary>Refused with 409 while the router has interfaces (Neutron's RouterInUse); its gateway port goes with it.</summary>
    public async Task<IResult> DeleteAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var router = await GetVisibleAsync(caller, id);
        Projects.RequireOwner(caller, router.Value.ProjectId, $"Router {id}");
        if (router.Value.Interfaces.Count > 0)
            throw ApiException.Conflict("RouterInUse", $"Router {id} still has ports: interface port(s) {string.Join(", ", router.Value.Interfaces.Select(i => i.PortId))}. Remove its interfaces first.");
        if ((await floatingIps.UsingAsync(id, null, http.RequestAborted)).FirstOrDefault() is { } fip)
            throw ApiException.Conflict("RouterInUse", $"Router {id} still has floating IP {fip.Id} associated through it.");
        // Conditional on the revision: an interface added meanwhile makes this a conflict, not a router lost with ports.
        await store.Grains.GetGrain<IRouterGrain>(id).DeleteAsync(router.Revision);
        if (router.Value.Gateway is { } gateway) await ports.DeleteAsync(gateway.PortId);
        return Results.NoContent();
    }

    /// <summary>A gateway the request asks for: network, enable_snat (null: as it is, or true) and the request itself for its addresses.</summary>
    internal sealed record GatewayRequest(string NetworkId, bool? EnableSnat, RequestObject Info, bool NamesAddresses);

    /// <summary>
    /// <c>external_gateway_info</c>, checked: null or <c>{}</c> asks for no gateway; a network that must exist and be
    /// external (400 otherwise, as Neutron); <c>enable_snat</c> and <c>external_fixed_ips</c> only from an admin
    /// (Neutron's default policy).
    /// </summary>
    private async Task<GatewayRequest?> GatewayRequestAsync(Caller caller, RequestObject body)
    {
        if (!body.Has("external_gateway_info") || body.IsNull("external_gateway_info")) return null;
        if (body.Body["external_gateway_info"] is not JsonObject raw)
            throw RequestObject.Invalid("external_gateway_info", $"'{body.Body["external_gateway_info"]!.ToJsonString()}' is not an object");
        var info = new RequestObject(raw, caller, body.Field("external_gateway_info"));
        var unknown = info.Names.Where(n => !RouterJson.GatewayKeys.Contains(n)).ToList();
        if (unknown.Count > 0)
            throw RequestObject.Invalid("external_gateway_info", $"unrecognized key(s) '{string.Join("', '", unknown)}'; expected {string.Join(", ", RouterJson.GatewayKeys)}");
        if (info.Names.Count() == 0) return null;
        var networkId = info.Id("network_id") ?? throw RequestObject.Invalid(info.Field("network_id"), "is required");
        var snat = info.Bool("enable_snat");
        var namesAddresses = info.Array("external_fixed_ips") is { Count: > 0 };
        if (!caller.IsAdmin && (snat is not null || namesAddresses))
            throw ApiException.Forbidden($"Setting 'external_gateway_info.{(snat is not null ? "enable_snat" : "external_fixed_ips")}' is disallowed by policy: only an admin may set it.");
        var network = await networks.GetVisibleAsync(caller, networkId);
        if (!network.Value.External)
            throw ApiException.BadRequest($"Bad router request: Network {networkId} is not an external network.");
        return new GatewayRequest(networkId, snat, info, namesAddresses);
    }

    /// <summary>
    /// The router with the gateway the request asks for; a new gateway port when the network changes (returned as
    /// <c>Created</c>, to delete if the router's write fails), and the gateway it replaces (whose port goes once the
    /// write stands). Refused with 409 while floating IPs are associated through the gateway being removed.
    /// </summary>
    private async Task<(Router Next, string? Created, RouterGateway? Replaced)> ChangeGatewayAsync(Router next, GatewayRequest? wanted, CancellationToken cancellationToken)
    {
        var current = next.Gateway;
        if (current is not null && wanted is not null && current.NetworkId == wanted.NetworkId)
        {
            var gateway = current with { EnableSnat = wanted.EnableSnat ?? current.EnableSnat };
            if (wanted.NamesAddresses)
                gateway = gateway with { FixedIps = (await ports.ReaddressGatewayAsync(current.PortId, wanted.Info, cancellationToken)).Value.FixedIps };
            return (next with { Gateway = gateway }, null, null);
        }
        if (current is not null && (await floatingIps.UsingAsync(next.Id, null, cancellationToken)).Count > 0)
            throw GatewayInUse(next.Id, current.NetworkId);
        if (wanted is null) return (next with { Gateway = null }, null, current);
        var port = await ports.CreateGatewayAsync(next, wanted.NetworkId, wanted.Info, cancellationToken);
        return (next with { Gateway = new RouterGateway(wanted.NetworkId, wanted.EnableSnat ?? true, port.Value.Id, port.Value.FixedIps) }, port.Value.Id, current);
    }

    private static ApiException GatewayInUse(string routerId, string networkId) =>
        ApiException.Conflict("RouterExternalGatewayInUseByFloatingIp",
            $"Gateway cannot be updated for router {routerId}, since a gateway to external network {networkId} is required by one or more floating IPs.");

    /// <summary>
    /// extraroute's rule: each next hop is inside a subnet the router has an interface on, and is not an address of
    /// the router's own ports (Neutron's InvalidRoutes, 400).
    /// </summary>
    private async Task CheckRoutesAsync(RequestObject body, Router router, ValueList<HostRoute> routes, CancellationToken cancellationToken)
    {
        if (routes.Count == 0) return;
        var subnets = await InterfaceSubnetsAsync(router, cancellationToken);
        var own = new List<System.Net.IPAddress>();
        foreach (var i in router.Interfaces)
            if (await store.Grains.GetGrain<IEndpointGrain>(i.PortId).GetAsync() is { } port) own.AddRange(port.Value.Addresses);
        foreach (var route in routes)
        {
            if (!subnets.Any(s => s.Cidr.Contains(route.NextHop)))
                throw RouterJson.InvalidRoutes(body, $"the nexthop is not connected with router (nexthop {route.NextHop} is in no subnet of its interfaces)");
            if (own.Contains(route.NextHop))
                throw RouterJson.InvalidRoutes(body, $"the nexthop is used by router ({route.NextHop})");
        }
    }

    /// <summary>The subnets of the router's interfaces, as stored now.</summary>
    public async Task<IReadOnlyList<Subnet>> InterfaceSubnetsAsync(Router router, CancellationToken cancellationToken)
    {
        var ids = router.SubnetIds.ToHashSet(StringComparer.Ordinal);
        if (ids.Count == 0) return [];
        return [.. (await store.ListAsync<Subnet>(GrainTypes.Subnet, cancellationToken)).Select(s => s.Value).Where(s => ids.Contains(s.Id))];
    }
}
