using System.Net;
using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Api.Quotas;
using Calico.Api.Tags;
using Calico.Api.Networks;
using Calico.Api.Ports;
using Calico.Api.Routers;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Api.FloatingIps;

/// <summary>
/// /v2.0/floatingips. The address comes from a subnet of an external network through that subnet's IPAM grain
/// (the floating IP's id is the allocation's handle), so two floating IPs never get the same address. A port's
/// address may have one only through a router, as Neutron's rule (see <see cref="FloatingIpRouters"/>).
/// </summary>
internal sealed class FloatingIpEndpoints(
    ResourceStore store, RequestBody bodies, NetworkEndpoints networks, PortEndpoints ports, PortAddresses addresses, References references, ProjectQuotas quotas,
    FloatingIpRouters routers)
    : IReadableCollection, ITaggableCollection<FloatingIp>, ICreatableCollection, IUpdatableCollection, IDeletableCollection
{
    public static ApiException NotFound(string id) => ApiException.NotFound("FloatingIPNotFound", $"Floating IP {id} could not be found.");

    public IResourceGrain<FloatingIp> Grain(string id) => store.Grains.GetGrain<IFloatingIpGrain>(id);

    public string ProjectOf(FloatingIp value) => value.ProjectId;

    public Task<Versioned<FloatingIp>> GetVisibleAsync(Caller caller, string id) =>
        store.GetVisibleAsync<IFloatingIpGrain, FloatingIp>(caller, id, f => f.ProjectId, NotFound);

    public async Task<IResult> ListAsync(HttpContext http)
    {
        var caller = Caller.Of(http);
        var query = new ListQuery(http.Request.Query, FloatingIpJson.Attributes);
        var all = await store.ListAsync<FloatingIp>(GrainTypes.FloatingIp, http.RequestAborted);
        return NeutronResults.List(http, "floatingips", all.Where(f => caller.CanSee(f.Value.ProjectId)).Select(FloatingIpJson.Render), query);
    }

    public async Task<IResult> ShowAsync(HttpContext http, string id) =>
        NeutronResults.One("floatingip", new ListQuery(http.Request.Query, FloatingIpJson.Attributes)
            .Project(FloatingIpJson.Render(await GetVisibleAsync(Caller.Of(http), id))));

    public string Singular => "floatingip";

    public async Task<JsonObject> CreateAsync(HttpContext http, RequestObject body)
    {
        var caller = Caller.Of(http);
        body.Accept(FloatingIpJson.Creatable, FloatingIpJson.Attributes, update: false);
        var networkId = body.Id("floating_network_id") ?? throw RequestObject.Invalid("floating_network_id", "is required");
        var project = Projects.ForCreate(caller, body);
        var network = await networks.GetVisibleAsync(caller, networkId);
        if (!network.Value.External)
            throw ApiException.BadRequest($"Bad floatingip request: Network {networkId} is not a valid external network.");
        var requested = body.Address("floating_ip_address");
        var subnetId = body.Id("subnet_id");
        var fip = new FloatingIp(Ids.New(), networkId, IPAddress.None, project, null, null, body.String("description") ?? "");
        var (portId, fixedIp, routerId) = await AssociationAsync(caller, body, null, networkId);
        await quotas.EnsureRoomAsync(project, "floatingip", 1, http.RequestAborted);

        var subnets = await CandidateSubnetsAsync(networkId, subnetId, requested, http.RequestAborted);
        var allocation = await AllocateAsync(fip.Id, subnets, requested);
        fip = fip with { FloatingIpAddress = allocation.Address };
        try
        {
            fip = WithAssociation(fip, portId, fixedIp, routerId);
            var grain = store.Grains.GetGrain<IFloatingIpGrain>(fip.Id);
            var stored = await grain.CreateAsync(fip);
            if ((await references.FirstMissingAsync(networkId, portId: fip.PortId) ?? await FixedIpGoneAsync(stored.Value)) is { } missing)
            {
                await grain.DeleteAsync(stored.Revision);
                throw missing;
            }
            return FloatingIpJson.Render(stored);
        }
        catch
        {
            await addresses.ReleaseAsync(fip.Id, [new FixedIp(allocation.SubnetId, allocation.Address)]);
            throw;
        }
    }

    public async Task<IResult> UpdateAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var body = await bodies.ReadAsync(http, "floatingip");
        body.Accept(FloatingIpJson.Updatable, FloatingIpJson.Attributes, update: true);
        var stored = await Writes.UpdateAsync(store.Grains.GetGrain<IFloatingIpGrain>(id), async current =>
        {
            var fip = current is not null && caller.CanSee(current.Value.ProjectId) ? current.Value : throw NotFound(id);
            fip = fip with { Description = body.String("description") ?? fip.Description };
            if (!body.Has("port_id"))
            {
                if (body.Has("fixed_ip_address")) throw RequestObject.Invalid("fixed_ip_address", "is set together with port_id");
                return fip;
            }
            var (portId, fixedIp, routerId) = await AssociationAsync(caller, body, fip, fip.FloatingNetworkId);
            return WithAssociation(fip, portId, fixedIp, routerId);
        });
        // A port deleted meanwhile disassociates its floating IPs after its delete; this association may have come
        // after that, so it checks for the port itself (see References) and takes itself back. So it does if the port's
        // first bind moved the fixed address meanwhile.
        if (stored.Value.PortId is { } associated
            && (await references.FirstMissingAsync(portId: associated) ?? await FixedIpGoneAsync(stored.Value)) is { } missing)
        {
            await Writes.UpdateAsync(store.Grains.GetGrain<IFloatingIpGrain>(id), current => Task.FromResult(
                current is not null && current.Value.PortId == associated ? current.Value with { PortId = null, FixedIpAddress = null, RouterId = null } : current?.Value ?? stored.Value));
            throw missing;
        }
        return NeutronResults.One("floatingip", FloatingIpJson.Render(stored));
    }

    public async Task<IResult> DeleteAsync(HttpContext http, string id)
    {
        var fip = await GetVisibleAsync(Caller.Of(http), id);
        await DeleteAsync(store, addresses, fip.Value, fip.Revision, http.RequestAborted);
        return Results.NoContent();
    }

    /// <summary>
    /// Deletes a floating IP (at <paramref name="revision"/>, when given) and gives its address back to its subnet.
    /// </summary>
    public static async Task DeleteAsync(ResourceStore store, PortAddresses addresses, FloatingIp fip, long? revision, CancellationToken cancellationToken)
    {
        await store.Grains.GetGrain<IFloatingIpGrain>(fip.Id).DeleteAsync(revision);
        var subnet = (await store.ListAsync<Subnet>(GrainTypes.Subnet, cancellationToken)).Select(s => s.Value)
            .FirstOrDefault(s => s.NetworkId == fip.FloatingNetworkId && s.Cidr.Contains(fip.FloatingIpAddress));
        if (subnet is not null) await addresses.ReleaseAsync(fip.Id, [new FixedIp(subnet.Id, fip.FloatingIpAddress)]);
    }

    /// <summary>
    /// The port (and which of its addresses) the request associates, checked, and the router that lets the address's
    /// subnet reach <paramref name="networkId"/>; (null, null, null) to disassociate.
    /// </summary>
    private async Task<(string? PortId, IPAddress? FixedIp, string? RouterId)> AssociationAsync(Caller caller, RequestObject body, FloatingIp? current, string networkId)
    {
        var portId = body.Id("port_id", nullable: true);
        var requested = body.Address("fixed_ip_address", nullable: true);
        if (portId is null)
        {
            if (requested is not null) throw RequestObject.Invalid("fixed_ip_address", "needs port_id");
            return (null, null, null);
        }
        var port = await ports.GetVisibleAsync(caller, portId);
        if (Router.IsRouterOwner(port.Value.DeviceOwner))
            throw ApiException.BadRequest($"Bad floatingip request: Port {portId} has owner {port.Value.DeviceOwner} and therefore cannot be assigned a floating IP.");
        var family = current?.FloatingIpAddress.Version() ?? 4;
        var candidates = port.Value.Addresses.Where(a => current is null || a.Version() == family).ToList();
        IPAddress fixedIp;
        if (requested is not null)
        {
            fixedIp = port.Value.Addresses.FirstOrDefault(a => a.Equals(requested))
                ?? throw ApiException.BadRequest($"Bad floatingip request: Port {portId} does not have fixed ip {requested}.");
        }
        else
        {
            fixedIp = candidates.FirstOrDefault(a => a.Version() == 4) ?? candidates.FirstOrDefault()
                ?? throw ApiException.BadRequest($"Bad floatingip request: Port {portId} does not have any IP addresses of the floating address's family.");
        }
        var taken = (await store.ListAsync<FloatingIp>(GrainTypes.FloatingIp, CancellationToken.None))
            .FirstOrDefault(f => f.Value.Id != current?.Id && f.Value.PortId == portId && fixedIp.Equals(f.Value.FixedIpAddress));
        if (taken is not null)
            throw ApiException.Conflict("FloatingIPPortAlreadyAssociated",
                $"Cannot associate floating IP with port {portId} using fixed IP {fixedIp}, as that fixed IP already has floating IP {taken.Value.FloatingIpAddress}.");
        var subnetId = port.Value.FixedIps.First(f => f.Address.Equals(fixedIp)).SubnetId;
        return (portId, fixedIp, await routers.RouterForAsync(networkId, subnetId, portId, CancellationToken.None));
    }

    /// <summary>
    /// A stored association whose port no longer holds the fixed address: a first bind of the port moved it into its
    /// host's block after this request read the port. The bind skips addresses that floating IPs point at, and reads
    /// them inside the port's turn, which this read of the port waits for: of the two, one always sees the other.
    /// The same for its router: an interface or gateway removed meanwhile saw no association, so this one takes itself back.
    /// </summary>
    private async Task<ApiException?> FixedIpGoneAsync(FloatingIp fip)
    {
        if (fip is not { PortId: { } portId, FixedIpAddress: { } fixedIp }) return null;
        var port = await store.Grains.GetGrain<IEndpointGrain>(portId).GetAsync();
        if (port is null) return null;
        return port.Value.FixedIps.FirstOrDefault(f => f.Address.Equals(fixedIp)) is { } held
            ? await routers.NoLongerReachableAsync(fip, held.SubnetId)
            : ApiException.Conflict("FloatingIPSetupException",
                $"Port {portId} no longer has fixed ip {fixedIp}: its bind moved it into its host's block while this request ran. Associate the floating IP with the port's current address.");
    }

    private static FloatingIp WithAssociation(FloatingIp fip, string? portId, IPAddress? fixedIp, string? routerId) =>
        fixedIp is not null && fixedIp.Version() != fip.FloatingIpAddress.Version()
            ? throw RequestObject.Invalid("fixed_ip_address", $"{fixedIp} is not of the floating address's family (IPv{fip.FloatingIpAddress.Version()})")
            : fip with { PortId = portId, FixedIpAddress = fixedIp, RouterId = routerId };

    private async Task<IReadOnlyList<Subnet>> CandidateSubnetsAsync(string networkId, string? subnetId, IPAddress? requested, CancellationToken cancellationToken)
    {
        var subnets = (await store.ListAsync<Subnet>(GrainTypes.Subnet, cancellationToken)).Select(s => s.Value)
            .Where(s => s.NetworkId == networkId).OrderBy(s => s.IpVersion).ThenBy(s => s.Id, StringComparer.Ordinal).ToList();
        if (subnetId is not null) subnets = [.. subnets.Where(s => s.Id == subnetId)];
        if (requested is not null) subnets = [.. subnets.Where(s => s.Cidr.Contains(requested))];
        if (subnets.Count > 0) return subnets;
        throw ApiException.BadRequest(requested is not null
            ? $"Bad floatingip request: {requested} is not in any subnet of network {networkId}{(subnetId is null ? "" : $" (subnet {subnetId})")}."
            : $"Bad floatingip request: network {networkId} has no {(subnetId is null ? "subnet" : $"subnet {subnetId}")} to allocate from.");
    }

    /// <summary>The requested address, or the next free one from the first subnet that has any.</summary>
    private async Task<IpAllocation> AllocateAsync(string handle, IReadOnlyList<Subnet> subnets, IPAddress? requested)
    {
        ResourceConflictException? last = null;
        foreach (var subnet in subnets)
        {
            try
            {
                return await store.Grains.GetGrain<ISubnetIpamGrain>(subnet.Id).AllocateAsync(handle, null, requested);
            }
            catch (ResourceConflictException e) when (requested is null)
            {
                last = e;
            }
            catch (ResourceConflictException e)
            {
                throw ApiException.Conflict("FloatingIPAddressAlreadyAllocated", $"Floating IP {requested} is already in use ({e.Reason}).");
            }
        }
        throw ApiException.Conflict("ExternalIpAddressExhausted", $"Unable to find any IP address on external network {subnets[0].NetworkId} ({last?.Reason}).");
    }
}
