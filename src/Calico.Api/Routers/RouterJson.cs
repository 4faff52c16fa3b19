using Calico.Api.Http;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Api.Routers;

/// <summary>A router as Neutron shows it (router, extraroute, ext-gw-mode), and the request attributes that set one.</summary>
internal static class RouterJson
{
    public static readonly IReadOnlySet<string> Attributes = new HashSet<string>(StandardAttributes.Names)
    {
        "name", "admin_state_up", "status", "external_gateway_info", "routes",
    };

    public static readonly IReadOnlySet<string> Updatable = new HashSet<string>
    {
        "name", "description", "admin_state_up", "external_gateway_info", "routes",
    };

    public static readonly IReadOnlySet<string> Creatable = new HashSet<string>(Projects.Attributes)
    {
        "name", "description", "admin_state_up", "external_gateway_info", "tags",
    };

    public static readonly IReadOnlySet<string> GatewayKeys = new HashSet<string> { "network_id", "enable_snat", "external_fixed_ips" };

    public static readonly IReadOnlySet<string> RouteKeys = new HashSet<string> { "destination", "nexthop" };

    public static JsonObject Render(Versioned<Router> stored)
    {
        var r = stored.Value;
        var json = StandardAttributes.Render(stored, r.Id, r.ProjectId, r.Description);
        json["name"] = r.Name;
        json["admin_state_up"] = r.AdminStateUp;
        // Nothing has to be programmed for a router to work (every host routes its own workloads).
        json["status"] = "ACTIVE";
        json["external_gateway_info"] = r.Gateway is { } g
            ? new JsonObject
            {
                ["network_id"] = g.NetworkId,
                ["enable_snat"] = g.EnableSnat,
                ["external_fixed_ips"] = StandardAttributes.Array(g.FixedIps.Select(f =>
                    (JsonNode)new JsonObject { ["subnet_id"] = f.SubnetId, ["ip_address"] = f.Address.ToString() })),
            }
            : null;
        json["routes"] = StandardAttributes.Array(r.Routes.Select(route =>
            (JsonNode)new JsonObject { ["destination"] = route.Destination.ToString(), ["nexthop"] = route.NextHop.ToString() }));
        return json;
    }

    /// <summary>
    /// <c>routes</c> (extraroute): each a destination CIDR and a next hop of its family, none twice, at most
    /// <see cref="Router.MaxRoutes"/>; null (or an empty list) clears them. Where the next hop may be is the caller's check.
    /// </summary>
    public static ValueList<HostRoute> Routes(RequestObject body)
    {
        if (body.IsNull("routes")) return ValueList<HostRoute>.Empty;
        var entries = body.ObjectList("routes", RouteKeys)!;
        var routes = new List<HostRoute>();
        for (var i = 0; i < entries.Count; i++)
        {
            var destination = entries[i].Prefix("destination") ?? throw RequestObject.Invalid(entries[i].Field("destination"), "is required");
            var nexthop = entries[i].Address("nexthop") ?? throw RequestObject.Invalid(entries[i].Field("nexthop"), "is required");
            if (!destination.IsCanonical)
                throw RequestObject.Invalid(entries[i].Field("destination"), $"'{destination}' isn't a recognized IP subnet cidr, '{destination.Network}' is recommended");
            if (nexthop.Version() != destination.Version)
                throw InvalidRoutes(body, $"the nexthop {nexthop} is not of the destination {destination}'s family");
            var route = new HostRoute(destination, nexthop);
            if (routes.Contains(route)) throw RequestObject.Invalid(entries[i].Path, $"Duplicate hostroute '{destination} via {nexthop}'");
            routes.Add(route);
        }
        if (routes.Count > Router.MaxRoutes)
            throw ApiException.BadRequest($"Unable to complete operation for routes. The number of routes exceeds the maximum {Router.MaxRoutes}.", "RoutesExhausted");
        return routes.ToValueList();
    }

    /// <summary>Neutron's InvalidRoutes (400), naming the routes as the request gave them.</summary>
    public static ApiException InvalidRoutes(RequestObject body, string reason) =>
        ApiException.BadRequest($"Invalid format for routes: {body.Body["routes"]?.ToJsonString()}, {reason}.", "InvalidRoutes");
}
