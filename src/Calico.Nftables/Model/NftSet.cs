using System.Text;

namespace Calico.Nftables;

/// <summary>
/// What a set is declared as: its key type, a map's value type, and whether it holds intervals (prefixes, ranges).
/// The kernel cannot change a declaration in place, so a changed one means delete and re-create.
/// </summary>
public sealed record NftSetType
{
    public NftSetType(NftDataType key, NftDataType? value = null, bool interval = false)
    {
        if (key is NftDataType.Verdict) throw new ArgumentException("a verdict cannot be a set key", nameof(key));
        if (value is not (null or NftDataType.Verdict or NftDataType.Ipv4Address or NftDataType.Ipv6Address or NftDataType.Foreign))
            throw new ArgumentException($"map values of type {value} are not supported", nameof(value));
        if (interval && !NftConcatTypes.AllowsInterval(key))
            throw new ArgumentException("only address sets can hold intervals", nameof(interval));
        Key = key;
        Value = value;
        Interval = interval;
    }

    public NftDataType Key { get; }

    /// <summary>Null for a set; the value type for a map.</summary>
    public NftDataType? Value { get; }

    public bool Interval { get; }

    public bool IsMap => Value is not null;

    /// <summary>A declaration read back that this project never makes (another type, other flags).</summary>
    public bool IsForeign => Key == NftDataType.Foreign || Value == NftDataType.Foreign;

    internal static NftSetType Foreign { get; } = new(NftDataType.Foreign);

    internal static string Keyword(NftDataType type) => type switch
    {
        NftDataType.Ipv4Address => "ipv4_addr",
        NftDataType.Ipv6Address => "ipv6_addr",
        NftDataType.InterfaceName => "ifname",
        NftDataType.Verdict => "verdict",
        _ => NftConcatTypes.Keyword(type) ?? throw new InvalidOperationException($"type {type} cannot be rendered"),
    };

    internal StringBuilder Render(StringBuilder text)
    {
        text.Append("{ type ").Append(Keyword(Key));
        if (Value is { } value) text.Append(" : ").Append(Keyword(value));
        text.Append(';');
        if (Interval) text.Append(" flags interval;");
        return text.Append(" }");
    }

    public override string ToString() => Render(new StringBuilder()).ToString();
}

/// <summary>
/// A named set or map of our table with its elements. The changing data of the dataplane lives here (addresses of a
/// group, interface dispatch), so that a change is an element added or removed rather than a chain rewritten.
/// </summary>
public sealed record NftSet
{
    public NftSet(string name, NftSetType type, NftElements elements)
    {
        ArgumentNullException.ThrowIfNull(type);
        Name = NftSyntax.Identifier(name, "set name");
        if (type.IsForeign) throw new ArgumentException($"set {name}: a foreign declaration cannot be desired", nameof(type));
        foreach (var element in elements) Check(name, type, element);
        Type = type;
        Elements = elements;
    }

    // Unchecked: for elements already checked one by one, and for sets read back from the kernel.
    private NftSet(NftSetType type, string name, NftElements elements)
    {
        Name = name;
        Type = type;
        Elements = elements;
    }

    public string Name { get; }

    public NftSetType Type { get; }

    public NftElements Elements { get; }

    public bool IsMap => Type.IsMap;

    /// <summary>
    /// A set of IPv4 or IPv6 addresses; prefixes and ranges need <paramref name="interval"/>. Use intervals only
    /// where prefixes occur: libnftables 1.0.6 (Debian 12) dumps the content of every interval set in the namespace
    /// before each element change, one netlink round trip per set, so per-endpoint interval sets would make every
    /// element change cost O(endpoints).
    /// </summary>
    public static NftSet Addresses(string name, NftDataType family, IEnumerable<NftValue> members, bool interval = false) =>
        new(name, new NftSetType(family, interval: interval), NftElements.Of(members));

    public static NftSet InterfaceNames(string name, IEnumerable<string> interfaces) =>
        new(name, new NftSetType(NftDataType.InterfaceName), NftElements.Of(interfaces.Select(i => (NftValue)new NftInterfaceName(i))));

    /// <summary>A verdict map ("vmap"): dispatches by key to a chain or verdict, e.g. interface name to its chain.</summary>
    public static NftSet VerdictMap(string name, NftDataType keyType, IEnumerable<KeyValuePair<NftValue, NftVerdict>> elements) =>
        new(name, new NftSetType(keyType, NftDataType.Verdict), NftElements.Of(elements.Select(kv => new NftElement(kv.Key, kv.Value))));

    public NftSet WithElement(NftElement element)
    {
        Check(Name, Type, element);
        return new NftSet(Type, Name, Elements.Add(element));
    }

    public NftSet WithoutElement(NftValue key) => new(Type, Name, Elements.Remove(key));

    /// <summary>A set as read back from the kernel: its declaration may be foreign and its elements are not checked.</summary>
    internal static NftSet Observed(string name, NftSetType type, NftElements elements) => new(type, name, elements);

    internal static void Check(string set, NftSetType type, NftElement element)
    {
        if (element.Key.Type != type.Key)
            throw new ArgumentException($"set {set}: element {element.Key} is a {element.Key.Type}, the set holds {type.Key}");
        if (!type.Interval && element.Key is NftAddressRange or NftAddress { NeedsInterval: true } or NftConcatenation { NeedsInterval: true })
            throw new ArgumentException($"set {set}: element {element.Key} is a prefix or range; declare the set with the interval flag");
        if (type.Value is null)
        {
            if (element.Value is not null) throw new ArgumentException($"set {set} is not a map: element {element} has a value");
            return;
        }
        if (element.Value is null || element.Value.Type != type.Value)
            throw new ArgumentException($"map {set}: element {element} needs a value of type {type.Value}");
        if (element.Value is NftVerdict { Kind: NftVerdictKind.Reject })
            throw new ArgumentException($"map {set}: reject is not a verdict a map can hold");
    }
}
