using Calico.Api.Http;
using Calico.Grains;
using Calico.Model.Resources;

namespace Calico.Api.Networks;

/// <summary>A network as Neutron shows it, and which attributes a request may set.</summary>
internal static class NetworkJson
{
    public static readonly IReadOnlySet<string> Attributes = new HashSet<string>(StandardAttributes.Names)
    {
        "name", "admin_state_up", "mtu", "shared", "router:external", "status", "subnets", "l2_adjacency",
        "port_security_enabled", "availability_zones", "availability_zone_hints", "ipv4_address_scope", "ipv6_address_scope",
        "provider:network_type", "provider:physical_network", "provider:segmentation_id", "qos_policy_id",
    };

    public static readonly IReadOnlySet<string> Updatable = new HashSet<string>
    {
        "name", "admin_state_up", "mtu", "shared", "router:external", "description", "port_security_enabled", "qos_policy_id",
    };

    /// <summary>The provider attributes are set at creation only, as Neutron's ML2 has it.</summary>
    public static readonly IReadOnlySet<string> Creatable = new HashSet<string>(Updatable.Concat(Projects.Attributes))
    {
        "provider:network_type", "provider:physical_network", "provider:segmentation_id",
    };

    public static JsonObject Render(Versioned<Network> stored, IEnumerable<string> subnetIds)
    {
        var n = stored.Value;
        var json = StandardAttributes.Render(stored, n.Id, n.ProjectId, n.Description);
        json["name"] = n.Name;
        json["admin_state_up"] = n.AdminStateUp;
        json["status"] = n.AdminStateUp ? "ACTIVE" : "DOWN";
        json["mtu"] = n.Mtu;
        json["shared"] = n.Shared;
        json["router:external"] = n.External;
        json["subnets"] = StandardAttributes.Strings(subnetIds.Order(StringComparer.Ordinal));
        // Calico routes every workload address; there is no layer 2 between workloads.
        json["l2_adjacency"] = false;
        // The default for the network's new ports.
        json["port_security_enabled"] = n.PortSecurityEnabled;
        json["availability_zones"] = new JsonArray();
        json["availability_zone_hints"] = new JsonArray();
        json["ipv4_address_scope"] = null;
        json["ipv6_address_scope"] = null;
        json["provider:network_type"] = n.NetworkType;
        json["provider:physical_network"] = n.PhysicalNetwork;
        json["provider:segmentation_id"] = null;
        json["qos_policy_id"] = n.QosPolicyId;
        return json;
    }

    /// <summary>A create's provider attributes applied to <paramref name="network"/>: a type, a physical network, never a segmentation id.</summary>
    public static Network ApplyProvider(RequestObject body, Network network)
    {
        if (body.Int("provider:segmentation_id", nullable: true) is { } segmentation)
            throw RequestObject.Invalid("provider:segmentation_id", $"{segmentation} cannot be used: {network.NetworkType} networks have no segmentation id");
        return network with
        {
            ProviderNetworkType = body.String("provider:network_type") ?? network.ProviderNetworkType,
            PhysicalNetwork = body.Has("provider:physical_network") ? body.String("provider:physical_network", nullable: true) : network.PhysicalNetwork,
        };
    }

    /// <summary>The request's attributes applied to <paramref name="current"/> (or to Neutron's defaults).</summary>
    public static Network Apply(RequestObject body, Network current) => current with
    {
        Name = body.String("name") ?? current.Name,
        Description = body.String("description") ?? current.Description,
        AdminStateUp = body.Bool("admin_state_up") ?? current.AdminStateUp,
        Mtu = body.Int("mtu") ?? current.Mtu,
        Shared = body.Bool("shared") ?? current.Shared,
        External = body.Bool("router:external") ?? current.External,
        PortSecurityOff = body.Bool("port_security_enabled") is { } secured ? !secured : current.PortSecurityOff,
        QosPolicyId = body.Has("qos_policy_id") ? body.Id("qos_policy_id", nullable: true) : current.QosPolicyId,
    };
}
