using System.Text;

namespace Calico.Api.Tests.Fuzz;

/// <summary>
/// Requests as a careless or hostile client sends them, drawn from one <see cref="Random"/>: every collection the API
/// serves and each of create, update, list, show and delete, with random types in every field, unknown and read-only
/// attributes, broken JSON, wrong envelopes and content types, odd queries and odd ids, and the tags sub-resource of
/// the collections that have one (odd tags in paths and bodies, the tag filters). About one in seven is a
/// plausible request meant to succeed, so that the store keeps changing and updates and deletes reach real resources.
/// </summary>
public sealed class HostileRequestGenerator(Random random, FuzzWorld world, int seed)
{
    private static readonly string[] Standard = ["id", "project_id", "tenant_id", "revision_number", "created_at", "updated_at", "description", "tags"];

    /// <summary>What a client sees of each collection: its singular key, its attributes, and which operations it has.</summary>
    private sealed record Collection(string Name, string Singular, string[] Attributes, bool Writable, bool Updatable);

    private static readonly Collection[] Collections =
    [
        new("networks", "network", [.. Standard, "name", "admin_state_up", "mtu", "shared", "router:external", "status", "subnets",
            "l2_adjacency", "port_security_enabled", "availability_zones", "availability_zone_hints", "ipv4_address_scope", "ipv6_address_scope"], true, true),
        new("subnets", "subnet", [.. Standard, "name", "network_id", "ip_version", "cidr", "gateway_ip", "allocation_pools", "dns_nameservers",
            "host_routes", "enable_dhcp", "ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id", "service_types", "segment_id"], true, true),
        new("ports", "port", [.. Standard, "name", "network_id", "mac_address", "admin_state_up", "status", "device_id", "device_owner",
            "fixed_ips", "security_groups", "allowed_address_pairs", "binding:host_id", "binding:vif_type", "binding:vif_details",
            "binding:vnic_type", "binding:profile", "port_security_enabled"], true, true),
        new("security-groups", "security_group", [.. Standard, "name", "security_group_rules", "stateful"], true, true),
        new("security-group-rules", "security_group_rule", [.. Standard, "security_group_id", "direction", "ethertype", "protocol",
            "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id", "remote_address_group_id"], true, false),
        new("floatingips", "floatingip", [.. Standard, "floating_ip_address", "floating_network_id", "router_id", "port_id",
            "fixed_ip_address", "status", "subnet_id"], true, true),
        new("agents", "agent", ["id", "agent_type", "binary", "host", "topic", "alive", "admin_state_up", "availability_zone",
            "heartbeat_timestamp", "started_at", "created_at", "description", "configurations", "resources_synced"], false, false),
    ];

    /// <summary>Attributes that name another resource: where an empty or odd id once reached a grain lookup.</summary>
    private static readonly string[] IdFields = ["network_id", "security_group_id", "remote_group_id", "port_id", "subnet_id", "floating_network_id", "security_groups"];

    private static readonly string[] UnknownFields = ["colour", "", " ", "NAME", "name ", "id\u0000", "network", "ports", "__proto__", "binding:host", "ネット"];

    /// <summary>Ids no resource can have, as text (for bodies); <see cref="OddPathIds"/> are their forms in a path.</summary>
    private static readonly string[] OddIds =
    [
        "", " ", "  ", "\t", "\n", "\u0000", "a\u0000b", " x", "x ", "ネットワーク", "💥", "../../etc/passwd", "..", "/", "a/b", "%00", "%20",
        new string('a', 256), new string('b', 5000), "a b", "{id}", "*", "'; DROP TABLE x; --", "\u200b", "\ufeff", "\u00e9",
    ];

    private static readonly string[] OddPathIds =
    [
        "%20", "%20%20", "%09", "%0A", "%00", "a%00b", "%2F", "..", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "%2e%2e%2f", "a%20b",
        "%E3%83%8D%E3%83%83%E3%83%88", "%F0%9F%92%A5", "%FF", "%C0%AF", "%", "%zz", "%25", new string('a', 256), new string('c', 5000),
        "x;y", "%7Bid%7D", "*", "'%3B", "a:b", "null", "00000000-0000-0000-0000-000000000000", "%E2%80%8B", "%EF%BB%BF", ".",
    ];

