using System.Net;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

[GenerateSerializer, Immutable]
public sealed record HostRoute([property: Id(0)] IpPrefix Destination, [property: Id(1)] IPAddress NextHop);

[GenerateSerializer, Immutable]
public sealed record AllocationPool([property: Id(0)] IPAddress Start, [property: Id(1)] IPAddress End);

/// <summary>A Neutron subnet: an address range of a network, with what DHCP tells the workloads on it.</summary>
[GenerateSerializer, Immutable]
public sealed record Subnet(
    [property: Id(0)] string Id,
    [property: Id(1)] string NetworkId,
    [property: Id(2)] string Name,
    [property: Id(3)] string ProjectId,
    [property: Id(4)] IpPrefix Cidr,
    [property: Id(5)] IPAddress? GatewayIp,
    [property: Id(6)] ValueList<IPAddress> DnsNameservers,
    [property: Id(7)] ValueList<HostRoute> HostRoutes,
    [property: Id(8)] ValueList<AllocationPool> AllocationPools,
    [property: Id(9)] bool EnableDhcp,
    [property: Id(10)] string Description = "",
    [property: Id(11)] string? Ipv6RaMode = null,
    [property: Id(12)] string? Ipv6AddressMode = null,
    [property: Id(13)] string? SubnetPoolId = null) : IValidatable
{
    public const string Slaac = "slaac";
    public const string DhcpV6Stateful = "dhcpv6-stateful";
    public const string DhcpV6Stateless = "dhcpv6-stateless";

    public int IpVersion => Cidr.Version;

    /// <summary>
    /// Ports take their address here by SLAAC (their EUI-64 address in the /64), not from IPAM's choice: the address
    /// mode says slaac or dhcpv6-stateless, or, without one, the RA mode does (Neutron's "auto address" subnet).
    /// </summary>
    public bool IsAutoAddress => (Ipv6AddressMode ?? Ipv6RaMode) is Slaac or DhcpV6Stateless;

    /// <summary>True when <paramref name="address"/> may be given to a port: inside the CIDR, not the network,
    /// broadcast or gateway address.</summary>
    public bool IsAssignable(IPAddress address, out string reason)
    {
        reason = "";
        if (!Cidr.Contains(address)) { reason = $"{address} is outside subnet {Cidr}"; return false; }
        if (address.Equals(GatewayIp)) { reason = $"{address} is the gateway of subnet {Cidr}"; return false; }
        if (IpVersion == 4 && Cidr.Length <= 30)
        {
            if (address.Equals(Cidr.Network.Address)) { reason = $"{address} is the network address of {Cidr}"; return false; }
            if (address.Equals(Cidr.LastAddress)) { reason = $"{address} is the broadcast address of {Cidr}"; return false; }
        }
        if (IpVersion == 6 && address.Equals(Cidr.Network.Address))
        {
            reason = $"{address} is the subnet-router anycast address of {Cidr}";
            return false;
        }
        return true;
    }

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Id(Id, "id");
        v.Id(NetworkId, "network_id");
        v.MaxLength(Name, 255, "name");
        v.MaxLength(Description, 255, "description");
        v.Canonical(Cidr, "cidr");
        if (IpVersion == 4 && Cidr.Length > 30) v.Add("cidr", $"{Cidr} is too small: an IPv4 subnet needs at least a /30");
        if (IpVersion == 6 && Cidr.Length > 126) v.Add("cidr", $"{Cidr} is too small: an IPv6 subnet needs at least a /126");
        foreach (var (mode, field) in new[] { (Ipv6RaMode, "ipv6_ra_mode"), (Ipv6AddressMode, "ipv6_address_mode") })
        {
            if (mode is null) continue;
            if (IpVersion == 4) v.Add(field, $"is not valid when ip_version is 4");
            else if (mode is not (Slaac or DhcpV6Stateful or DhcpV6Stateless)) v.Add(field, $"'{mode}' is not one of {Slaac}, {DhcpV6Stateful}, {DhcpV6Stateless}");
        }
        if (Ipv6RaMode is not null && Ipv6AddressMode is not null && Ipv6RaMode != Ipv6AddressMode)
            v.Add("ipv6_ra_mode", $"set to '{Ipv6RaMode}' with ipv6_address_mode set to '{Ipv6AddressMode}' is not valid. If both attributes are set, they must be the same value");
        if (IpVersion == 6 && IsAutoAddress && Cidr.Length != 64)
            v.Add("cidr", $"Invalid CIDR {Cidr} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64");
        if (GatewayIp is not null)
        {
            v.Family(GatewayIp, IpVersion, "gateway_ip");
            if (GatewayIp.Version() == IpVersion && !Cidr.Contains(GatewayIp))
                v.Add("gateway_ip", $"{GatewayIp} is outside {Cidr}");
            else if (IpVersion == 4 && Cidr.Contains(GatewayIp) && (GatewayIp.Equals(Cidr.Network.Address) || GatewayIp.Equals(Cidr.LastAddress)))
                v.Add("gateway_ip", $"{GatewayIp} is the network or broadcast address of {Cidr}");
        }
        for (var i = 0; i < DnsNameservers.Count; i++)
            v.Family(DnsNameservers[i], IpVersion, $"dns_nameservers[{i}]");
        if (DnsNameservers.Distinct().Count() != DnsNameservers.Count) v.Add("dns_nameservers", "lists a server twice");
        for (var i = 0; i < HostRoutes.Count; i++)
        {
            var r = HostRoutes[i];
            v.Family(r.Destination, IpVersion, $"host_routes[{i}].destination");
            v.Canonical(r.Destination, $"host_routes[{i}].destination");
            v.Family(r.NextHop, IpVersion, $"host_routes[{i}].nexthop");
        }
        for (var i = 0; i < AllocationPools.Count; i++)
        {
            var p = AllocationPools[i];
            var field = $"allocation_pools[{i}]";
            if (p.Start.Version() != IpVersion || p.End.Version() != IpVersion) { v.Add(field, $"must be IPv{IpVersion} addresses"); continue; }
            if (!Cidr.Contains(p.Start) || !Cidr.Contains(p.End)) v.Add(field, $"{p.Start}-{p.End} is not inside {Cidr}");
            else if (IpAddresses.Compare(p.Start, p.End) > 0) v.Add(field, $"start {p.Start} is after end {p.End}");
            else if (GatewayIp is not null && GatewayIp.Version() == IpVersion &&
                     IpAddresses.Compare(p.Start, GatewayIp) <= 0 && IpAddresses.Compare(GatewayIp, p.End) <= 0)
                v.Add(field, $"{p.Start}-{p.End} contains the gateway {GatewayIp}");
            for (var j = 0; j < i; j++)
            {
                var q = AllocationPools[j];
                if (IpAddresses.Compare(p.Start, q.End) <= 0 && IpAddresses.Compare(q.Start, p.End) <= 0)
                    v.Add(field, $"{p.Start}-{p.End} overlaps allocation_pools[{j}]");
            }
        }
        return v.Errors;
    }
}
