using System.Globalization;
using Calico.Api.Http;

namespace Calico.Api.Listing;

/// <summary>
/// Neutron's list query: attribute filters (<c>?name=a&amp;name=b</c> means a or b; <c>?fixed_ips=ip_address=10.0.0.3</c>
/// matches inside lists of objects, <c>?fixed_ips=ip_address_substr=10.0.0</c> part of an address), <c>fields=</c>, <c>sort_key</c>/<c>sort_dir</c> and <c>limit</c>/<c>marker</c>
/// paging with a next link. A filter on an attribute the resource does not have is refused (Neutron's
/// filter-validation), so a typo never returns everything.
/// </summary>
internal sealed class ListQuery
{
    private static readonly HashSet<string> Reserved = ["fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"];

    /// <summary>
    /// openstacksdk asks for some fields by its own attribute names (the CLI's <c>port list --long</c> sends
    /// <c>fields=security_group_ids</c>); each stands for the API attribute it maps to.
    /// </summary>
    private static readonly Dictionary<string, string> FieldAliases = new(StringComparer.Ordinal)
    {
        ["security_group_ids"] = "security_groups",
        ["binding_host_id"] = "binding:host_id",
        ["is_admin_state_up"] = "admin_state_up",
        ["is_router_external"] = "router:external",
        ["is_shared"] = "shared",
        ["is_port_security_enabled"] = "port_security_enabled",
        ["is_alive"] = "alive",
    };

    /// <summary>Neutron's tag filters, each a comma-separated list: all of them, any, not all, none.</summary>
    private static readonly HashSet<string> TagFilters = ["tags", "tags-any", "not-tags", "not-tags-any"];

    private readonly Dictionary<string, List<string>> _filters = [];
    private readonly List<(string Key, HashSet<string> Tags)> _tagFilters = [];
    private readonly HashSet<string> _fields = [];
    private readonly List<(string Key, bool Descending)> _sort = [];
    private readonly int? _limit;
    private readonly string? _marker;