    private static readonly string[] OddStrings =
    [
        "", " ", "\t", "\u0000", "ネットワーク", "💥", "../../etc/passwd", "%00", "null", "true", "false", "1", "-1", "1e309", "0x10",
        "<script>alert(1)</script>", "${jndi:ldap://x}", new string('x', 256), new string('y', 20_000), "10.0.0.1", "10.0.0.0/8",
        "10.0.0.256", "0.0.0.0/0", "::1", "fe80::/64", "::/0", "fa:16:3e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00",
        "ingress", "egress", "IPv4", "IPv6", "tcp", "icmp", "255", "normal", "direct", "ACTIVE", "default", "DEFAULT", "\ud800",
    ];

    private static readonly string?[] ContentTypes =
    [
        null, "text/plain", "application/xml", "application/x-www-form-urlencoded", "application/json; charset=utf-16",
        "multipart/form-data; boundary=x", "application/json-patch+json", "*/*", "application/octet-stream", "application/json;;;",
    ];

    private static readonly string[] Reserved = ["fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"];

    private int _names;

    /// <summary>The n-th /24 of a seed's own range (10.seed.n.0/24), so that runs of up to 256 seeds never overlap each other's subnets.</summary>
    public static string Cidr(int seed, int n) => $"10.{seed % 256}.{n % 256}.0/24";

    public HostileRequest Next()
    {
        var collection = Pick(Collections);
        if (collection.Writable && random.Next(7) == 0) return Plausible(collection);
        return random.Next(20) switch
        {
            < 3 => List(collection),
            < 6 => Show(collection),
            < 11 => Create(collection),
            < 15 => Update(collection),
            < 18 => Delete(collection),
            18 when Taggable.Contains(collection.Name) => Tags(collection),
            _ => Odd(collection),
        };
    }

    private static readonly HashSet<string> Taggable = ["networks", "subnets", "ports", "security-groups", "floatingips"];

    /// <summary>The tags sub-resource and the tag filters: odd tags in paths and bodies, real and odd resources.</summary>
    private HostileRequest Tags(Collection c)
    {
        var tags = $"/v2.0/{c.Name}/{PathId(c)}/tags";
        string Tag() => random.Next(3) == 0 ? Pick("fuzz", "a", "b") : random.Next(2) == 0 ? Escape(Pick(OddStrings)) : Pick(OddPathIds);
        return random.Next(8) switch
        {
            0 or 1 => Request("PUT", tags, c, random.Next(4) == 0 ? BrokenJson(c) : Utf8(random.Next(3) switch
            {
                0 => new JsonObject { ["tags"] = new JsonArray([.. Enumerable.Range(0, random.Next(4)).Select(_ => (JsonNode?)JsonValue.Create(Pick("fuzz", "a", "b")))]) },
                1 => new JsonObject { ["tags"] = Value(0) },
                _ => new JsonObject { [Pick("tags", "tag", "", "network")] = new JsonArray(Value(1), Value(1)), [Pick("tags", "x")] = Value(1) },
            })),
            2 => Request("PUT", $"{tags}/{Tag()}", c, random.Next(4) == 0 ? Body(c, update: true) : null),
            3 => Request("DELETE", $"{tags}/{Tag()}", c, null),
            4 => Request("GET", $"{tags}/{Tag()}", c, null),
            5 => Request("DELETE", tags, c, null),
            6 => Request("GET", $"/v2.0/{c.Name}?{Pick("tags", "tags-any", "not-tags", "not-tags-any")}={Tag()}", c, null),
            _ => Request("GET", tags, c, null),
        };
    }

    private HostileRequest List(Collection c) => Request("GET", $"/v2.0/{c.Name}{Query(c)}", c, null);

    private HostileRequest Show(Collection c) => Request("GET", $"/v2.0/{c.Name}/{PathId(c)}{(random.Next(3) == 0 ? Query(c) : "")}", c, null);

    private HostileRequest Delete(Collection c) => Request("DELETE", $"/v2.0/{c.Name}/{PathId(c)}", c, random.Next(8) == 0 ? Body(c, update: false) : null);

