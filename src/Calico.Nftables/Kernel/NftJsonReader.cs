using System.Net;
using System.Text.Json;

namespace Calico.Nftables;

/// <summary>
/// Turns nft's JSON listing of one table (<c>nft -j list table inet calico</c>, schema version 1) into an
/// <see cref="NftTable"/>: chains with their base-chain settings and rules known by comment hash, sets and maps with
/// typed elements. Whatever this project never writes (another set type, a flag, a hook) is kept as "foreign", which
/// never equals anything desired, so the reconciler replaces it. Other kinds of objects (counters, flowtables) are
/// ignored.
/// </summary>
internal static class NftJsonReader
{
    private static readonly HashSet<string> KnownSetProperties = ["family", "name", "table", "type", "handle", "flags", "elem", "map", "comment"];

    public static NftTable ReadTable(string json, NftTableId id)
    {
        using var document = JsonDocument.Parse(json);
        var chains = new List<(string Name, NftBaseChain? Base)>();
        var rules = new Dictionary<string, List<NftRule>>(StringComparer.Ordinal);
        var sets = new List<NftSet>();
        foreach (var item in document.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (item.TryGetProperty("chain", out var chain))
            {
                var name = chain.GetProperty("name").GetString()!;
                chains.Add((name, ReadBase(chain)));
                rules.TryAdd(name, []);
            }
            else if (item.TryGetProperty("rule", out var rule))
            {
                var chainName = rule.GetProperty("chain").GetString()!;
                var comment = rule.TryGetProperty("comment", out var c) ? c.GetString() : null;
                if (!rules.TryGetValue(chainName, out var list)) rules[chainName] = list = [];
                list.Add(NftRule.Observed(comment));
            }
            else if (item.TryGetProperty("set", out var set) || item.TryGetProperty("map", out set))
            {
                sets.Add(ReadSet(set));
            }
        }
        return new NftTable(id, chains.Select(c => NftChain.Observed(c.Name, rules[c.Name], c.Base)), sets);
    }

    private static NftBaseChain? ReadBase(JsonElement chain)
    {
        if (!chain.TryGetProperty("hook", out var hook)) return null;
        if (chain.TryGetProperty("dev", out _)) return NftBaseChain.Foreign;
        if (!NftSyntax.TryParse<NftChainType>(Text(chain, "type"), out var type) ||
            !NftSyntax.TryParse<NftHook>(hook.GetString(), out var hookValue) ||
            !chain.TryGetProperty("prio", out var prio) || prio.ValueKind != JsonValueKind.Number ||
            !NftSyntax.TryParse<NftPolicy>(Text(chain, "policy") ?? "accept", out var policy))
        {
            return NftBaseChain.Foreign;
        }
        return new NftBaseChain(type, hookValue, prio.GetInt32(), policy);
    }

    private static NftSet ReadSet(JsonElement set)
    {
        var name = set.GetProperty("name").GetString()!;
        var type = ReadSetType(set);
        if (type.IsForeign || !set.TryGetProperty("elem", out var elements)) return NftSet.Observed(name, type, NftElements.Empty);
        var parsed = new List<NftElement>();
        foreach (var element in elements.EnumerateArray())
        {
            var entry = ReadElement(element, type);
            if (entry is null) return NftSet.Observed(name, NftSetType.Foreign, NftElements.Empty);
            parsed.Add(entry.Value);
        }
        return NftSet.Observed(name, type, NftElements.Of(parsed));
    }

    private static NftSetType ReadSetType(JsonElement set)
    {
        foreach (var property in set.EnumerateObject())
        {
            if (!KnownSetProperties.Contains(property.Name)) return NftSetType.Foreign;
        }
        var key = DataType(set.GetProperty("type"));
        NftDataType? value = set.TryGetProperty("map", out var map) ? DataType(map) : null;
        var interval = false;
        if (set.TryGetProperty("flags", out var flags))
        {
            foreach (var flag in flags.EnumerateArray())
            {
                if (flag.GetString() == "interval") interval = true;
                else return NftSetType.Foreign;
            }
        }
        if (key is NftDataType.Foreign or NftDataType.Verdict || value is NftDataType.Foreign or NftDataType.InterfaceName ||
            value is not (null or NftDataType.Verdict or NftDataType.Ipv4Address or NftDataType.Ipv6Address) ||
            (interval && !NftConcatTypes.AllowsInterval(key)))
        {
            return NftSetType.Foreign;
        }
        return new NftSetType(key, value, interval);
    }

