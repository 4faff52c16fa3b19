using System.Globalization;
using Calico.Grains;

namespace Calico.Api.Http;

/// <summary>Attributes every Neutron resource carries (standard-attr-*, project-id), rendered the same everywhere.</summary>
internal static class StandardAttributes
{
    public static readonly IReadOnlySet<string> Names = new HashSet<string>
    {
        "id", "project_id", "tenant_id", "revision_number", "created_at", "updated_at", "description", "tags",
    };

    public static JsonObject Render<T>(Versioned<T> stored, string id, string projectId, string? description) where T : class => new()
    {
        ["id"] = id,
        ["project_id"] = projectId,
        ["tenant_id"] = projectId,
        ["description"] = description ?? "",
        ["revision_number"] = stored.Revision,
        ["created_at"] = Time(stored.CreatedAt == default ? stored.UpdatedAt : stored.CreatedAt),
        ["updated_at"] = Time(stored.UpdatedAt),
        ["tags"] = Strings(stored.TagList),
    };

    /// <summary>Neutron's timestamps: UTC, seconds, 'Z'.</summary>
    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static JsonArray Array(IEnumerable<JsonNode?> items) => new([.. items]);

    public static JsonArray Strings(IEnumerable<string> items) => new([.. items.Select(s => (JsonNode?)JsonValue.Create(s))]);
}
