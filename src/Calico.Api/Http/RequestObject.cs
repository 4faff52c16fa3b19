using System.Globalization;
using System.Net;
using System.Text.Json;
using Calico.Api.Auth;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Api.Http;

/// <summary>
/// The attributes of one request body, read with Neutron's conversions (a bool may be "true", an integer "22").
/// Every refusal names the attribute, and nothing is read that was not declared (see <see cref="Accept"/>). It
/// carries the caller, so that no request's attributes are accepted without the policy's say.
/// </summary>
internal sealed class RequestObject(JsonObject body, Caller caller, string path = "")
{
    public JsonObject Body => body;

    public bool Has(string name) => body.ContainsKey(name);

    public IEnumerable<string> Names => body.Select(p => p.Key);

    /// <summary>
    /// Refuses attributes outside <paramref name="allowed"/>: unknown ones as unrecognized, known ones (in
    /// <paramref name="known"/>) as not settable in this request, like Neutron; then, with 403, admin-only ones
    /// that the caller may not set (<see cref="Policy.RequireAdminForAttributes"/>).
    /// </summary>
    public void Accept(IReadOnlySet<string> allowed, IReadOnlySet<string> known, bool update)
    {
        var unknown = Names.Where(n => !known.Contains(n)).ToList();
        if (unknown.Count > 0) throw ApiException.BadRequest($"Unrecognized attribute(s) '{string.Join("', '", unknown)}'.");
        var readOnly = Names.Where(n => !allowed.Contains(n)).ToList();
        if (readOnly.Count > 0)
            throw ApiException.BadRequest(update
                ? $"Cannot update read-only attribute(s) '{string.Join("', '", readOnly)}'."
                : $"Attribute(s) '{string.Join("', '", readOnly)}' cannot be set on create.");
        Policy.RequireAdminForAttributes(caller, this, update);
    }

    public bool IsNull(string name) => body.TryGetPropertyValue(name, out var v) && v is null;

    public string? String(string name, bool nullable = false)
    {
        if (!body.TryGetPropertyValue(name, out var node)) return null;
        if (node is null) return nullable ? null : throw Invalid(Field(name), "must not be null");
        if (node is JsonValue v && v.TryGetValue<string>(out var s)) return s;
        throw Invalid(Field(name), $"'{node.ToJsonString()}' is not a string");
    }

    /// <summary>
    /// The id of another resource the request names: refused, naming the attribute, when no resource could have it
    /// (empty, blank, odd characters, too long), before anything looks it up.
    /// </summary>
    public string? Id(string name, bool nullable = false) => CheckId(String(name, nullable), Field(name));

    /// <summary>A list of ids (<c>security_groups</c>), each checked like <see cref="Id"/>.</summary>
    public IReadOnlyList<string>? IdList(string name) =>
        StringList(name) is { } ids ? [.. ids.Select((id, i) => CheckId(id, Field($"{name}[{i}]"))!)] : null;

    private static string? CheckId(string? id, string field) =>
        id is not null && Validator.IdProblem(id) is { } reason ? throw Invalid(field, reason) : id;

    public bool? Bool(string name)
    {
        if (!body.TryGetPropertyValue(name, out var node)) return null;
        if (node is JsonValue v)
        {
            if (v.TryGetValue<bool>(out var b)) return b;
            if (v.TryGetValue<string>(out var s) && bool.TryParse(s, out b)) return b;
        }
        throw Invalid(Field(name), $"'{node?.ToJsonString() ?? "null"}' is not a valid boolean value");
    }

    public int? Int(string name, bool nullable = false)
    {
        if (!body.TryGetPropertyValue(name, out var node)) return null;
        if (node is null) return nullable ? null : throw Invalid(Field(name), "must not be null");
        if (node is JsonValue v)
        {
            if (v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var i)) return i;
            if (v.TryGetValue<string>(out var s) && int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out i)) return i;
        }
        throw Invalid(Field(name), $"'{node.ToJsonString()}' is not an integer");
    }

    public IPAddress? Address(string name, bool nullable = false) => ParseAddress(String(name, nullable), Field(name));

    public IpPrefix? Prefix(string name, bool nullable = false)
    {
        var text = String(name, nullable);
        if (text is null) return null;
        return IpPrefix.TryParse(text, out var prefix, out var error) ? prefix : throw Invalid(Field(name), error);
    }

    public JsonArray? Array(string name, bool nullable = false)
    {
        if (!body.TryGetPropertyValue(name, out var node)) return null;
        if (node is null) return nullable ? null : throw Invalid(Field(name), "must not be null");
        return node as JsonArray ?? throw Invalid(Field(name), $"'{node.ToJsonString()}' is not a list");
    }

    public IReadOnlyList<string>? StringList(string name)
    {
        var array = Array(name);
        if (array is null) return null;
        return [.. array.Select((item, i) => item is JsonValue v && v.TryGetValue<string>(out var s)
            ? s : throw Invalid(Field($"{name}[{i}]"), $"'{item?.ToJsonString() ?? "null"}' is not a string"))];
    }

    /// <summary>A list of tags: strings of 1..255 characters, none twice (Neutron's standard-attr-tag); null when absent.</summary>
    public ValueList<string>? Tags(string name = "tags")
    {
        var tags = StringList(name);
        if (tags is null) return null;
        if (ResourceTags.Validate(tags, Field(name)) is { Count: > 0 } errors) throw new InvalidInputException(errors);
        return tags.ToValueList();
    }

    /// <summary>The elements of a list of objects, each checked against <paramref name="keys"/>.</summary>
    public IReadOnlyList<RequestObject>? ObjectList(string name, IReadOnlySet<string> keys)
    {
        var array = Array(name);
        if (array is null) return null;
        var result = new List<RequestObject>();
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject o) throw Invalid(Field($"{name}[{i}]"), $"'{array[i]?.ToJsonString() ?? "null"}' is not an object");
            var unknown = o.Select(p => p.Key).Where(k => !keys.Contains(k)).ToList();
            if (unknown.Count > 0) throw Invalid(Field($"{name}[{i}]"), $"unrecognized key(s) '{string.Join("', '", unknown)}'; expected {string.Join(", ", keys)}");
            result.Add(new RequestObject(o, caller, Field($"{name}[{i}]")));
        }
        return result;
    }

    /// <summary>The attribute's full path in the request, e.g. <c>host_routes[0].destination</c>, for error messages.</summary>
    public string Field(string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>Where this object is in the request, e.g. <c>extra_dhcp_opts[1]</c> (empty for the resource itself).</summary>
    public string Path => path;

    public static IPAddress? ParseAddress(string? text, string field) =>
        text is null ? null : IpAddresses.TryParse(text, out var address) ? address : throw Invalid(field, $"'{text}' is not a valid IP address");

    public static InvalidInputException Invalid(string field, string reason) => new(field, reason);
}
