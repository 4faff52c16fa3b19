using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Calico.Nftables;

/// <summary>The data types of set keys and map values this project uses, as nft names them.</summary>
public enum NftDataType
{
    /// <summary><c>ipv4_addr</c>: an address, or with the interval flag also a prefix or range.</summary>
    Ipv4Address = 1,
    /// <summary><c>ipv6_addr</c>.</summary>
    Ipv6Address = 2,
    /// <summary><c>ifname</c>: an interface name.</summary>
    InterfaceName = 3,
    /// <summary><c>verdict</c>: only as a map's value (a verdict map, "vmap").</summary>
    Verdict = 4,
    // ---- Added for the policy compiler (see NftConcatenation.cs): MAC addresses and concatenated keys. ----
    /// <summary><c>ether_addr</c>: a MAC address.</summary>
    EtherAddress = 5,
    /// <summary><c>ifname . ether_addr . ipv4_addr</c>: an interface, a source MAC and a source address.</summary>
    InterfaceEtherIpv4 = 6,
    /// <summary><c>ifname . ether_addr . ipv6_addr</c>.</summary>
    InterfaceEtherIpv6 = 7,
    /// <summary>Anything else, found when reading the kernel back (a set someone else declared); never desired.</summary>
    Foreign = 99,
}

/// <summary>
/// One typed value: a set element, a map key or value, or the operand of a match. Values order by type then by
/// value, so rendered element lists are deterministic.
/// </summary>
public abstract record NftValue : IComparable<NftValue>
{
    private protected NftValue()
    {
    }

    public abstract NftDataType Type { get; }

    public int CompareTo(NftValue? other)
    {
        if (other is null) return 1;
        var byType = Type.CompareTo(other.Type);
        if (byType != 0) return byType;
        var byKind = string.CompareOrdinal(GetType().Name, other.GetType().Name);
        return byKind != 0 ? byKind : CompareSameKind(other);
    }

    public sealed override string ToString() => Render(new StringBuilder()).ToString();

    internal abstract StringBuilder Render(StringBuilder text);

    private protected abstract int CompareSameKind(NftValue other);

    internal static int CompareAddresses(IPAddress left, IPAddress right)
    {
        var byFamily = left.AddressFamily.CompareTo(right.AddressFamily);
        return byFamily != 0 ? byFamily : left.GetAddressBytes().AsSpan().SequenceCompareTo(right.GetAddressBytes());
    }

    internal static NftDataType TypeOf(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => NftDataType.Ipv4Address,
        AddressFamily.InterNetworkV6 => NftDataType.Ipv6Address,
        _ => throw new ArgumentException($"address family {family} is neither IPv4 nor IPv6"),
    };
}

/// <summary>An address or prefix; kept canonical (host bits cleared) because that is how the kernel stores it.</summary>
public sealed record NftAddress : NftValue
{
    public NftAddress(IPNetwork prefix)
    {
        TypeOf(prefix.BaseAddress.AddressFamily);
        Prefix = prefix;
    }

    /// <summary>The prefix of <paramref name="length"/> bits that holds <paramref name="address"/> (host bits cleared).</summary>
    public NftAddress(IPAddress address, int length) : this(new IPNetwork(Canonical(address, length), length))
    {
    }

    public NftAddress(IPAddress address) : this(address, MaxLength(address))
    {
    }

    /// <summary>Parses "a.b.c.d", "x::y" or a prefix "a.b.c.d/n" (host bits are cleared, as the kernel would).</summary>
    public static NftAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var slash = text.IndexOf('/');
        if (!IPAddress.TryParse(slash < 0 ? text : text[..slash], out var address))
            throw new FormatException($"'{text}' is not an IP address or prefix");
        if (slash < 0) return new NftAddress(address);
        if (!int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
            throw new FormatException($"'{text}' has no prefix length after the '/'");
        return new NftAddress(address, length);
    }

    public IPNetwork Prefix { get; }

    public bool IsHost => Prefix.PrefixLength == MaxLength(Prefix.BaseAddress);

    /// <summary>A prefix shorter than a host needs a set with the interval flag.</summary>
    public bool NeedsInterval => !IsHost;

    public override NftDataType Type => TypeOf(Prefix.BaseAddress.AddressFamily);

    /// <summary>The last address the prefix holds (the base address with every host bit set).</summary>
    public IPAddress LastAddress
    {
        get
        {
            var bytes = Prefix.BaseAddress.GetAddressBytes();
            for (var bit = Prefix.PrefixLength; bit < bytes.Length * 8; bit++) bytes[bit / 8] |= (byte)(0x80 >> (bit % 8));
            return new IPAddress(bytes);
        }
    }