    private HostileRequest Create(Collection c) => Request("POST", $"/v2.0/{c.Name}", c, Body(c, update: false));

    private HostileRequest Update(Collection c) => Request("PUT", $"/v2.0/{c.Name}/{PathId(c)}", c, Body(c, update: true));

    /// <summary>Methods the collection does not have, paths next to the real ones, extensions, unknown collections.</summary>
    private HostileRequest Odd(Collection c)
    {
        var method = Pick("PATCH", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "GET", "TRACE");
        var path = random.Next(9) switch
        {
            0 => $"/v2.0/{c.Name}",
            1 => $"/v2.0/{c.Name}/{PathId(c)}",
            2 => $"/v2.0/{c.Name}/{PathId(c)}/{Pick(OddPathIds)}",
            3 => $"/v2.0/{c.Name}/",
            4 => $"/v2.0//{c.Name}",
            5 => $"/v2.0/{c.Name.ToUpperInvariant()}",
            6 => $"/v2.0/extensions/{(random.Next(3) == 0 ? "binding" : Pick(OddPathIds))}",
            7 => $"/v2.0/{Pick("routers", "networks.json", "v2.0", "", "%00", "..%2Fnetworks")}",
            _ => $"/{Pick("", "v2", "v3", "v2.0", "v2.0/", "healthz", "readyz")}",
        };
        return Request(method, path, c, random.Next(2) == 0 ? Body(c, update: method == "PUT") : null);
    }

    /// <summary>A request meant to succeed: a create, rename or delete of one of the run's own resources.</summary>
    private HostileRequest Plausible(Collection c)
    {
        var ids = world.Ids(c.Name);
        var op = ids.Count == 0 ? 0 : random.Next(4);
        if (op == 3)
            return new HostileRequest("DELETE", $"/v2.0/{c.Name}/{Pick(ids)}", Sender.Demo, null, null, Plausible: true, c.Name);
        var (method, path, attributes) = op is 1 or 2 && c.Updatable
            ? ("PUT", $"/v2.0/{c.Name}/{Pick(ids)}", new JsonObject { ["description"] = $"fuzz {seed} {_names++}" })
            : ("POST", $"/v2.0/{c.Name}", ValidCreate(c));
        var body = Encoding.UTF8.GetBytes(new JsonObject { [c.Singular] = attributes }.ToJsonString());
        return new HostileRequest(method, path, Sender.Demo, "application/json", body, Plausible: true, c.Name);
    }

    /// <summary>A create that should succeed for the collection (with ids of this run's resources where it needs them).</summary>
    private JsonObject ValidCreate(Collection c) => c.Name switch
    {
        "networks" => new() { ["name"] = $"fuzz-{seed}-{_names++}" },
        "subnets" => new() { ["network_id"] = Real("networks"), ["cidr"] = Cidr(seed, 1 + _names++), ["ip_version"] = 4 },
        "ports" => new() { ["network_id"] = Real("networks"), ["name"] = $"fuzz-{seed}-{_names++}" },
        "security-groups" => new() { ["name"] = $"fuzz-{seed}-{_names++}" },
        "security-group-rules" => Rule(random.Next(1, 65536)),
        "floatingips" => new() { ["floating_network_id"] = world.ExternalNetwork },
        _ => [],
    };

    private JsonObject Rule(int port) => new()
    {
        ["security_group_id"] = Real("security-groups"), ["direction"] = Pick("ingress", "egress"), ["protocol"] = "tcp",
        ["port_range_min"] = port, ["port_range_max"] = port,
    };

    private byte[] Body(Collection c, bool update)
    {
        return random.Next(10) switch
        {
            0 => BrokenJson(c),
            1 => Utf8(WrongEnvelope(c, Attributes(c, update))),
            _ => Utf8(new JsonObject { [c.Singular] = Attributes(c, update) }),
        };
    }

