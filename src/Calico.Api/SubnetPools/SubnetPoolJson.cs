using Calico.Api.Http;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Api.SubnetPools;

/// <summary>A subnet pool as Neutron shows it, and the request attributes that set one.</summary>
internal static class SubnetPoolJson
{
    public static readonly IReadOnlySet<string> Attributes = new HashSet<string>(StandardAttributes.Names)
    {
        "name", "prefixes", "default_prefixlen", "min_prefixlen", "max_prefixlen", "default_quota", "shared",
        "is_default", "address_scope_id", "ip_version",
    };

    public static readonly IReadOnlySet<string> Updatable = new HashSet<string>
    {
        "name", "description", "prefixes", "default_prefixlen", "min_prefixlen", "max_prefixlen", "default_quota",
        "is_default", "address_scope_id",
    };

    public static readonly IReadOnlySet<string> Creatable = new HashSet<string>(Updatable.Concat(Projects.Attributes)) { "shared" };

    public static JsonObject Render(Versioned<SubnetPool> stored)
    {
        var p = stored.Value;
        var json = StandardAttributes.Render(stored, p.Id, p.ProjectId, p.Description);
        json["name"] = p.Name;
        json["prefixes"] = StandardAttributes.Strings(p.Prefixes.Select(x => x.ToString()));
        json["default_prefixlen"] = p.DefaultPrefixLength;
        json["min_prefixlen"] = p.MinPrefixLength;
        json["max_prefixlen"] = p.MaxPrefixLength;
        json["default_quota"] = p.DefaultQuota;
        json["shared"] = p.Shared;
        json["is_default"] = p.IsDefault;
        json["address_scope_id"] = null;
        json["ip_version"] = p.IpVersion;
        return json;
    }

    /// <summary>
    /// The request's attributes applied to <paramref name="current"/>; on create (<paramref name="current"/> without
    /// prefixes) the bounds default as Neutron's do: min 8 (IPv4) or 64 (IPv6), max the address length, default = min.
    /// </summary>
    public static SubnetPool Apply(RequestObject body, SubnetPool current)
    {
        if (body.String("address_scope_id", nullable: true) is { } scope)
            throw ApiException.NotFound("AddressScopeNotFound", $"Address scope {scope} could not be found (this cloud has no address scopes).");
        var creating = current.Prefixes.IsEmpty;
        var prefixes = body.Has("prefixes") ? Prefixes(body) : current.Prefixes;
        if (!creating && prefixes[0].Version != current.IpVersion)
            throw ApiException.BadRequest("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.", "PrefixVersionMismatch");
        var version = prefixes[0].Version;
        var min = body.Int("min_prefixlen") ?? (creating ? SubnetPool.DefaultMinFor(version) : current.MinPrefixLength);
        var max = body.Int("max_prefixlen") ?? (creating ? (version == 6 ? 128 : 32) : current.MaxPrefixLength);
        var next = current with
        {
            Name = body.String("name") ?? current.Name,
            Description = body.String("description") ?? current.Description,
            Prefixes = prefixes,
            MinPrefixLength = min,
            MaxPrefixLength = max,
            DefaultPrefixLength = body.Int("default_prefixlen") ?? (creating ? min : current.DefaultPrefixLength),
            DefaultQuota = body.Has("default_quota") ? body.Int("default_quota", nullable: true) : current.DefaultQuota,
            Shared = body.Bool("shared") ?? current.Shared,
            IsDefault = body.Bool("is_default") ?? current.IsDefault,
        };
        if (!creating && !current.Prefixes.All(next.Covers))
            throw ApiException.BadRequest("Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes.", "IllegalSubnetPoolPrefixUpdate");
        return next;
    }

    /// <summary>The request's prefixes (<paramref name="name"/>), one IP version, merged as Neutron compacts them.</summary>
    public static ValueList<IpPrefix> Prefixes(RequestObject body, string name = "prefixes")
    {
        var texts = body.StringList(name) ?? throw RequestObject.Invalid(name, "must not be null");
        if (texts.Count == 0) throw ApiException.BadRequest("Empty subnet pool prefix list.", "EmptySubnetPoolPrefixList");
        var parsed = texts.Select((t, i) => IpPrefix.TryParse(t, out var p, out var error) ? p : throw RequestObject.Invalid($"{name}[{i}]", error)).ToList();
        if (parsed.Select(p => p.Version).Distinct().Count() > 1)
            throw ApiException.BadRequest("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.", "PrefixVersionMismatch");
        return SubnetPool.Merge(parsed);
    }
}
