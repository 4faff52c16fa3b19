using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Resources;

namespace Calico.Api.Networks;

/// <summary>
/// /v2.0/segments, read only: each network is one segment (its provider type and physical network, no segmentation
/// id), as a routed Calico network has nothing more to segment. Admin only, as Neutron's policy has it. A segment's id
/// is derived from its network's, so it stays the same without being stored.
/// </summary>
internal sealed class SegmentEndpoints(ResourceStore store) : IReadableCollection
{
    private static readonly IReadOnlySet<string> Attributes = new HashSet<string>(StandardAttributes.Names)
    {
        "name", "network_id", "network_type", "physical_network", "segmentation_id",
    };

    public static ApiException NotFound(string id) => ApiException.NotFound("SegmentNotFound", $"Segment {id} could not be found.");

    public static string IdFor(string networkId) => Ids.NameBased("segment", networkId);

    public async Task<IResult> ListAsync(HttpContext http)
    {
        Projects.RequireAdmin(Caller.Of(http), "Listing segments");
        var query = new ListQuery(http.Request.Query, Attributes);
        var networks = await store.ListAsync<Network>(GrainTypes.Network, http.RequestAborted);
        return NeutronResults.List(http, "segments", networks.Select(Render), query);
    }

    public async Task<IResult> ShowAsync(HttpContext http, string id)
    {
        Projects.RequireAdmin(Caller.Of(http), "Showing a segment");
        var networks = await store.ListAsync<Network>(GrainTypes.Network, http.RequestAborted);
        var network = networks.FirstOrDefault(n => IdFor(n.Value.Id) == id) ?? throw NotFound(id);
        return NeutronResults.One("segment", new ListQuery(http.Request.Query, Attributes).Project(Render(network)));
    }

    private static JsonObject Render(Versioned<Network> stored)
    {
        var n = stored.Value;
        var json = StandardAttributes.Render(stored, IdFor(n.Id), n.ProjectId, "");
        json["name"] = null;
        json["network_id"] = n.Id;
        json["network_type"] = n.NetworkType;
        json["physical_network"] = n.PhysicalNetwork;
        json["segmentation_id"] = null;
        return json;
    }
}
