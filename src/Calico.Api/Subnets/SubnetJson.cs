using System.Net;
using Calico.Api.Http;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Api.Subnets;

/// <summary>A subnet as Neutron shows it, and the request attributes that set one.</summary>
internal static class SubnetJson
{
    public static readonly IReadOnlySet<string> Attributes = new HashSet<string>(StandardAttributes.Names)
    {
        "name", "network_id", "ip_version", "cidr", "gateway_ip", "allocation_pools", "dns_nameservers", "host_routes",
        "enable_dhcp", "ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id", "service_types", "segment_id",
        // Request-only (subnet allocation): never shown.
        "prefixlen", "use_default_subnetpool",
    };

    public static readonly IReadOnlySet<string> Updatable = new HashSet<string>
    {
        "name", "description", "gateway_ip", "allocation_pools", "dns_nameservers", "host_routes", "enable_dhcp",
    };

    public static readonly IReadOnlySet<string> Creatable = new HashSet<string>(Updatable.Concat(Projects.Attributes))
    {
        "network_id", "ip_version", "cidr", "ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id", "prefixlen", "use_default_subnetpool",
    };

    private static readonly IReadOnlySet<string> PoolKeys = new HashSet<string> { "start", "end" };
    private static readonly IReadOnlySet<string> RouteKeys = new HashSet<string> { "destination", "nexthop" };

    public static JsonObject Render(Versioned<Subnet> stored)
    {
        var s = stored.Value;
        var json = StandardAttributes.Render(stored, s.Id, s.ProjectId, s.Description);
        json["name"] = s.Name;
        json["network_id"] = s.NetworkId;
        json["ip_version"] = s.IpVersion;
        json["cidr"] = s.Cidr.ToString();
        json["gateway_ip"] = s.GatewayIp?.ToString();
        json["allocation_pools"] = StandardAttributes.Array(s.AllocationPools.Select(p =>
            (JsonNode)new JsonObject { ["start"] = p.Start.ToString(), ["end"] = p.End.ToString() }));
        json["dns_nameservers"] = StandardAttributes.Strings(s.DnsNameservers.Select(a => a.ToString()));
        json["host_routes"] = StandardAttributes.Array(s.HostRoutes.Select(r =>
            (JsonNode)new JsonObject { ["destination"] = r.Destination.ToString(), ["nexthop"] = r.NextHop.ToString() }));
        json["enable_dhcp"] = s.EnableDhcp;
        json["ipv6_ra_mode"] = s.Ipv6RaMode;
        json["ipv6_address_mode"] = s.Ipv6AddressMode;
        json["subnetpool_id"] = s.SubnetPoolId;
        json["service_types"] = new JsonArray();
        json["segment_id"] = null;
        return json;
    }

    /// <summary>The attributes that an update may change, applied to <paramref name="current"/>.</summary>
    public static Subnet Apply(RequestObject body, Subnet current)
    {
        var next = current with
        {
            Name = body.String("name") ?? current.Name,
            Description = body.String("description") ?? current.Description,
            EnableDhcp = body.Bool("enable_dhcp") ?? current.EnableDhcp,
        };
        if (body.Has("gateway_ip")) next = next with { GatewayIp = body.Address("gateway_ip", nullable: true) };
        if (body.ObjectList("allocation_pools", PoolKeys) is { } pools)
            next = next with { AllocationPools = pools.Select((p, i) => new AllocationPool(Required(p, "start", i), Required(p, "end", i))).ToValueList() };
        if (body.StringList("dns_nameservers") is { } dns)
            next = next with { DnsNameservers = dns.Select((d, i) => RequestObject.ParseAddress(d, $"dns_nameservers[{i}]")!).ToValueList() };
        if (body.ObjectList("host_routes", RouteKeys) is { } routes)
            next = next with
            {
                HostRoutes = routes.Select((r, i) => new HostRoute(
                    r.Prefix("destination") ?? throw RequestObject.Invalid($"host_routes[{i}].destination", "is required"),
                    r.Address("nexthop") ?? throw RequestObject.Invalid($"host_routes[{i}].nexthop", "is required"))).ToValueList(),
            };
        return next;
    }

    private static IPAddress Required(RequestObject pool, string key, int i) =>
        pool.Address(key) ?? throw RequestObject.Invalid($"allocation_pools[{i}].{key}", "is required");

    /// <summary>Neutron's defaults: the gateway is the first address; the pools are every other assignable address.</summary>
    public static IPAddress DefaultGateway(IpPrefix cidr) =>
        IpAddresses.FromBigInteger(cidr.Network.Address.ToBigInteger() + 1, cidr.Family);

    public static ValueList<AllocationPool> DefaultPools(IpPrefix cidr, IPAddress? gateway)
    {
        var first = cidr.Network.Address.ToBigInteger() + 1;
        var last = cidr.LastAddress.ToBigInteger() - (cidr.Version == 4 ? 1 : 0);
        var pools = new List<AllocationPool>();
        void Add(System.Numerics.BigInteger from, System.Numerics.BigInteger to)
        {
            if (from <= to) pools.Add(new AllocationPool(IpAddresses.FromBigInteger(from, cidr.Family), IpAddresses.FromBigInteger(to, cidr.Family)));
        }
        if (gateway is not null && cidr.Contains(gateway) && gateway.ToBigInteger() is var g && g >= first && g <= last)
        {
            Add(first, g - 1);
            Add(g + 1, last);
        }
        else Add(first, last);
        return pools.ToValueList();
    }
}
