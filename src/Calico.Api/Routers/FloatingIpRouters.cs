using Calico.Api.Http;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Resources;

namespace Calico.Api.Routers;

/// <summary>
/// Neutron's rule for floating IPs, decided from the routers alone: a port's fixed address may have a floating IP of
/// an external network only when the address's subnet is an interface of a router whose gateway is on that network
/// (that router is then the floating IP's router_id); and a router cannot lose that interface or gateway while a
/// floating IP depends on it. Calico's data path does not need the router (the port's host does the NAT): the rule
/// is kept so that clients see the API they expect.
/// </summary>
internal sealed class FloatingIpRouters(ResourceStore store)
{
    /// <summary>The router that lets <paramref name="subnetId"/> reach <paramref name="externalNetworkId"/>; 404 as Neutron when none does.</summary>
    public async Task<string> RouterForAsync(string externalNetworkId, string subnetId, string portId, CancellationToken cancellationToken)
    {
        var routers = await store.ListAsync<Router>(GrainTypes.Router, cancellationToken);
        return routers.Select(r => r.Value).Where(r => Reaches(r, externalNetworkId, subnetId))
                .OrderBy(r => r.Id, StringComparer.Ordinal).FirstOrDefault()?.Id
            ?? throw ApiException.NotFound("ExternalGatewayForFloatingIPNotFound",
                $"External network {externalNetworkId} is not reachable from subnet {subnetId}.  Therefore, cannot associate Port {portId} with a Floating IP.");
    }

    /// <summary>Whether <paramref name="router"/> has a gateway on the external network and an interface on the subnet.</summary>
    public static bool Reaches(Router? router, string externalNetworkId, string subnetId) =>
        router is not null && router.Gateway?.NetworkId == externalNetworkId && router.SubnetIds.Contains(subnetId);

    /// <summary>
    /// The association of <paramref name="fip"/> when its router no longer allows it (an interface or gateway removed
    /// while the association was written): 404 as when it was refused at once; null while it stands.
    /// </summary>
    public async Task<ApiException?> NoLongerReachableAsync(FloatingIp fip, string subnetId)
    {
        if (fip is not { PortId: { } portId, RouterId: { } routerId }) return null;
        var router = await store.Grains.GetGrain<IRouterGrain>(routerId).GetAsync();
        return Reaches(router?.Value, fip.FloatingNetworkId, subnetId) ? null
            : ApiException.NotFound("ExternalGatewayForFloatingIPNotFound",
                $"External network {fip.FloatingNetworkId} is not reachable from subnet {subnetId}.  Therefore, cannot associate Port {portId} with a Floating IP (router {routerId} changed while this request ran).");
    }

    /// <summary>The floating IPs associated through <paramref name="routerId"/> (those whose fixed address is in <paramref name="subnet"/>, when given).</summary>
    public async Task<IReadOnlyList<FloatingIp>> UsingAsync(string routerId, Subnet? subnet, CancellationToken cancellationToken) =>
        [.. (await store.ListAsync<FloatingIp>(GrainTypes.FloatingIp, cancellationToken)).Select(f => f.Value)
            .Where(f => f.RouterId == routerId && f.PortId is not null
                && (subnet is null || (f.FixedIpAddress is { } a && subnet.Cidr.Contains(a))))];
}
