using System.Globalization;
using System.Text;

namespace Calico.Nftables;

/// <summary>What a match or a verdict map looks at in a packet.</summary>
public enum NftSelector
{
    InputInterfaceName = 1,
    OutputInterfaceName = 2,
    Ipv4Source = 3,
    Ipv4Destination = 4,
    Ipv6Source = 5,
    Ipv6Destination = 6,
}

public enum NftPortField { Source = 1, Destination = 2 }

[Flags]
public enum NftConnectionStates { Invalid = 1, Established = 2, Related = 4, New = 8, Untracked = 16 }

/// <summary>
/// One part of a rule: a match, a counter, a verdict. Typed, so a rule is built from checked pieces and its text is
/// produced in one place; the set of statements is what the policy compiler needs, not all of nft.
/// </summary>
public abstract record NftStatement
{
    private protected NftStatement()
    {
    }

    /// <summary>The set or map this statement reads (<c>@name</c>), if any: it must exist when the rule is added.</summary>
    public virtual string? SetReference => null;

    /// <summary>The chain this statement jumps or goes to, if any.</summary>
    public virtual string? ChainReference => null;

    public sealed override string ToString() => Render(new StringBuilder()).ToString();

    internal abstract StringBuilder Render(StringBuilder text);

    internal static string Keyword(NftSelector selector) => selector switch
    {
        NftSelector.InputInterfaceName => "iifname",
        NftSelector.OutputInterfaceName => "oifname",
        NftSelector.Ipv4Source => "ip saddr",
        NftSelector.Ipv4Destination => "ip daddr",
        NftSelector.Ipv6Source => "ip6 saddr",
        NftSelector.Ipv6Destination => "ip6 daddr",
        _ => throw new ArgumentOutOfRangeException(nameof(selector), selector, null),
    };

    internal static NftDataType TypeOf(NftSelector selector) => selector switch
    {
        NftSelector.InputInterfaceName or NftSelector.OutputInterfaceName => NftDataType.InterfaceName,
        NftSelector.Ipv4Source or NftSelector.Ipv4Destination => NftDataType.Ipv4Address,
        NftSelector.Ipv6Source or NftSelector.Ipv6Destination => NftDataType.Ipv6Address,
        _ => throw new ArgumentOutOfRangeException(nameof(selector), selector, null),
    };
}

/// <summary><c>iifname "tap1"</c>, <c>ip saddr != 10.65.0.0/16</c>, <c>iifname "tap*"</c>.</summary>
public sealed record NftValueMatch : NftStatement
{
    public NftValueMatch(NftSelector selector, NftValue value, bool negate = false)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Type != TypeOf(selector) || value is NftVerdict)
            throw new ArgumentException($"{Keyword(selector)} cannot be compared with {value} ({value.Type})", nameof(value));
        Selector = selector;
        Value = value;
        Negate = negate;
    }

    /// <summary>An interface-name match that may end in '*' (any name with that prefix).</summary>
    public static NftValueMatch InterfaceName(NftSelector selector, string pattern, bool negate = false)
    {
        NftSyntax.InterfaceName(pattern, allowWildcard: true);
        return new NftValueMatch(selector, new NftInterfaceName(pattern.TrimEnd('*')), negate) { Wildcard = pattern.EndsWith('*') };
    }

    public NftSelector Selector { get; }

    public NftValue Value { get; }

    public bool Negate { get; }

    public bool Wildcard { get; private init; }

    internal override StringBuilder Render(StringBuilder text)
    {
        text.Append(Keyword(Selector)).Append(' ');
        if (Negate) text.Append("!= ");
        if (Wildcard) return text.Append('"').Append(((NftInterfaceName)Value).Name).Append("*\"");
        return Value.Render(text);
    }
}

/// <summary><c>ip saddr @cali-sg-web-v4</c>: the value is in a named set of ours.</summary>
public sealed record NftSetMatch : NftStatement
{
    public NftSetMatch(NftSelector selector, string set, bool negate = false)
    {
        _ = Keyword(selector);
        Selector = selector;
        Set = NftSyntax.Identifier(set, "set name");
        Negate = negate;
    }

    public NftSelector Selector { get; }

    public string Set { get; }

    public bool Negate { get; }

    public NftDataType KeyType => TypeOf(Selector);

    public override string? SetReference => Set;

    internal override StringBuilder Render(StringBuilder text) =>
        text.Append(Keyword(Selector)).Append(Negate ? " != @" : " @").Append(Set);
}