    private static NftDataType DataType(JsonElement type) => type.ValueKind != JsonValueKind.String ? ConcatenatedType(type) : type.GetString() switch
    {
        "ether_addr" => NftDataType.EtherAddress,
        "ipv4_addr" => NftDataType.Ipv4Address,
        "ipv6_addr" => NftDataType.Ipv6Address,
        "ifname" => NftDataType.InterfaceName,
        "verdict" => NftDataType.Verdict,
        _ => NftDataType.Foreign,
    };

    /// <summary>One element; null when it is of a form this project cannot name again (so the set is replaced whole).</summary>
    private static NftElement? ReadElement(JsonElement element, NftSetType type)
    {
        if (type.Value is { } valueType)
        {
            if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() != 2) return null;
            var key = ReadValue(element[0], type.Key);
            var value = ReadValue(element[1], valueType);
            return key is null || value is null ? null : new NftElement(key, value);
        }
        var single = ReadValue(element, type.Key);
        return single is null ? null : new NftElement(single);
    }

    private static NftValue? ReadValue(JsonElement value, NftDataType type)
    {
        // Elements with a timeout or counter come wrapped: {"elem": {"val": ..., "counter": ...}}.
        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("elem", out var wrapped) &&
            wrapped.TryGetProperty("val", out var inner))
        {
            return ReadValue(inner, type);
        }
        try
        {
            return type switch
            {
                NftDataType.InterfaceName when value.ValueKind == JsonValueKind.String => new NftInterfaceName(value.GetString()!),
                NftDataType.Ipv4Address or NftDataType.Ipv6Address => ReadAddress(value, type),
                NftDataType.Verdict => ReadVerdict(value),
                NftDataType.EtherAddress when value.ValueKind == JsonValueKind.String => new NftEtherAddress(value.GetString()!),
                _ when NftConcatTypes.Components(type) is { } parts => ReadConcatenation(value, parts),
                _ => null,
            };
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    // Added for the policy compiler: concatenated keys, {"concat": ["tap1", "fa:16:3e:00:00:01", "10.65.0.3"]}.
    private static NftDataType ConcatenatedType(JsonElement type) =>
        type.ValueKind == JsonValueKind.Array && type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String)
            ? NftConcatTypes.FromKeywords([.. type.EnumerateArray().Select(t => t.GetString())])
            : NftDataType.Foreign;

    private static NftConcatenation? ReadConcatenation(JsonElement value, IReadOnlyList<NftDataType> parts)
    {
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("concat", out var items) ||
            items.ValueKind != JsonValueKind.Array || items.GetArrayLength() != parts.Count)
        {
            return null;
        }
        var values = new NftValue[parts.Count];
        for (var i = 0; i < parts.Count; i++)
        {
            if (ReadValue(items[i], parts[i]) is not { } part) return null;
            values[i] = part;
        }
        return new NftConcatenation(values);
    }

    private static NftValue? ReadAddress(JsonElement value, NftDataType type)
    {
        NftValue? result = value.ValueKind switch
        {
            JsonValueKind.String when IPAddress.TryParse(value.GetString(), out var address) => new NftAddress(address),
            JsonValueKind.Object when value.TryGetProperty("prefix", out var prefix) &&
                IPAddress.TryParse(Text(prefix, "addr"), out var network) && prefix.TryGetProperty("len", out var length) =>
                new NftAddress(network, length.GetInt32()),
            JsonValueKind.Object when value.TryGetProperty("range", out var range) && range.GetArrayLength() == 2 &&
                IPAddress.TryParse(range[0].GetString(), out var first) && IPAddress.TryParse(range[1].GetString(), out var last) =>
                new NftAddressRange(first, last),
            _ => null,
        };
        return result is not null && result.Type == type ? result : null;
    }

    private static NftVerdict? ReadVerdict(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object) return null;
        foreach (var property in value.EnumerateObject())
        {
            return property.Name switch
            {
                "accept" => NftVerdict.Accept,
                "drop" => NftVerdict.Drop,
                "return" => NftVerdict.Return,
                "continue" => NftVerdict.Continue,
                "jump" => NftVerdict.Jump(Text(property.Value, "target") ?? ""),
                "goto" => NftVerdict.Goto(Text(property.Value, "target") ?? ""),
                _ => null,
            };
        }
        return null;
    }

    private static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