    /// <summary>Whether one of the two prefixes holds the other (an interval set cannot hold both).</summary>
    public bool Overlaps(NftAddress other) => Prefix.Contains(other.Prefix.BaseAddress) || other.Prefix.Contains(Prefix.BaseAddress);

    internal override StringBuilder Render(StringBuilder text) =>
        IsHost ? text.Append(Prefix.BaseAddress) : text.Append(Prefix.BaseAddress).Append('/').Append(Prefix.PrefixLength);

    private protected override int CompareSameKind(NftValue other)
    {
        var that = (NftAddress)other;
        var byAddress = CompareAddresses(Prefix.BaseAddress, that.Prefix.BaseAddress);
        return byAddress != 0 ? byAddress : Prefix.PrefixLength.CompareTo(that.Prefix.PrefixLength);
    }

    private static int MaxLength(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return TypeOf(address.AddressFamily) == NftDataType.Ipv6Address ? 128 : 32;
    }

    private static IPAddress Canonical(IPAddress address, int length)
    {
        var max = MaxLength(address);
        if (length < 0 || length > max) throw new ArgumentOutOfRangeException(nameof(length), $"prefix length {length} is outside 0..{max}");
        var bytes = address.GetAddressBytes();
        for (var bit = length; bit < max; bit++) bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }
}

/// <summary>An address range (first-last, both included), as an interval set may hold it.</summary>
public sealed record NftAddressRange : NftValue
{
    public NftAddressRange(IPAddress first, IPAddress last)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(last);
        if (first.AddressFamily != last.AddressFamily) throw new ArgumentException($"range {first}-{last} mixes address families");
        TypeOf(first.AddressFamily);
        if (CompareAddresses(first, last) > 0) throw new ArgumentException($"range {first}-{last} ends before it starts");
        First = first;
        Last = last;
    }

    public IPAddress First { get; }

    public IPAddress Last { get; }

    public override NftDataType Type => TypeOf(First.AddressFamily);

    internal override StringBuilder Render(StringBuilder text) => text.Append(First).Append('-').Append(Last);

    private protected override int CompareSameKind(NftValue other)
    {
        var that = (NftAddressRange)other;
        var byFirst = CompareAddresses(First, that.First);
        return byFirst != 0 ? byFirst : CompareAddresses(Last, that.Last);
    }
}

/// <summary>An interface name ("tap12345-ab").</summary>
public sealed record NftInterfaceName : NftValue
{
    public NftInterfaceName(string name) => Name = NftSyntax.InterfaceName(name, allowWildcard: false);

    public string Name { get; }

    public override NftDataType Type => NftDataType.InterfaceName;

    internal override StringBuilder Render(StringBuilder text) => text.Quoted(Name);

    private protected override int CompareSameKind(NftValue other) => string.CompareOrdinal(Name, ((NftInterfaceName)other).Name);
}

public enum NftVerdictKind { Accept = 1, Drop = 2, Return = 3, Continue = 4, Jump = 5, Goto = 6, Reject = 7 }

/// <summary>A verdict: ends a rule, or is the value of a verdict-map element ("tap1" : jump cali-fw-tap1).</summary>
public sealed record NftVerdict : NftValue
{
    private NftVerdict(NftVerdictKind kind, string? chain)
    {
        Kind = kind;
        Chain = chain;
    }

    public static NftVerdict Accept { get; } = new(NftVerdictKind.Accept, null);

    public static NftVerdict Drop { get; } = new(NftVerdictKind.Drop, null);

    public static NftVerdict Return { get; } = new(NftVerdictKind.Return, null);

    public static NftVerdict Continue { get; } = new(NftVerdictKind.Continue, null);

    /// <summary>Rejects with nft's default (ICMP port unreachable, or TCP reset for TCP); only in rules, not in maps.</summary>
    public static NftVerdict Reject { get; } = new(NftVerdictKind.Reject, null);

    public static NftVerdict Jump(string chain) => new(NftVerdictKind.Jump, NftSyntax.Identifier(chain, "jump target"));

    public static NftVerdict Goto(string chain) => new(NftVerdictKind.Goto, NftSyntax.Identifier(chain, "goto target"));

    public NftVerdictKind Kind { get; }

    /// <summary>The target of a jump or goto.</summary>
    public string? Chain { get; }

    public override NftDataType Type => NftDataType.Verdict;

    internal override StringBuilder Render(StringBuilder text)
    {
        text.Append(Kind.ToString().ToLowerInvariant());
        return Chain is null ? text : text.Append(' ').Append(Chain);
    }

    private protected override int CompareSameKind(NftValue other)
    {
        var that = (NftVerdict)other;
        var byKind = Kind.CompareTo(that.Kind);
        return byKind != 0 ? byKind : string.CompareOrdinal(Chain, that.Chain);
    }
}
