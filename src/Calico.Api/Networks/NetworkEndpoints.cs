using Calico.Api.Auth;
using Calico.Api.FloatingIps;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Api.Quotas;
using Calico.Api.Tags;
using Calico.Api.Ports;
using Calico.Api.Qos;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Api.Networks;

/// <summary>/v2.0/networks. Shared and external networks are visible to every project; only the owner or an admin changes them.</summary>
internal sealed class NetworkEndpoints(
    ResourceStore store, RequestBody bodies, NetworkPorts ports, PortAddresses addresses, References references, ProjectQuotas quotas,
    QosPolicyEndpoints qos)
    : IReadableCollection, ITaggableCollection<Network>, ICreatableCollection, IUpdatableCollection, IDeletableCollection
{
    public static ApiException NotFound(string id) => ApiException.NotFound("NetworkNotFound", $"Network {id} could not be found.");

    public IResourceGrain<Network> Grain(string id) => store.Grains.GetGrain<INetworkGrain>(id);

    public string ProjectOf(Network value) => value.ProjectId;

    public static bool IsVisible(Caller caller, Network n) => caller.CanSee(n.ProjectId) || n.Shared || n.External;

    /// <summary>The network if the caller may see it; 404 otherwise (another project's private network does not exist for them).</summary>
    public async Task<Versioned<Network>> GetVisibleAsync(Caller caller, string id)
    {
        var n = await store.Grains.GetGrain<INetworkGrain>(id).GetAsync();
        return n is not null && IsVisible(caller, n.Value) ? n : throw NotFound(id);
    }

    public async Task<IResult> ListAsync(HttpContext http)
    {
        var caller = Caller.Of(http);
        var query = new ListQuery(http.Request.Query, NetworkJson.Attributes);
        var subnets = await SubnetsByNetworkAsync(http.RequestAborted);
        var networks = await store.ListAsync<Network>(GrainTypes.Network, http.RequestAborted);
        return NeutronResults.List(http, "networks",
            networks.Where(n => IsVisible(caller, n.Value)).Select(n => NetworkJson.Render(n, subnets[n.Value.Id])), query);
    }

    public async Task<IResult> ShowAsync(HttpContext http, string id)
    {
        var network = await GetVisibleAsync(Caller.Of(http), id);
        var subnets = await SubnetsByNetworkAsync(http.RequestAborted);
        return NeutronResults.One("network", new ListQuery(http.Request.Query, NetworkJson.Attributes).Project(NetworkJson.Render(network, subnets[id])));
    }

    public string Singular => "network";

    public async Task<JsonObject> CreateAsync(HttpContext http, RequestObject body)
    {
        var caller = Caller.Of(http);
        body.Accept(NetworkJson.Creatable, NetworkJson.Attributes, update: false);
        var defaults = new Network(Ids.New(), "", Projects.ForCreate(caller, body), AdminStateUp: true, Network.DefaultMtu, Shared: false, External: false);
        var network = NetworkJson.ApplyProvider(body, NetworkJson.Apply(body, defaults));
        await qos.RequestedAsync(caller, body);
        // qos-default: a network created without a policy gets its project's default one.
        if (!body.Has("qos_policy_id")) network = network with { QosPolicyId = await qos.DefaultForAsync(network.ProjectId, http.RequestAborted) };
        await quotas.EnsureRoomAsync(network.ProjectId, "network", 1, http.RequestAborted);
        var grain = store.Grains.GetGrain<INetworkGrain>(network.Id);
        var stored = await grain.CreateAsync(network);
        // Stored first, checked second (see References): a policy deleted meanwhile undoes the network.
        if (network.QosPolicyId is not null && await references.FirstMissingAsync(qosPolicyId: network.QosPolicyId) is { } missing)
        {
            await grain.DeleteAsync(stored.Revision);
            throw missing;
        }
        return NetworkJson.Render(stored, []);
    }

    public async Task<IResult> UpdateAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var body = await bodies.ReadAsync(http, "network");
        body.Accept(NetworkJson.Updatable, NetworkJson.Attributes, update: true);
        await qos.RequestedAsync(caller, body);
        string? previousPolicy = null;
        var stored = await Writes.UpdateAsync(store.Grains.GetGrain<INetworkGrain>(id), async current =>
        {
            var network = current is not null && IsVisible(caller, current.Value) ? current.Value
                : throw NotFound(id);
            Projects.RequireOwner(caller, network.ProjectId, $"Network {id}");
            previousPolicy = network.QosPolicyId;
            var next = NetworkJson.Apply(body, network);
            if (next.Mtu < 1280 && next.Mtu != network.Mtu)
            {
                var v6 = (await SubnetsOfAsync(id, http.RequestAborted)).FirstOrDefault(s => s.IpVersion == 6);
                if (v6 is not null) throw ApiException.BadRequest($"Invalid input for mtu: {next.Mtu} is below 1280, the IPv6 minimum, and subnet {v6.Id} is IPv6.");
            }
            return next;
        });
        if (body.Has("qos_policy_id") && stored.Value.QosPolicyId is { } policy && await references.FirstMissingAsync(qosPolicyId: policy) is { } missing)
        {
            await Writes.UpdateAsync(store.Grains.GetGrain<INetworkGrain>(id), current => Task.FromResult(
                current is not null && current.Value.QosPolicyId == policy ? current.Value with { QosPolicyId = previousPolicy } : current?.Value ?? stored.Value));
            throw missing;
        }
        var subnets = await SubnetsByNetworkAsync(http.RequestAborted);
        return NeutronResults.One("network", NetworkJson.Render(stored, subnets[id]));
    }

    /// <summary>
    /// Like Neutron: refused with 409 while ports use the network or floating IPs from it are associated with a port;
    /// otherwise its subnets and its unassociated floating IPs go with it (Neutron's delete_disassociated_floatingips).
    /// </summary>
    public async Task<IResult> DeleteAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var network = await GetVisibleAsync(caller, id);
        Projects.RequireOwner(caller, network.Value.ProjectId, $"Network {id}");
        await references.DeleteUnlessUsedAsync(store.Grains.GetGrain<INetworkGrain>(id), network, async () =>
        {
            if (await ports.AnyAsync(id, http.RequestAborted) is not null)
                return ApiException.Conflict("NetworkInUse", $"Unable to complete operation on network {id}. There are one or more ports still in use on the network.");
            return (await FloatingIpsOfAsync(id, http.RequestAborted)).FirstOrDefault(f => f.Value.PortId is not null) is { } associated
                ? ApiException.Conflict("NetworkInUse", $"Unable to complete operation on network {id}. Floating IP {associated.Value.Id} from it is associated with port {associated.Value.PortId}.")
                : null;
        });
        // Nothing can be added to a network that is gone (writers check after storing), so its floating IPs and
        // subnets go now: a floating IP first, while its subnet still takes its address back.
        foreach (var fip in await FloatingIpsOfAsync(id, http.RequestAborted))
        {
            try
            {
                await FloatingIpEndpoints.DeleteAsync(store, addresses, fip.Value, revision: null, http.RequestAborted);
            }
            catch (ResourceNotFoundException)
            {
                // Deleted by its own request meanwhile.
            }
        }
        foreach (var subnet in await SubnetsOfAsync(id, http.RequestAborted))
            await store.Grains.GetGrain<ISubnetGrain>(subnet.Id).DeleteAsync();
        return Results.NoContent();
    }

    private async Task<IReadOnlyList<Versioned<FloatingIp>>> FloatingIpsOfAsync(string networkId, CancellationToken cancellationToken) =>
        [.. (await store.ListAsync<FloatingIp>(GrainTypes.FloatingIp, cancellationToken)).Where(f => f.Value.FloatingNetworkId == networkId)];

    private async Task<ILookup<string, string>> SubnetsByNetworkAsync(CancellationToken cancellationToken) =>
        (await store.ListAsync<Subnet>(GrainTypes.Subnet, cancellationToken)).ToLookup(s => s.Value.NetworkId, s => s.Value.Id);

    private async Task<IReadOnlyList<Subnet>> SubnetsOfAsync(string networkId, CancellationToken cancellationToken) =>
        [.. (await store.ListAsync<Subnet>(GrainTypes.Subnet, cancellationToken)).Select(s => s.Value).Where(s => s.NetworkId == networkId)];
}
