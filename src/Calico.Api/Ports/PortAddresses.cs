using System.Net;
using Calico.Api.Http;
using Calico.Api.Subnets;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.Extensions.Logging;

namespace Calico.Api.Ports;

/// <summary>One address a port asks for: a subnet, and the address itself or null for the next free one.</summary>
internal sealed record AddressRequest(Subnet Subnet, IPAddress? Address);

/// <summary>
/// A port's fixed IPs: which subnets a request names, and the addresses themselves, which only the subnet's IPAM
/// grain hands out. That grain serialises every allocation of its subnet, so two ports can never get the same
/// address, however many requests race; the API only checks what it can say more clearly first (the subnet is on
/// the port's network, the address is inside it). An allocation that is not stored in a port after all is released.
/// </summary>
internal sealed partial class PortAddresses(ResourceStore store, ILogger<PortAddresses> logger)
{
    /// <summary>
    /// What <c>fixed_ips</c> (or <paramref name="attribute"/>: a router gateway's <c>external_fixed_ips</c>) asks for;
    /// without it, one address from the network's first IPv4 and IPv6 subnet.
    /// </summary>
    public async Task<IReadOnlyList<AddressRequest>?> ResolveAsync(
        RequestObject body, string networkId, string mac, bool create, CancellationToken cancellationToken, string attribute = "fixed_ips")
    {
        var entries = body.ObjectList(attribute, PortJson.FixedIpKeys);
        if (entries is null && !create) return null;
        var subnets = (await store.ListAsync<Subnet>(GrainTypes.Subnet, cancellationToken))
            .Select(s => s.Value).Where(s => s.NetworkId == networkId).OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
        // Without fixed_ips, as Neutron: one address of the first IPv4 subnet, one of the first IPv6 subnet that IPAM
        // serves, and the SLAAC address of every IPv6 subnet whose ports configure themselves.
        if (entries is null)
            return [.. subnets.Where(s => !s.IsAutoAddress).GroupBy(s => s.IpVersion).Select(g => new AddressRequest(g.First(), null))
                .Concat(subnets.Where(s => s.IsAutoAddress).Select(s => new AddressRequest(s, IpAddresses.Eui64(s.Cidr, mac))))];

        var requests = new List<AddressRequest>();
        for (var i = 0; i < entries.Count; i++)
        {
            var field = body.Field($"{attribute}[{i}]");
            var subnetId = entries[i].Id("subnet_id");
            var address = RequestObject.ParseAddress(entries[i].String("ip_address"), $"{field}.ip_address");
            Subnet subnet;
            if (subnetId is not null)
            {
                subnet = subnets.FirstOrDefault(s => s.Id == subnetId) ?? await UnlistedSubnetAsync(subnetId, networkId, field);
                if (address is not null && !subnet.Cidr.Contains(address))
                    throw RequestObject.Invalid($"{field}.ip_address", $"{address} is not a valid IP for subnet {subnetId} ({subnet.Cidr})");
            }
            else if (address is not null)
            {
                subnet = subnets.FirstOrDefault(s => s.Cidr.Contains(address))
                    ?? throw RequestObject.Invalid($"{field}.ip_address", $"{address} is not a valid IP for any of the subnets on network {networkId}");
            }
            else throw RequestObject.Invalid(field, "needs subnet_id, ip_address or both");
            if (subnet.IsAutoAddress)
            {
                // The port configures its own address there (SLAAC): only that one can be its.
                var own = IpAddresses.Eui64(subnet.Cidr, mac);
                if (address is not null && !address.Equals(own))
                    throw RequestObject.Invalid($"{field}.ip_address",
                        $"IPv6 address {address} cannot be directly assigned to a port on subnet {subnet.Id} as the subnet is configured for automatic addresses");
                address = own;
            }
            if (address is null && requests.Any(r => r.Address is null && r.Subnet.Id == subnet.Id))
                throw RequestObject.Invalid(field, $"asks subnet {subnet.Id} for a second automatic address; a port gets one automatic address per subnet, name any further one with ip_address");
            requests.Add(new AddressRequest(subnet, address));
        }
        return requests;
    }