    /// <summary>A plausible start (a valid create, or nothing for an update) with one to three attributes set to anything.</summary>
    private JsonObject Attributes(Collection c, bool update)
    {
        var attributes = update || random.Next(4) == 0 ? new JsonObject() : ValidCreate(c);
        // A project nobody used yet (only an admin may name one): what a create does for a new project before it
        // refuses must be undone as well (its default security group, for one).
        if (!update && random.Next(4) == 0) attributes[Pick("project_id", "tenant_id")] = $"fuzz-{seed}-project-{_names++}";
        var changes = random.Next(1, 4);
        for (var i = 0; i < changes; i++)
        {
            var roll = random.Next(10);
            var field = roll switch
            {
                < 5 => Pick(c.Attributes),
                < 8 => Pick(IdFields),
                _ => Pick(UnknownFields),
            };
            if (roll is >= 5 and < 8 && random.Next(3) > 0)
                attributes[field] = field == "security_groups" ? new JsonArray(OddId()) : OddId();
            else if (random.Next(6) == 0)
                attributes.Remove(Pick(attributes.Select(p => p.Key).DefaultIfEmpty(field).ToArray()));
            else
                attributes[field] = Value(depth: 0);
        }
        return attributes;
    }

    private JsonNode WrongEnvelope(Collection c, JsonObject attributes) => random.Next(7) switch
    {
        0 => new JsonObject { [Pick(Collections).Singular + (random.Next(2) == 0 ? "" : "x")] = attributes },
        1 => new JsonObject { [c.Singular + "s"] = new JsonArray(attributes) },
        2 => new JsonObject { [c.Singular] = attributes, [Pick("extra", c.Singular + "s", "", "id")] = Value(0) },
        3 => new JsonObject { [c.Singular] = Value(0) },
        4 => new JsonArray(new JsonObject { [c.Singular] = attributes }),
        5 => attributes,
        _ => Value(0) ?? JsonValue.Create(0),
    };

    private byte[] BrokenJson(Collection c)
    {
        var valid = new JsonObject { [c.Singular] = Attributes(c, update: false) }.ToJsonString();
        return random.Next(14) switch
        {
            0 => Utf8(valid[..random.Next(valid.Length)]),
            1 => Utf8(valid + Pick("}", "]", ",", "x", " {}", "\u0000")),
            2 => Utf8(valid.Replace('"', '\'')),
            3 => Utf8(valid.Replace("{", "{/* c */", StringComparison.Ordinal)),
            4 => Utf8(valid.Replace("}", ",}", StringComparison.Ordinal)),
            5 => Utf8($"{{\"{c.Singular}\": {{\"mtu\": NaN, \"name\": Infinity}}}}"),
            6 => Utf8(new string('[', 5000) + new string(']', 5000)),
            7 => Utf8($"{{\"{c.Singular}\": " + new string('{', 40).Replace("{", "{\"a\":") + "1" + new string('}', 41)),
            8 => [.. Encoding.UTF8.GetBytes($"{{\"{c.Singular}\": {{\"name\": \""), 0xff, 0xfe, 0xc0, 0x80, .. Encoding.UTF8.GetBytes("\"}}")],
            9 => [0xef, 0xbb, 0xbf, .. Encoding.UTF8.GetBytes(valid)],
            10 => Utf8(Pick("", " ", "\n", "null", "true", "0", "\"\"", "[]", "{}")),
            11 => Utf8($"{{\"{c.Singular}\": {{}}, \"{c.Singular}\": {valid}}}"),
            12 => Utf8($"{{\"{c.Singular}\": {{\"mtu\": 1{new string('0', 400)}, \"port_range_min\": -1e400}}}}"),
            _ => Encoding.Unicode.GetBytes(valid),
        };
    }

    /// <summary>Any JSON value: odd and ordinary strings, numbers at and past every limit, booleans, null, lists and objects.</summary>
    private JsonNode? Value(int depth)
    {
        return random.Next(depth > 1 ? 5 : 8) switch
        {
            0 => JsonValue.Create(Pick(OddStrings)),
            1 => Number(),
            2 => JsonValue.Create(random.Next(2) == 0),
            3 => null,
            4 => JsonValue.Create(random.Next(2) == 0 ? OddId() : RealOfAnyKind()),
            5 => new JsonArray([.. Enumerable.Range(0, random.Next(4)).Select(_ => Value(depth + 1))]),
            6 => new JsonObject(Enumerable.Range(0, random.Next(3)).Select(_ => KeyValuePair.Create(
                Pick("subnet_id", "ip_address", "mac_address", "destination", "nexthop", "start", "end", "x", ""), Value(depth + 1)))
                .DistinctBy(p => p.Key)),
            _ => JsonValue.Create(Pick(OddStrings)),
        };
    }