/// <summary><c>meta l4proto tcp</c>.</summary>
public sealed record NftProtocolMatch(byte Protocol) : NftStatement
{
    internal override StringBuilder Render(StringBuilder text) => text.Append("meta l4proto ").Append(Name(Protocol));

    internal static string Name(byte protocol) => protocol switch
    {
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        58 => "ipv6-icmp",
        132 => "sctp",
        _ => protocol.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>A port or an inclusive port range.</summary>
public readonly record struct NftPortRange(ushort First, ushort Last)
{
    public static implicit operator NftPortRange(ushort port) => new(port, port);

    public override string ToString() => First == Last ? $"{First}" : $"{First}-{Last}";
}

/// <summary><c>tcp dport 22</c>, <c>udp sport { 67, 68 }</c>: implies the protocol.</summary>
public sealed record NftPortMatch : NftStatement
{
    public NftPortMatch(byte protocol, NftPortField field, IEnumerable<NftPortRange> ports, bool negate = false)
    {
        if (protocol is not (6 or 17 or 132)) throw new ArgumentException($"protocol {protocol} has no ports (tcp, udp or sctp)", nameof(protocol));
        Ports = ports.ToNftList();
        if (Ports.Count == 0) throw new ArgumentException("at least one port", nameof(ports));
        if (Ports.Any(p => p.First > p.Last)) throw new ArgumentException($"port ranges must not end before they start: {Ports}", nameof(ports));
        Protocol = protocol;
        Field = field;
        Negate = negate;
    }

    public byte Protocol { get; }

    public NftPortField Field { get; }

    public NftList<NftPortRange> Ports { get; }

    public bool Negate { get; }

    internal override StringBuilder Render(StringBuilder text)
    {
        text.Append(NftProtocolMatch.Name(Protocol)).Append(Field == NftPortField.Source ? " sport " : " dport ");
        if (Negate) text.Append("!= ");
        if (Ports.Count == 1) return text.Append(Ports[0]);
        return text.Append("{ ").AppendJoin(", ", Ports).Append(" }");
    }
}

/// <summary><c>ct state established,related</c>.</summary>
public sealed record NftConnectionStateMatch : NftStatement
{
    public NftConnectionStateMatch(NftConnectionStates states, bool negate = false)
    {
        if (states == 0 || (states & ~(NftConnectionStates)31) != 0) throw new ArgumentException($"invalid states {states}", nameof(states));
        States = states;
        Negate = negate;
    }

    public NftConnectionStates States { get; }

    public bool Negate { get; }

    internal override StringBuilder Render(StringBuilder text)
    {
        text.Append("ct state ");
        if (Negate) text.Append("!= ");
        var names = Enum.GetValues<NftConnectionStates>().Where(s => States.HasFlag(s)).Select(s => s.ToString().ToLowerInvariant());
        return text.AppendJoin(',', names);
    }
}

/// <summary><c>meta nfproto ipv4</c>: in an inet table, limits a rule to one IP version.</summary>
public sealed record NftIpVersionMatch : NftStatement
{
    public NftIpVersionMatch(int version)
    {
        if (version is not (4 or 6)) throw new ArgumentOutOfRangeException(nameof(version), version, "4 or 6");
        Version = version;
    }

    public int Version { get; }

    internal override StringBuilder Render(StringBuilder text) => text.Append(Version == 4 ? "meta nfproto ipv4" : "meta nfproto ipv6");
}

/// <summary><c>counter</c>: counts packets and bytes that reach it.</summary>
public sealed record NftCounter : NftStatement
{
    public static NftCounter Instance { get; } = new();

    internal override StringBuilder Render(StringBuilder text) => text.Append("counter");
}

/// <summary>A verdict statement: <c>accept</c>, <c>jump cali-fw-tap1</c>.</summary>
public sealed record NftVerdictStatement(NftVerdict Verdict) : NftStatement
{
    public override string? ChainReference => Verdict.Chain;

    internal override StringBuilder Render(StringBuilder text) => Verdict.Render(text);
}

/// <summary><c>iifname vmap @cali-from-wl</c>: one lookup dispatches to the element's verdict, whatever the map's size.</summary>
public sealed record NftVerdictMapStatement : NftStatement
{
    public NftVerdictMapStatement(NftSelector selector, string map)
    {
        _ = Keyword(selector);
        Selector = selector;
        Map = NftSyntax.Identifier(map, "map name");
    }

    public NftSelector Selector { get; }

    public string Map { get; }

    public NftDataType KeyType => TypeOf(Selector);

    public override string? SetReference => Map;

    internal override StringBuilder Render(StringBuilder text) => text.Append(Keyword(Selector)).Append(" vmap @").Append(Map);
}
