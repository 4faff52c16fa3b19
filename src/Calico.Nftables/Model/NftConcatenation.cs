using System.Globalization;
using System.Text;

namespace Calico.Nftables;

// Added for the policy compiler (Policy/): MAC addresses and the concatenated keys "interface . MAC . address"
// that let anti-spoofing live in one set for every endpoint, so adding an endpoint is an element change, not a chain.

/// <summary>
/// The concatenated key types this project declares, and what they are made of. A concatenation is stored by the
/// kernel as its parts one after the other, each padded to 4 bytes.
/// </summary>
public static class NftConcatTypes
{
    private static readonly Dictionary<NftDataType, NftDataType[]> Parts = new()
    {
        [NftDataType.InterfaceEtherIpv4] = [NftDataType.InterfaceName, NftDataType.EtherAddress, NftDataType.Ipv4Address],
        [NftDataType.InterfaceEtherIpv6] = [NftDataType.InterfaceName, NftDataType.EtherAddress, NftDataType.Ipv6Address],
    };

    /// <summary>The parts of a concatenated type; null for a plain one.</summary>
    public static IReadOnlyList<NftDataType>? Components(NftDataType type) => Parts.GetValueOrDefault(type);

    public static bool IsConcatenation(NftDataType type) => Parts.ContainsKey(type);

    /// <summary>The concatenated type made of <paramref name="parts"/>, or Foreign when this project has none such.</summary>
    public static NftDataType FromComponents(IReadOnlyList<NftDataType> parts) =>
        Parts.FirstOrDefault(kv => kv.Value.SequenceEqual(parts)).Key is var type && type != default ? type : NftDataType.Foreign;

    /// <summary>Whether a set of this key type may hold intervals (prefixes): addresses, or concatenations ending in one.</summary>
    public static bool AllowsInterval(NftDataType key) =>
        key is NftDataType.Ipv4Address or NftDataType.Ipv6Address or NftDataType.Foreign ||
        (Components(key) is { } parts && parts[^1] is NftDataType.Ipv4Address or NftDataType.Ipv6Address);

    /// <summary>nft's name of a type added here ("ether_addr", "ifname . ether_addr . ipv4_addr"); null for the others.</summary>
    internal static string? Keyword(NftDataType type) => type switch
    {
        NftDataType.EtherAddress => "ether_addr",
        _ when Components(type) is { } parts => string.Join(" . ", parts.Select(NftSetType.Keyword)),
        _ => null,
    };

    /// <summary>The type nft's JSON names with <paramref name="names"/> (a concatenation is a list of names).</summary>
    internal static NftDataType FromKeywords(IReadOnlyList<string?> names)
    {
        var parts = names.Select(n => n switch
        {
            "ifname" => NftDataType.InterfaceName,
            "ether_addr" => NftDataType.EtherAddress,
            "ipv4_addr" => NftDataType.Ipv4Address,
            "ipv6_addr" => NftDataType.Ipv6Address,
            _ => NftDataType.Foreign,
        }).ToList();
        return parts.Contains(NftDataType.Foreign) ? NftDataType.Foreign : FromComponents(parts);
    }
}

/// <summary>A MAC address (<c>fa:16:3e:00:00:01</c>), kept in lower case as nft prints it.</summary>
public sealed record NftEtherAddress : NftValue
{
    public NftEtherAddress(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var parts = address.Split(':', '-');
        if (parts.Length != 6 || parts.Any(p => p.Length != 2 || !byte.TryParse(p, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out _)))
            throw new ArgumentException($"'{address}' is not a MAC address (six hex bytes: fa:16:3e:00:00:01)", nameof(address));
        Address = string.Join(':', parts).ToLowerInvariant();
    }

    public string Address { get; }

    public override NftDataType Type => NftDataType.EtherAddress;

    /// <summary>The six bytes, as the kernel stores them.</summary>
    public byte[] Bytes() => [.. Address.Split(':').Select(p => byte.Parse(p, NumberStyles.HexNumber, CultureInfo.InvariantCulture))];

    internal override StringBuilder Render(StringBuilder text) => text.Append(Address);

    private protected override int CompareSameKind(NftValue other) => string.CompareOrdinal(Address, ((NftEtherAddress)other).Address);
}

/// <summary>
/// A concatenated key, <c>"tap1" . fa:16:3e:00:00:01 . 10.65.0.3</c>, of one of <see cref="NftConcatTypes"/>. Its last
/// part may be a prefix, which needs a set with the interval flag.
/// </summary>
public sealed record NftConcatenation : NftValue
{
    public NftConcatenation(params NftValue[] parts)
    {
        Parts = parts.ToNftList();
        if (Parts.Any(p => p is null or NftConcatenation or NftVerdict or NftAddressRange))
            throw new ArgumentException("a concatenation is made of plain values", nameof(parts));
        Type = NftConcatTypes.FromComponents([.. Parts.Select(p => p.Type)]);
        if (Type == NftDataType.Foreign)
            throw new ArgumentException($"no concatenated type is made of {string.Join(" . ", Parts.Select(p => p.Type))}", nameof(parts));
        if (Parts.Take(Parts.Count - 1).Any(p => p is NftAddress { NeedsInterval: true }))
            throw new ArgumentException("only the last part of a concatenation may be a prefix", nameof(parts));
    }