    /// <summary>
    /// A subnet the request names that is not among the network's listed subnets: missing, on another network, or
    /// on this one after all: created since the list was read, or put back by a refused delete (see References)
    /// that had it deleted while the list was read. The port then uses it like any other.
    /// </summary>
    private async Task<Subnet> UnlistedSubnetAsync(string subnetId, string networkId, string field)
    {
        var subnet = await store.Grains.GetGrain<ISubnetGrain>(subnetId).GetAsync();
        if (subnet is null) throw SubnetEndpoints.NotFound(subnetId);
        return subnet.Value.NetworkId == networkId ? subnet.Value
            : throw RequestObject.Invalid($"{field}.subnet_id", $"subnet {subnetId} is on network {subnet.Value.NetworkId}, not on the port's network {networkId}");
    }

    /// <summary>
    /// The port's addresses after the request: those in <paramref name="held"/> that are asked for again are kept
    /// (as is a held address on a subnet asked for without an address); the rest are allocated. If any allocation
    /// fails, the ones this call made are released and the failure is thrown.
    /// </summary>
    public async Task<(IReadOnlyList<FixedIp> Addresses, IReadOnlyList<FixedIp> New)> AllocateAsync(
        string portId, string? host, IReadOnlyList<AddressRequest> requests, IReadOnlyList<FixedIp> held)
    {
        var result = new List<FixedIp>();
        var fresh = new List<FixedIp>();
        var unclaimed = held.ToList();
        try
        {
            // Explicit addresses first, so that a subnet-only request cannot take an address one of them names.
            foreach (var r in requests.OrderBy(r => r.Address is null))
            {
                var kept = unclaimed.FirstOrDefault(h => h.SubnetId == r.Subnet.Id && (r.Address is null || h.Address.Equals(r.Address)));
                if (kept is not null)
                {
                    unclaimed.Remove(kept);
                    result.Add(kept);
                    continue;
                }
                var allocation = await AllocateOneAsync(portId, host, r);
                var fixedIp = new FixedIp(allocation.SubnetId, allocation.Address);
                fresh.Add(fixedIp);
                result.Add(fixedIp);
            }
        }
        catch
        {
            await ReleaseAsync(portId, fresh);
            throw;
        }
        return (result, fresh);
    }

    private async Task<IpAllocation> AllocateOneAsync(string portId, string? host, AddressRequest request)
    {
        try
        {
            return await store.Grains.GetGrain<ISubnetIpamGrain>(request.Subnet.Id).AllocateAsync(portId, host, request.Address);
        }
        catch (ResourceConflictException e) when (request.Address is not null)
        {
            throw ApiException.Conflict("IpAddressAlreadyAllocated",
                $"IP address {request.Address} already allocated in subnet {request.Subnet.Id} ({e.Reason}).");
        }
        catch (ResourceConflictException e)
        {
            throw ApiException.Conflict("IpAddressGenerationFailure", $"No more IP addresses available on subnet {request.Subnet.Id} ({e.Reason}).");
        }
    }

    /// <summary>Releases addresses no port holds any more. Best effort: a failure is logged, and the address stays taken until released.</summary>
    public async Task ReleaseAsync(string portId, IEnumerable<FixedIp> addresses)
    {
        foreach (var a in addresses)
        {
            try
            {
                await store.Grains.GetGrain<ISubnetIpamGrain>(a.SubnetId).ReleaseAsync(portId, a.Address);
            }
            catch (Exception e)
            {
                LogReleaseFailed(logger, e, a.Address.ToString(), a.SubnetId, portId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release {Address} of subnet {Subnet} held for {Port}; it stays allocated")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string address, string subnet, string port);
}
