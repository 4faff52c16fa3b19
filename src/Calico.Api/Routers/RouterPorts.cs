using Calico.Api.Http;
using Calico.Api.Ports;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Api.Routers;

/// <summary>
/// The ports a router owns: an interface on a subnet (holding the subnet's gateway address) and its gateway on an
/// external network. They are ports like any other in the store (listed, shown, filtered by device_id), but never
/// bound to a host (the port API refuses to bind them), so no host makes a workload endpoint of them: no tap, no
/// route, no DHCP entry. Calico needs none, as every host routes its own workloads and answers for the gateway.
/// </summary>
internal sealed class RouterPorts(ResourceStore store, PortAddresses addresses, NetworkPorts networkPorts, References references)
{
    /// <summary>
    /// The port that holds <paramref name="subnet"/>'s gateway address for a router interface. IPAM never hands the
    /// gateway out (it is the subnet's), so its owner is decided by this one port id per subnet: of two routers that
    /// race to the same subnet's gateway, only one can create the port.
    /// </summary>
    public static string GatewayAddressPortId(string subnetId) => Ids.NameBased("router-interface", subnetId);

    /// <summary>A new interface port on <paramref name="subnet"/> with its gateway address, owned by <paramref name="router"/>.</summary>
    public async Task<Versioned<WorkloadEndpoint>> CreateInterfaceAsync(Router router, Subnet subnet, CancellationToken cancellationToken)
    {
        var gateway = subnet.GatewayIp ?? throw new InvalidOperationException("a subnet without a gateway has no interface address");
        var mac = await PortJson.NewMacAsync(m => networkPorts.MacInUseAsync(subnet.NetworkId, m, cancellationToken));
        var port = NewPort(GatewayAddressPortId(subnet.Id), subnet.NetworkId, router.ProjectId, mac, ValueList.Create(new FixedIp(subnet.Id, gateway)), router.Id, Router.InterfaceOwner);
        var grain = store.Grains.GetGrain<IEndpointGrain>(port.Id);
        Versioned<WorkloadEndpoint> stored;
        try
        {
            stored = await grain.CreateAsync(port);
        }
        catch (ResourceConflictException)
        {
            throw ApiException.Conflict("IpAddressInUse", $"Unable to complete operation for network {subnet.NetworkId}. The IP address {gateway} is in use.");
        }
        await UndoIfReferenceMissingAsync(stored);
        return stored;
    }

    /// <summary>
    /// A new gateway port on the external network <paramref name="networkId"/>: the addresses <paramref name="info"/>'s
    /// <c>external_fixed_ips</c> names, or one of each IP version from the network's subnets. Its project is none
    /// (Neutron's gateway ports belong to no project: they count in no quota and only admins see them).
    /// </summary>
    public async Task<Versioned<WorkloadEndpoint>> CreateGatewayAsync(Router router, string networkId, RequestObject info, CancellationToken cancellationToken)
    {
        var mac = await PortJson.NewMacAsync(m => networkPorts.MacInUseAsync(networkId, m, cancellationToken));
        var port = NewPort(Ids.New(), networkId, "", mac, ValueList<FixedIp>.Empty, router.Id, Router.GatewayOwner);
        var requests = await addresses.ResolveAsync(info, networkId, mac, create: true, cancellationToken, "external_fixed_ips");
        var (fixedIps, fresh) = await addresses.AllocateAsync(port.Id, null, requests!, []);
        try
        {
            var stored = await store.Grains.GetGrain<IEndpointGrain>(port.Id).CreateAsync(port with { FixedIps = fixedIps.ToValueList() });
            await UndoIfReferenceMissingAsync(stored);
            return stored;
        }
        catch
        {
            await addresses.ReleaseAsync(port.Id, fresh);
            throw;
        }
    }

    /// <summary>
    /// The gateway port with the addresses <paramref name="info"/>'s <c>external_fixed_ips</c> names now (those it
    /// holds and is asked for again are kept, the others released); unchanged when it names none.
    /// </summary>
    public async Task<Versioned<WorkloadEndpoint>> ReaddressGatewayAsync(string portId, RequestObject info, CancellationToken cancellationToken)
    {
        var grain = store.Grains.GetGrain<IEndpointGrain>(portId);
        var current = await grain.GetAsync() ?? throw new ResourceNotFoundException("port", portId);
        var requests = await addresses.ResolveAsync(info, current.Value.NetworkId, current.Value.MacAddress, create: false, cancellationToken, "external_fixed_ips");
        if (requests is null) return current;
        var (fixedIps, fresh) = await addresses.AllocateAsync(portId, null, requests, current.Value.FixedIps.Items);
        try
        {
            var stored = await grain.PutAsync(current.Value with { FixedIps = fixedIps.ToValueList() }, current.Revision);
            await addresses.ReleaseAsync(portId, current.Value.FixedIps.Except(stored.Value.FixedIps));
            return stored;
        }
        catch
        {
            await addresses.ReleaseAsync(portId, fresh);
            throw;
        }
    }

    /// <summary>Deletes a router's port (gone already: nothing to do) and gives its addresses back.</summary>
    public async Task DeleteAsync(string portId)
    {
        var grain = store.Grains.GetGrain<IEndpointGrain>(portId);
        if (await grain.GetAsync() is not { } port) return;
        await grain.DeleteAsync(port.Revision);
        await addresses.ReleaseAsync(portId, port.Value.FixedIps);
    }

    /// <summary>Stored first, checked second (see <see cref="References"/>): a network or subnet deleted meanwhile undoes the port.</summary>
    private async Task UndoIfReferenceMissingAsync(Versioned<WorkloadEndpoint> stored)
    {
        if (await references.FirstMissingAsync(stored.Value.NetworkId, stored.Value.FixedIps.Select(f => f.SubnetId).Distinct()) is not { } missing) return;
        await DeleteAsync(stored.Value.Id);
        throw missing;
    }

    private static WorkloadEndpoint NewPort(string id, string networkId, string projectId, string mac, ValueList<FixedIp> fixedIps, string routerId, string owner) =>
        new(id, networkId, "", projectId, Host: null, mac, fixedIps, ValueList<string>.Empty, ValueList<AllowedAddressPair>.Empty,
            AdminStateUp: true, DeviceId: routerId, DeviceOwner: owner);
}
