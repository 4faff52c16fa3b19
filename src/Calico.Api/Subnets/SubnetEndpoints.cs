using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Api.Quotas;
using Calico.Api.Tags;
using Calico.Api.Networks;
using Calico.Api.SubnetPools;
using Calico.Model.Net;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Api.Subnets;

/// <summary>
/// /v2.0/subnets. Every network shares one routed address space in Calico, so a subnet may overlap no other
/// subnet, on its own network or any other (Neutron refuses overlaps on one network; Calico must refuse them
/// everywhere, or two workloads would want the same /32 route).
/// </summary>
internal sealed class SubnetEndpoints(
    ResourceStore store, RequestBody bodies, NetworkEndpoints networks, References references, ProjectQuotas quotas,
    Ports.PortAddresses addresses, SubnetPoolEndpoints pools)
    : IReadableCollection, ITaggableCollection<Subnet>, ICreatableCollection, IUpdatableCollection, IDeletableCollection
{
    public static ApiException NotFound(string id) => ApiException.NotFound("SubnetNotFound", $"Subnet {id} could not be found.");

    public IResourceGrain<Subnet> Grain(string id) => store.Grains.GetGrain<ISubnetGrain>(id);

    public string ProjectOf(Subnet value) => value.ProjectId;

    /// <summary>
    /// A subnet is visible to its project, or to all when its network is shared. An external network's subnets are not
    /// shown to other projects (as in Neutron: they see the network to take floating IPs from, not its addresses).
    /// </summary>
    public async Task<Versioned<Subnet>> GetVisibleAsync(Caller caller, string id)
    {
        var subnet = await store.Grains.GetGrain<ISubnetGrain>(id).GetAsync();
        if (subnet is not null && (caller.CanSee(subnet.Value.ProjectId) || await SharesSubnetsAsync(caller, subnet.Value.NetworkId)))
            return subnet;
        throw NotFound(id);
    }

    /// <summary>Whether the caller sees the subnets of another project's network: when it is shared.</summary>
    private static bool SharesSubnets(Caller caller, Network network) => caller.CanSee(network.ProjectId) || network.Shared;

    private async Task<bool> SharesSubnetsAsync(Caller caller, string networkId) =>
        await store.Grains.GetGrain<INetworkGrain>(networkId).GetAsync() is { } network && SharesSubnets(caller, network.Value);

    public async Task<IResult> ListAsync(HttpContext http)
    {
        var caller = Caller.Of(http);
        var query = new ListQuery(http.Request.Query, SubnetJson.Attributes);
        var sharedNetworks = (await store.ListAsync<Network>(GrainTypes.Network, http.RequestAborted))
            .Where(n => SharesSubnets(caller, n.Value)).Select(n => n.Value.Id).ToHashSet();
        var subnets = await store.ListAsync<Subnet>(GrainTypes.Subnet, http.RequestAborted);
        return NeutronResults.List(http, "subnets",
            subnets.Where(s => caller.CanSee(s.Value.ProjectId) || sharedNetworks.Contains(s.Value.NetworkId)).Select(SubnetJson.Render), query);
    }

    public async Task<IResult> ShowAsync(HttpContext http, string id) =>
        NeutronResults.One("subnet", new ListQuery(http.Request.Query, SubnetJson.Attributes).Project(SubnetJson.Render(await GetVisibleAsync(Caller.Of(http), id))));

    public string Singular => "subnet";

    public async Task<JsonObject> CreateAsync(HttpContext http, RequestObject body)
    {
        var caller = Caller.Of(http);
        body.Accept(SubnetJson.Creatable, SubnetJson.Attributes, update: false);
        var networkId = body.Id("network_id") ?? throw RequestObject.Invalid("network_id", "is required");
        var requested = body.Prefix("cidr");
        var version = body.Int("ip_version") ?? requested?.Version ?? 4;
        if (version is not (4 or 6)) throw RequestObject.Invalid("ip_version", $"{version} must be 4 or 6");
        if (requested is { } r && version != r.Version) throw RequestObject.Invalid("cidr", $"{r} is not an IPv{version} prefix (ip_version {version})");
        var pool = await pools.RequestedAsync(caller, body, requested, http.RequestAborted);
        if (pool is null && requested is null)
            throw RequestObject.Invalid("cidr", "is required when no subnetpool_id (or use_default_subnetpool) is given");
        var network = await networks.GetVisibleAsync(caller, networkId);
        Projects.RequireOwner(caller, network.Value.ProjectId, $"Network {networkId}");
        if (version == 6 && network.Value.Mtu < 1280)
            throw RequestObject.Invalid("ip_version", $"network {networkId} has MTU {network.Value.Mtu}, below the IPv6 minimum of 1280");
        var id = Ids.New();
        if (pool is null) return await CreateAsync(http, body, id, networkId, requested!.Value, null);
        // From a pool: everything the pool does not decide is checked first, then its grain hands out (and reserves) a
        // CIDR until this subnet is stored or refused.
        var project = Projects.ForCreate(caller, body);
        SubnetJson.Apply(body, new Subnet(id, networkId, "", project, new IpPrefix(pool.Prefixes[0].Network.Address, pool.MaxLength), null,
            ValueList<System.Net.IPAddress>.Empty, ValueList<HostRoute>.Empty, ValueList<AllocationPool>.Empty, EnableDhcp: true));
        await quotas.EnsureRoomAsync(project, "subnet", 1, http.RequestAborted);
        var cidr = await pools.AllocateAsync(pool, id, project, body, requested);
        try
        {
            return await CreateAsync(http, body, id, networkId, cidr, pool.Id);
        }
        finally
        {
            await pools.ReleaseAsync(pool.Id, id);
        }
    }

    private async Task<JsonObject> CreateAsync(HttpContext http, RequestObject body, string id, string networkId, IpPrefix cidr, string? poolId)
    {
        var caller = Caller.Of(http);

        var gateway = body.Has("gateway_ip") ? body.Address("gateway_ip", nullable: true) : SubnetJson.DefaultGateway(cidr);
        var subnet = new Subnet(id, networkId, "", Projects.ForCreate(caller, body), cidr, gateway,
            ValueList<System.Net.IPAddress>.Empty, ValueList<HostRoute>.Empty, ValueList<AllocationPool>.Empty, EnableDhcp: true, SubnetPoolId: poolId);
        subnet = SubnetJson.Apply(body, subnet) with
        {
            Ipv6RaMode = body.String("ipv6_ra_mode", nullable: true),
            Ipv6AddressMode = body.String("ipv6_address_mode", nullable: true),
        };
        if (!body.Has("allocation_pools") && cidr.IsCanonical) subnet = subnet with { AllocationPools = SubnetJson.DefaultPools(cidr, gateway) };
        await RefuseOverlapAsync(subnet, http.RequestAborted);
        await quotas.EnsureRoomAsync(subnet.ProjectId, "subnet", 1, http.RequestAborted);
        var grain = store.Grains.GetGrain<ISubnetGrain>(subnet.Id);
        var stored = await grain.CreateAsync(subnet);
        // Checked again now that this subnet is stored: of two overlapping creates that raced past the first check,
        // at least one sees the other here and withdraws (both may; never neither).
        var missing = await references.FirstMissingAsync(networkId, subnetPoolId: poolId);
        var overlap = missing is null ? await OverlapAsync(subnet, http.RequestAborted) : null;
        if (missing is not null || overlap is not null)
        {
            await grain.DeleteAsync(stored.Revision);
            throw missing ?? ApiException.Conflict("SubnetOverlap", $"Subnet {overlap!.Id} ({overlap.Cidr}), which overlaps {subnet.Cidr}, was created at the same time; try again.");
        }
        return SubnetJson.Render(stored);
    }

    private async Task<Subnet?> OverlapAsync(Subnet subnet, CancellationToken cancellationToken) =>
        (await store.ListAsync<Subnet>(GrainTypes.Subnet, cancellationToken))
            .Select(s => s.Value).FirstOrDefault(s => s.Id != subnet.Id && s.Cidr.Overlaps(subnet.Cidr));

    private async Task RefuseOverlapAsync(Subnet subnet, CancellationToken cancellationToken)
    {
        if (!subnet.Cidr.IsCanonical) return; // the model's validation names the host bits
        var other = await OverlapAsync(subnet, cancellationToken);
        if (other is null) return;
        // Neutron's wording, which clients match on (Tempest tries the next CIDR only on "overlaps with another subnet").
        var message = $"Invalid input for operation: Requested subnet with cidr: {subnet.Cidr} for network: {subnet.NetworkId} overlaps with another subnet.";
        throw ApiException.BadRequest(other.NetworkId == subnet.NetworkId
            ? $"{message} It overlaps subnet {other.Id} ({other.Cidr}) of the same network."
            : $"{message} It overlaps subnet {other.Id} ({other.Cidr}) of network {other.NetworkId}: all networks share one routed address space.",
            "InvalidInput");
    }

    public async Task<IResult> UpdateAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var body = await bodies.ReadAsync(http, "subnet");
        body.Accept(SubnetJson.Updatable, SubnetJson.Attributes, update: true);
        var stored = await Writes.UpdateAsync(store.Grains.GetGrain<ISubnetGrain>(id), async current =>
        {
            var subnet = current is not null ? (await GetVisibleAsync(caller, id)).Value : throw NotFound(id);
            Projects.RequireOwner(caller, subnet.ProjectId, $"Subnet {id}");
            var next = SubnetJson.Apply(body, current.Value);
            // The gateway address is a router interface's while it holds it (IPAM never hands it out).
            if (!Equals(next.GatewayIp, subnet.GatewayIp) && await RouterInterfaceAsync(id) is { } routerPort
                && routerPort.Value.FixedIps.Any(f => f.SubnetId == id && f.Address.Equals(subnet.GatewayIp)))
                throw ApiException.Conflict("GatewayIpInUse", $"Current gateway ip {subnet.GatewayIp} already in use by port {routerPort.Value.Id}. Unable to update.");
            return next;
        });
        return NeutronResults.One("subnet", SubnetJson.Render(stored));
    }

    /// <summary>
    /// A port holding an address of the subnet, found through the subnet's IPAM: a port's address is allocated (and
    /// stored) before the port is, and released only after the port no longer holds it, so every port with an address
    /// of the subnet is among the allocations; each is confirmed with the port's grain (floating IPs hold allocations
    /// too, and an allocation can outlive a port whose write failed).
    /// </summary>
    private async Task<Versioned<WorkloadEndpoint>?> PortWithAddressAsync(string subnetId, Func<WorkloadEndpoint, bool> counts)
    {
        foreach (var allocation in await store.Grains.GetGrain<ISubnetIpamGrain>(subnetId).ListAsync())
        {
            var port = await store.Grains.GetGrain<IEndpointGrain>(allocation.PortId).GetAsync();
            if (port is not null && counts(port.Value) && port.Value.FixedIps.Any(f => f.SubnetId == subnetId && f.Address.Equals(allocation.Address))) return port;
        }
        return null;
    }

    /// <summary>
    /// The router interface holding the subnet's gateway address (see <see cref="Routers.RouterPorts"/>), which has
    /// no IPAM allocation for <see cref="PortWithAddressAsync"/> to find; null when there is none.
    /// </summary>
    private async Task<Versioned<WorkloadEndpoint>?> RouterInterfaceAsync(string subnetId) =>
        await store.Grains.GetGrain<IEndpointGrain>(Routers.RouterPorts.GatewayAddressPortId(subnetId)).GetAsync() is { } port
            && port.Value.FixedIps.Any(f => f.SubnetId == subnetId) ? port : null;

    /// <summary>
    /// Refused with 409 while a port or floating IP holds an address from the subnet, like Neutron. A SLAAC or
    /// DHCPv6-stateless subnet is the exception, as in Neutron: its addresses are the ones the VMs configure for
    /// themselves from router advertisements, so deleting it takes them off the ports that hold them (router
    /// interface ports excepted: those still refuse the delete).
    /// </summary>
    public async Task<IResult> DeleteAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var subnet = await GetVisibleAsync(caller, id);
        Projects.RequireOwner(caller, subnet.Value.ProjectId, $"Subnet {id}");
        var autoAddress = subnet.Value.IsAutoAddress;
        await references.DeleteUnlessUsedAsync(store.Grains.GetGrain<ISubnetGrain>(id), subnet, async () =>
        {
            if (await PortWithAddressAsync(id, autoAddress ? IsRouterInterface : _ => true) is { } port)
                return ApiException.Conflict("SubnetInUse", $"Unable to complete operation on subnet {id}: one or more ports have an IP allocation from this subnet (port {port.Value.Id}).");
            if (await RouterInterfaceAsync(id) is { } routerPort)
                return ApiException.Conflict("SubnetInUse",
                    $"Unable to complete operation on subnet {id}: one or more ports have an IP allocation from this subnet (port {routerPort.Value.Id}, the interface of router {routerPort.Value.DeviceId}).");
            var floating = await store.ListAsync<FloatingIp>(GrainTypes.FloatingIp, http.RequestAborted);
            return floating.FirstOrDefault(f => f.Value.FloatingNetworkId == subnet.Value.NetworkId && subnet.Value.Cidr.Contains(f.Value.FloatingIpAddress)) is { } fip
                ? ApiException.Conflict("SubnetInUse", $"Unable to complete operation on subnet {id}: floating IP {fip.Value.FloatingIpAddress} is allocated from this subnet.")
                : null;
        });
        // The subnet is gone, so no new port can take one of its addresses (a create that allocated before the delete
        // finds the subnet missing when it stores the port, and undoes itself); those already stored lose theirs.
        if (autoAddress) await RemoveAddressesAsync(id);
        return Results.NoContent();
    }

    private static bool IsRouterInterface(WorkloadEndpoint port) => port.DeviceOwner.StartsWith("network:router_interface", StringComparison.Ordinal);

    /// <summary>Takes the addresses of deleted subnet <paramref name="subnetId"/> off every port that holds one, then releases them.</summary>
    private async Task RemoveAddressesAsync(string subnetId)
    {
        foreach (var allocation in await store.Grains.GetGrain<ISubnetIpamGrain>(subnetId).ListAsync())
        {
            var grain = store.Grains.GetGrain<IEndpointGrain>(allocation.PortId);
            var removed = new HashSet<FixedIp> { new(subnetId, allocation.Address) };
            for (var attempt = 1; attempt <= 5; attempt++)
            {
                // A port deleted meanwhile stays deleted; one changed meanwhile is read again.
                if (await grain.GetAsync() is not { } port || !port.Value.FixedIps.Any(f => f.SubnetId == subnetId)) break;
                removed.UnionWith(port.Value.FixedIps.Where(f => f.SubnetId == subnetId));
                try
                {
                    await grain.PutAsync(port.Value with { FixedIps = port.Value.FixedIps.Where(f => f.SubnetId != subnetId).ToValueList() }, port.Revision);
                    break;
                }
                catch (ResourceConflictException) when (attempt < 5)
                {
                }
            }
            // Released only once no port holds them (a floating IP's or a gone port's allocation is just released).
            await addresses.ReleaseAsync(allocation.PortId, removed);
        }
    }
}