    public NftList<NftValue> Parts { get; }

    public override NftDataType Type { get; }

    public bool NeedsInterval => Parts[^1] is NftAddress { NeedsInterval: true };

    /// <summary>The key as the kernel stores it: each part padded to 4 bytes (ifname 16, MAC 6+2, IPv4 4, IPv6 16).</summary>
    public byte[] KeyBytes()
    {
        var bytes = new List<byte>();
        foreach (var part in Parts)
        {
            byte[] value = part switch
            {
                NftInterfaceName name => InterfaceName(name.Name),
                NftEtherAddress mac => mac.Bytes(),
                NftAddress address => address.Prefix.BaseAddress.GetAddressBytes(),
                _ => throw new InvalidOperationException($"{part} cannot be part of a key"),
            };
            bytes.AddRange(value);
            while (bytes.Count % 4 != 0) bytes.Add(0);
        }
        return [.. bytes];
    }

    /// <summary>Two interval elements the kernel would refuse side by side: equal leading parts, overlapping prefixes.</summary>
    public bool Overlaps(NftConcatenation other) =>
        Type == other.Type &&
        Parts.Take(Parts.Count - 1).SequenceEqual(other.Parts.Take(other.Parts.Count - 1)) &&
        Parts[^1] is NftAddress mine && other.Parts[^1] is NftAddress theirs && mine.Overlaps(theirs);

    internal override StringBuilder Render(StringBuilder text)
    {
        for (var i = 0; i < Parts.Count; i++)
        {
            if (i > 0) text.Append(" . ");
            Parts[i].Render(text);
        }
        return text;
    }

    private protected override int CompareSameKind(NftValue other)
    {
        var that = (NftConcatenation)other;
        for (var i = 0; i < Math.Min(Parts.Count, that.Parts.Count); i++)
        {
            var order = Parts[i].CompareTo(that.Parts[i]);
            if (order != 0) return order;
        }
        return Parts.Count.CompareTo(that.Parts.Count);
    }

    internal static byte[] InterfaceName(string name)
    {
        var bytes = new byte[16];
        Encoding.ASCII.GetBytes(name, bytes);
        return bytes;
    }
}

/// <summary>
/// A statement that looks a key up in a named set or map of our table: what it expects the set to be declared as, so
/// checks (the fake's, the compiler's) can refuse a mismatch as the kernel would.
/// </summary>
public interface INftSetLookup
{
    string Set { get; }

    NftDataType KeyType { get; }

    /// <summary>Null for a set; the value type for a map.</summary>
    NftDataType? ValueType { get; }
}

/// <summary>What a part of a concatenated match reads from the packet.</summary>
public enum NftConcatField { InputInterfaceName = 1, EtherSource = 2, Ipv4Source = 3, Ipv6Source = 4 }

/// <summary><c>iifname . ether saddr . ip saddr @cali-wl-src-v4</c>: the combination is in a set of ours.</summary>
public sealed record NftConcatSetMatch : NftStatement, INftSetLookup
{
    public NftConcatSetMatch(IEnumerable<NftConcatField> fields, string set, bool negate = false)
    {
        Fields = fields.ToNftList();
        KeyType = NftConcatTypes.FromComponents([.. Fields.Select(TypeOf)]);
        if (KeyType == NftDataType.Foreign) throw new ArgumentException($"no concatenated type reads {string.Join(" . ", Fields)}", nameof(fields));
        Set = NftSyntax.Identifier(set, "set name");
        Negate = negate;
    }

    public NftList<NftConcatField> Fields { get; }

    public string Set { get; }

    public bool Negate { get; }

    public NftDataType KeyType { get; }

    public NftDataType? ValueType => null;

    public override string? SetReference => Set;

    internal override StringBuilder Render(StringBuilder text) =>
        text.AppendJoin(" . ", Fields.Select(Keyword)).Append(Negate ? " != @" : " @").Append(Set);

    private static string Keyword(NftConcatField field) => field switch
    {
        NftConcatField.InputInterfaceName => "iifname",
        NftConcatField.EtherSource => "ether saddr",
        NftConcatField.Ipv4Source => "ip saddr",
        NftConcatField.Ipv6Source => "ip6 saddr",
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };

    private static NftDataType TypeOf(NftConcatField field) => field switch
    {
        NftConcatField.InputInterfaceName => NftDataType.InterfaceName,
        NftConcatField.EtherSource => NftDataType.EtherAddress,
        NftConcatField.Ipv4Source => NftDataType.Ipv4Address,
        NftConcatField.Ipv6Source => NftDataType.Ipv6Address,
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };
}
