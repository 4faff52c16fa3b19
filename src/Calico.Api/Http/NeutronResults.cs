using Calico.Api.Listing;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.WebUtilities;

namespace Calico.Api.Http;

/// <summary>Neutron's response shapes: the singular key for one resource, the plural key (and paging links) for a list.</summary>
internal static class NeutronResults
{
    public static IResult One(string singular, JsonObject item, int status = StatusCodes.Status200OK) =>
        Results.Json(new JsonObject { [singular] = item }, statusCode: status);

    public static IResult Created(string singular, JsonObject item) => One(singular, item, StatusCodes.Status201Created);

    public static IResult List(HttpContext http, string plural, IEnumerable<JsonObject> items, ListQuery query)
    {
        var (page, next) = query.Apply(items);
        var body = new JsonObject { [plural] = new JsonArray([.. page]) };
        if (next is not null)
        {
            var url = QueryHelpers.AddQueryString(UriHelper.BuildAbsolute(http.Request.Scheme, http.Request.Host, http.Request.PathBase, http.Request.Path),
                http.Request.Query.Where(q => q.Key != "marker").SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)))
                    .Append(new("marker", next)));
            body[plural + "_links"] = new JsonArray(new JsonObject { ["rel"] = "next", ["href"] = url });
        }
        return Results.Json(body);
    }
}