    public ListQuery(IQueryCollection query, IReadOnlySet<string> attributes)
    {
        foreach (var (key, values) in query)
        {
            if (Reserved.Contains(key)) continue;
            if (TagFilters.Contains(key) && attributes.Contains("tags"))
            {
                _tagFilters.Add((key, [.. values.OfType<string>().SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries))]));
                continue;
            }
            if (!attributes.Contains(key)) throw ApiException.BadRequest($"[{key}] is invalid attribute for filtering.", "HTTPBadRequest");
            _filters[key] = [.. values.OfType<string>()];
        }
        foreach (var f in query["fields"].OfType<string>().SelectMany(f => f.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            _fields.Add(FieldAliases.GetValueOrDefault(f, f));
        var keys = query["sort_key"].OfType<string>().ToList();
        var dirs = query["sort_dir"].OfType<string>().ToList();
        for (var i = 0; i < keys.Count; i++)
        {
            if (!attributes.Contains(keys[i])) throw ApiException.BadRequest($"'{keys[i]}' is an invalid attribute for sort_key.");
            var dir = i < dirs.Count ? dirs[i] : "asc";
            if (dir is not ("asc" or "desc")) throw ApiException.BadRequest($"sort_dir '{dir}' must be 'asc' or 'desc'.");
            _sort.Add((keys[i], dir == "desc"));
        }
        if (query["limit"].ToString() is { Length: > 0 } limit)
        {
            if (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var l))
                throw ApiException.BadRequest($"Bad limit request: limit '{limit}' must be a non-negative integer.");
            _limit = l == 0 ? null : l;
        }
        _marker = query["marker"].ToString() is { Length: > 0 } m ? m : null;
    }

    /// <summary>The values a filter on <paramref name="attribute"/> accepts (any of them), or null when there is no such filter.</summary>
    public IReadOnlyList<string>? Values(string attribute) => _filters.GetValueOrDefault(attribute);

    /// <summary>The filtered, sorted page of <paramref name="items"/>, and whether more follow it.</summary>
    public (IReadOnlyList<JsonObject> Page, string? NextMarker) Apply(IEnumerable<JsonObject> items)
    {
        var matching = items.Where(Matches);
        IOrderedEnumerable<JsonObject> sorted = _sort.Count == 0
            ? matching.OrderBy(o => Text(o["id"]), StringComparer.Ordinal)
            : _sort[0].Descending ? matching.OrderByDescending(o => Text(o[_sort[0].Key]), StringComparer.Ordinal)
                                  : matching.OrderBy(o => Text(o[_sort[0].Key]), StringComparer.Ordinal);
        foreach (var (key, descending) in _sort.Skip(1))
            sorted = descending ? sorted.ThenByDescending(o => Text(o[key]), StringComparer.Ordinal) : sorted.ThenBy(o => Text(o[key]), StringComparer.Ordinal);
        var list = sorted.ThenBy(o => Text(o["id"]), StringComparer.Ordinal).ToList();
        if (_marker is not null)
        {
            var at = list.FindIndex(o => Text(o["id"]) == _marker);
            if (at < 0) throw ApiException.NotFound("HTTPNotFound", $"Marker {_marker} could not be found.");
            list = list[(at + 1)..];
        }
        string? next = null;
        if (_limit is { } limit && list.Count > limit)
        {
            list = list[..limit];
            next = Text(list[^1]["id"]);
        }
        return (list.Select(Project).ToList(), next);
    }

    /// <summary>Only the requested fields (all when none are requested), as <c>fields=</c> asks.</summary>
    public JsonObject Project(JsonObject item)
    {
        if (_fields.Count == 0) return item;
        var result = new JsonObject();
        foreach (var (key, value) in item)
            if (_fields.Contains(key)) result[key] = value?.DeepClone();
        return result;
    }

    private bool Matches(JsonObject item)
    {
        if (_tagFilters.Count > 0)
        {
            var tags = (item["tags"] as JsonArray ?? []).Select(t => Text(t)).ToHashSet(StringComparer.Ordinal);
            foreach (var (key, wanted) in _tagFilters)
            {
                var matches = key switch
                {
                    "tags" => wanted.IsSubsetOf(tags),
                    "tags-any" => wanted.Overlaps(tags),
                    "not-tags" => !wanted.IsSubsetOf(tags),
                    _ => !wanted.Overlaps(tags),
                };
                if (!matches) return false;
            }
        }
        foreach (var (key, wanted) in _filters)
        {
            var value = item[key];
            if (!wanted.Any(w => Matches(value, w))) return false;
        }
        return true;
    }

    private static bool Matches(JsonNode? value, string wanted)
    {
        switch (value)
        {
            case JsonArray array:
                // ?fixed_ips=ip_address=10.0.0.3 looks inside objects; ?security_groups=<id> at plain elements.
                var eq = wanted.IndexOf('=');
                if (eq > 0 && array.Any(e => e is JsonObject))
                {
                    var (k, v) = (wanted[..eq], wanted[(eq + 1)..]);
                    // ?fixed_ips=ip_address_substr=10.0.0 (ip-substring-filtering): part of an address.
                    return k == "ip_address_substr"
                        ? array.OfType<JsonObject>().Any(o => Text(o["ip_address"]).Contains(v, StringComparison.OrdinalIgnoreCase))
                        : array.OfType<JsonObject>().Any(o => Text(o[k]) == v);
                }
                return array.Any(e => Matches(e, wanted));
            case JsonObject:
                return false;
            case null:
                return wanted.Length == 0 || wanted is "None" or "null";
            default:
                var text = Text(value);
                return value.GetValueKind() is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False
                    ? string.Equals(text, wanted, StringComparison.OrdinalIgnoreCase)
                    : text == wanted;
        }
    }

    private static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };
}