    private JsonNode Number() => random.Next(12) switch
    {
        0 => JsonValue.Create(0),
        1 => JsonValue.Create(-1),
        2 => JsonValue.Create(int.MaxValue),
        3 => JsonValue.Create(int.MinValue),
        4 => JsonValue.Create(long.MaxValue),
        5 => JsonValue.Create(ulong.MaxValue),
        6 => JsonValue.Create(1.5),
        7 => JsonValue.Create(1e300),
        8 => JsonValue.Create(-0.0),
        9 => JsonValue.Create(65536),
        10 => JsonValue.Create(4),
        _ => JsonValue.Create(random.Next(-100_000, 100_000)),
    };

    private string Query(Collection c)
    {
        var count = random.Next(5);
        if (count == 0) return Pick("", "?", "?&", "?=", "?%", "?%00", "?fields");
        var parts = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var key = random.Next(10) switch
            {
                < 5 => Pick(c.Attributes),
                < 8 => Pick(Reserved),
                _ => Pick(UnknownFields),
            };
            var value = key switch
            {
                "limit" => Pick("-1", "0", "1", "2", "abc", "99999999999", "1.5", "", " 1"),
                "marker" => random.Next(2) == 0 ? OddId() : RealOfAnyKind(),
                "sort_dir" => Pick("asc", "desc", "up", "", "ASC"),
                "sort_key" or "fields" => Pick(c.Attributes.Concat(UnknownFields).ToArray()),
                _ => random.Next(3) switch
                {
                    0 => OddId(),
                    1 => RealOfAnyKind(),
                    _ => Pick(OddStrings),
                },
            };
            parts.Add(random.Next(8) == 0 ? $"{key}={Pick("%", "%zz", "%00", "a=b", "&&")}" : $"{Escape(key)}={Escape(value.Length > 3000 ? value[..3000] : value)}");
        }
        return "?" + string.Join('&', parts);
    }

    /// <summary>A real id of the collection half the time, of another one sometimes, else an id nothing can have.</summary>
    private string PathId(Collection c) => random.Next(20) switch
    {
        < 9 when world.Ids(c.Name).Count > 0 => Escape(Pick(world.Ids(c.Name))),
        < 12 => Escape(RealOfAnyKind()),
        < 16 => Pick(OddPathIds),
        _ => Escape(OddId()),
    };

    private string OddId() => Pick(OddIds);

    private string Real(string collection) => world.Ids(collection) is { Count: > 0 } ids ? Pick(ids) : OddId();

    private string RealOfAnyKind() => Real(Pick(Collections).Name);

    private HostileRequest Request(string method, string path, Collection c, byte[]? body)
    {
        var sender = random.Next(20) switch
        {
            < 12 => Sender.Demo,
            < 16 => Sender.Admin,
            < 18 => Sender.Other,
            18 => Sender.NoToken,
            _ => Sender.BadToken,
        };
        var contentType = body is null ? null : random.Next(6) == 0 ? Pick(ContentTypes) : "application/json";
        return new HostileRequest(method, path, sender, contentType, body, Plausible: false, c.Name);
    }

    /// <summary>Percent-encoded UTF-8; a lone surrogate (not encodable) goes as the bytes a careless encoder would send.</summary>
    private static string Escape(string text)
    {
        try
        {
            return Uri.EscapeDataString(text);
        }
        catch (UriFormatException)
        {
            return string.Concat(text.Select(ch => char.IsSurrogate(ch) ? "%ED%A0%80" : Uri.EscapeDataString(ch.ToString())));
        }
    }

    private static byte[] Utf8(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private T Pick<T>(params T[] items) => items[random.Next(items.Length)];
}
