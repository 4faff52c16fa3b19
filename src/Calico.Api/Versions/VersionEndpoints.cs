using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Routing;

namespace Calico.Api.Versions;

/// <summary>
/// Version discovery, which the openstack CLI reads first: <c>GET /</c> names v2.0 and where it is, <c>GET /v2.0/</c>
/// the collections. Neither needs a token (as in Neutron).
/// </summary>
internal static class VersionEndpoints
{
    public static readonly IReadOnlyList<(string Singular, string Collection)> Collections =
    [
        ("network", "networks"), ("subnet", "subnets"), ("port", "ports"), ("security_group", "security-groups"),
        ("security_group_rule", "security-group-rules"), ("floatingip", "floatingips"), ("agent", "agents"), ("extension", "extensions"),
    ];

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext http) => Results.Json(new JsonObject
        {
            ["versions"] = new JsonArray(new JsonObject
            {
                ["id"] = "v2.0",
                ["status"] = "CURRENT",
                ["links"] = new JsonArray(new JsonObject { ["rel"] = "self", ["href"] = Base(http) + "/v2.0/" }),
            }),
        }));
        app.MapGet("/v2.0", (HttpContext http) => Results.Json(new JsonObject
        {
            ["resources"] = new JsonArray([.. Collections.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Singular,
                ["collection"] = c.Collection,
                ["links"] = new JsonArray(new JsonObject { ["rel"] = "self", ["href"] = $"{Base(http)}/v2.0/{c.Collection}" }),
            })]),
        }));
    }

    private static string Base(HttpContext http) => UriHelper.BuildAbsolute(http.Request.Scheme, http.Request.Host, http.Request.PathBase).TrimEnd('/');
}
