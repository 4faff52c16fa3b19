namespace Calico.Api.Tests.Fuzz;

/// <summary>
/// The resources one seed's run created and still believes exist, by collection: what the generator picks real ids
/// from, so that updates and deletes reach real resources (and references in bodies point at real ones). Only this
/// run's own resources, so a seed generates the same requests whatever other runs left in the store.
/// </summary>
public sealed class FuzzWorld
{
    private readonly Dictionary<string, List<string>> _ids = [];

    /// <summary>The project-owned external network floating IPs come from (created by the admin).</summary>
    public string ExternalNetwork { get; set; } = "";

    public IReadOnlyList<string> Ids(string collection) => _ids.TryGetValue(collection, out var ids) ? ids : [];

    public void Add(string collection, string id)
    {
        if (!_ids.TryGetValue(collection, out var ids)) _ids[collection] = ids = [];
        if (!ids.Contains(id)) ids.Add(id);
    }

    public void Remove(string collection, string id)
    {
        if (_ids.TryGetValue(collection, out var ids)) ids.Remove(id);
    }

    /// <summary>Takes note of what a successful reply created or deleted.</summary>
    public void Learn(HostileRequest request, int status, JsonNode? body)
    {
        var id = request.Path.Split('?')[0].Split('/') is [_, "v2.0", _, var last] ? last : null;
        if (request.Method == "DELETE" && status == 204 && id is not null)
        {
            Remove(request.Collection, Uri.UnescapeDataString(id));
            return;
        }
        if (request.Method != "POST" || status != 201 || body is not JsonObject o) return;
        // One resource under the singular key, or a bulk create's list under the plural one.
        foreach (var value in o.SelectMany(p => p.Value is JsonArray list ? list : (IEnumerable<JsonNode?>)[p.Value]))
        {
            if (value?["id"] is not JsonValue v || !v.TryGetValue<string>(out var created)) continue;
            Add(request.Collection, created);
            // A new group comes with its egress rules.
            foreach (var rule in value["security_group_rules"] as JsonArray ?? [])
                if ((string?)rule?["id"] is { } ruleId) Add("security-group-rules", ruleId);
        }
    }
}
