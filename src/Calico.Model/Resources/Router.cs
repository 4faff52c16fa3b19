using Calico.Model.Collections;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>A router's way out: its port on an external network (router:external) and the addresses that port holds.</summary>
[GenerateSerializer, Immutable]
public sealed record RouterGateway(
    [property: Id(0)] string NetworkId,
    [property: Id(1)] bool EnableSnat,
    [property: Id(2)] string PortId,
    [property: Id(3)] ValueList<FixedIp> FixedIps);

/// <summary>A router's port on a tenant network, and the subnets of that port the router serves.</summary>
[GenerateSerializer, Immutable]
public sealed record RouterInterface([property: Id(0)] string PortId, [property: Id(1)] string NetworkId, [property: Id(2)] ValueList<string> SubnetIds);

/// <summary>
/// A Neutron router. Calico routes every workload on its own host, so a router carries no traffic and has no data
/// path: it is the API's record of which subnets reach which external network, which decides the floating IPs a
/// port may have (Neutron's rule: the port's subnet is an interface of a router whose gateway is on the floating
/// IP's network). Its ports are real ports (device_owner network:router_interface / network:router_gateway,
/// device_id the router) that are never bound to a host, so they never become workload endpoints. The interfaces
/// are kept here as well, so that the rule is decided from the routers alone, without reading every port.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record Router(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string ProjectId,
    [property: Id(3)] bool AdminStateUp,
    [property: Id(4)] RouterGateway? Gateway,
    [property: Id(5)] ValueList<RouterInterface> Interfaces,
    [property: Id(6)] ValueList<HostRoute> Routes,
    [property: Id(7)] string Description = "") : IValidatable
{
    public const string InterfaceOwner = "network:router_interface";
    public const string GatewayOwner = "network:router_gateway";

    /// <summary>Neutron's default <c>max_routes</c>: the most extra routes one router holds.</summary>
    public const int MaxRoutes = 30;

    /// <summary>Whether a port's device_owner is one a router gives its ports.</summary>
    public static bool IsRouterOwner(string deviceOwner) => deviceOwner is InterfaceOwner or GatewayOwner;

    /// <summary>The interface that holds <paramref name="portId"/>, or null.</summary>
    public RouterInterface? InterfaceOfPort(string portId) => Interfaces.FirstOrDefault(i => i.PortId == portId);

    /// <summary>Whether the port is one of this router's own (an interface or its gateway).</summary>
    public bool Owns(string portId) => InterfaceOfPort(portId) is not null || Gateway?.PortId == portId;

    public IEnumerable<string> SubnetIds => Interfaces.SelectMany(i => i.SubnetIds);

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Id(Id, "id");
        v.MaxLength(Name, 255, "name");
        v.MaxLength(ProjectId, 255, "project_id");
        v.MaxLength(Description, 255, "description");
        if (Gateway is { } gateway)
        {
            v.Id(gateway.NetworkId, "external_gateway_info.network_id");
            v.Id(gateway.PortId, "external_gateway_info.port_id");
        }
        for (var i = 0; i < Interfaces.Count; i++)
        {
            v.Id(Interfaces[i].PortId, $"interfaces[{i}].port_id");
            if (Interfaces[i].SubnetIds.Count == 0) v.Add($"interfaces[{i}]", "has no subnet");
            if (Interfaces.Take(i).Any(o => o.PortId == Interfaces[i].PortId)) v.Add($"interfaces[{i}]", $"port {Interfaces[i].PortId} is listed twice");
        }
        if (Routes.Count > MaxRoutes) v.Add("routes", $"{Routes.Count} routes; at most {MaxRoutes}");
        for (var i = 0; i < Routes.Count; i++)
        {
            v.Canonical(Routes[i].Destination, $"routes[{i}].destination");
            v.Family(Routes[i].NextHop, Routes[i].Destination.Version, $"routes[{i}].nexthop");
            if (Routes.Take(i).Contains(Routes[i])) v.Add($"routes[{i}]", $"{Routes[i].Destination} via {Routes[i].NextHop} is listed twice");
        }
        return v.Errors;
    }
}
