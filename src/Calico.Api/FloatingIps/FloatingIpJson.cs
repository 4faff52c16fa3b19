using Calico.Api.Http;
using Calico.Grains;
using Calico.Model.Resources;

namespace Calico.Api.FloatingIps;

/// <summary>A floating IP as Neutron shows it; router_id is the router its association goes through.</summary>
internal static class FloatingIpJson
{
    public static readonly IReadOnlySet<string> Attributes = new HashSet<string>(StandardAttributes.Names)
    {
        "floating_ip_address", "floating_network_id", "router_id", "port_id", "fixed_ip_address", "status",
    };

    public static readonly IReadOnlySet<string> Updatable = new HashSet<string> { "port_id", "fixed_ip_address", "description" };

    public static readonly IReadOnlySet<string> Creatable = new HashSet<string>(Updatable.Concat(Projects.Attributes))
    {
        "floating_network_id", "floating_ip_address", "subnet_id",
    };

    public static JsonObject Render(Versioned<FloatingIp> stored)
    {
        var f = stored.Value;
        var json = StandardAttributes.Render(stored, f.Id, f.ProjectId, f.Description);
        json["floating_ip_address"] = f.FloatingIpAddress.ToString();
        json["floating_network_id"] = f.FloatingNetworkId;
        json["router_id"] = f.RouterId;
        json["port_id"] = f.PortId;
        json["fixed_ip_address"] = f.FixedIpAddress?.ToString();
        json["status"] = f.IsAssociated ? "ACTIVE" : "DOWN";
        return json;
    }
}
