using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Calico.Nftables;

// Statements added for the policy compiler (Policy/): ICMP type and code, ports of any transport protocol, the
// connection's original destination, and NAT. Each renders the one nft form it stands for.

/// <summary><c>icmp type 8</c>, <c>icmp type 8 icmp code 0</c>, <c>icmpv6 type { 133, 135 }</c>: implies the protocol.</summary>
public sealed record NftIcmpMatch : NftStatement
{
    public NftIcmpMatch(int version, IEnumerable<byte> types, byte? code = null)
    {
        if (version is not (4 or 6)) throw new ArgumentOutOfRangeException(nameof(version), version, "4 or 6");
        Types = types.Distinct().Order().ToNftList();
        if (Types.Count == 0) throw new ArgumentException("at least one ICMP type (for any, match the protocol)", nameof(types));
        if (code is not null && Types.Count != 1) throw new ArgumentException("a code goes with exactly one type", nameof(code));
        Version = version;
        Code = code;
    }

    public NftIcmpMatch(int version, byte type, byte? code = null) : this(version, [type], code)
    {
    }

    public int Version { get; }

    public NftList<byte> Types { get; }

    public byte? Code { get; }

    internal override StringBuilder Render(StringBuilder text)
    {
        var keyword = Version == 4 ? "icmp" : "icmpv6";
        text.Append(keyword).Append(" type ");
        if (Types.Count == 1) text.Append(Types[0].ToString(CultureInfo.InvariantCulture));
        else text.Append("{ ").AppendJoin(", ", Types.Select(t => t.ToString(CultureInfo.InvariantCulture))).Append(" }");
        if (Code is { } code) text.Append(' ').Append(keyword).Append(" code ").Append(code.ToString(CultureInfo.InvariantCulture));
        return text;
    }
}

/// <summary>
/// <c>meta l4proto 33 th dport 5000-5005</c>: a destination port of any protocol whose header starts with ports (DCCP,
/// UDP-Lite); for TCP, UDP and SCTP use <see cref="NftPortMatch"/>.
/// </summary>
public sealed record NftTransportPortMatch : NftStatement
{
    public NftTransportPortMatch(byte protocol, NftPortRange ports)
    {
        if (ports.First > ports.Last) throw new ArgumentException($"port range {ports} ends before it starts", nameof(ports));
        Protocol = protocol;
        Ports = ports;
    }

    public byte Protocol { get; }

    public NftPortRange Ports { get; }

    internal override StringBuilder Render(StringBuilder text) =>
        text.Append("meta l4proto ").Append(Protocol.ToString(CultureInfo.InvariantCulture)).Append(" th dport ").Append(Ports);
}

/// <summary><c>ct original ip daddr 169.254.169.254</c>: where the connection was first addressed to, before any DNAT.</summary>
public sealed record NftOriginalDestinationMatch : NftStatement
{
    public NftOriginalDestinationMatch(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        _ = NftValue.TypeOf(address.AddressFamily);
        Address = address;
    }

    public IPAddress Address { get; }

    internal override StringBuilder Render(StringBuilder text) =>
        text.Append(Address.AddressFamily == AddressFamily.InterNetwork ? "ct original ip daddr " : "ct original ip6 daddr ").Append(Address);
}

public enum NftNatKind { Destination = 1, Source = 2 }

/// <summary><c>dnat ip to 10.0.0.5:8775</c>: rewrites the destination (or, for snat, the source) to one address.</summary>
public sealed record NftNatToAddress : NftStatement
{
    public NftNatToAddress(NftNatKind kind, IPAddress address, ushort? port = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        _ = NftValue.TypeOf(address.AddressFamily);
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind));
        if (port == 0) throw new ArgumentOutOfRangeException(nameof(port), "port 0");
        Kind = kind;
        Address = address;
        Port = port;
    }

    public NftNatKind Kind { get; }

    public IPAddress Address { get; }

    public ushort? Port { get; }

    internal override StringBuilder Render(StringBuilder text)
    {
        var v4 = Address.AddressFamily == AddressFamily.InterNetwork;
        text.Append(Kind == NftNatKind.Destination ? "dnat " : "snat ").Append(v4 ? "ip to " : "ip6 to ");
        if (Port is not { } port) return text.Append(Address);
        return v4 ? text.Append(Address).Append(':').Append(port) : text.Append('[').Append(Address).Append("]:").Append(port);
    }
}

/// <summary>
/// <c>dnat ip to ip daddr map @cali-fip-dnat-v4</c>, <c>snat ip to ip saddr map @cali-fip-snat-v4</c>: the new address is
/// the value the packet's own address maps to; a packet whose address is not in the map is left alone (the rule does
/// not match). One static rule serves every floating IP.
/// </summary>
public sealed record NftNatByMap : NftStatement, INftSetLookup
{
    public NftNatByMap(NftNatKind kind, int version, string map)
    {
        if (version is not (4 or 6)) throw new ArgumentOutOfRangeException(nameof(version), version, "4 or 6");
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind));
        Kind = kind;
        Version = version;
        Set = NftSyntax.Identifier(map, "map name");
    }

    public NftNatKind Kind { get; }

    public int Version { get; }

    public string Set { get; }

    public NftDataType KeyType => Version == 4 ? NftDataType.Ipv4Address : NftDataType.Ipv6Address;

    public NftDataType? ValueType => KeyType;

    public override string? SetReference => Set;

    internal override StringBuilder Render(StringBuilder text)
    {
        var family = Version == 4 ? "ip" : "ip6";
        return Kind == NftNatKind.Destination
            ? text.Append("dnat ").Append(family).Append(" to ").Append(family).Append(" daddr map @").Append(Set)
            : text.Append("snat ").Append(family).Append(" to ").Append(family).Append(" saddr map @").Append(Set);
    }
}

/// <summary><c>masquerade</c>: source NAT to the address of the interface the packet leaves by.</summary>
public sealed record NftMasquerade : NftStatement
{
    public static NftMasquerade Instance { get; } = new();

    internal override StringBuilder Render(StringBuilder text) => text.Append("masquerade");
}

/// <summary>
/// <c>limit rate over 1000/second burst 100 packets</c>: matches the packets beyond a token bucket of
/// <see cref="PacketsPerSecond"/> holding <see cref="BurstPackets"/>, so a following <c>drop</c> caps the packet rate.
/// The bucket is this rule's own: two rules never share one.
/// </summary>
public sealed record NftPacketRateOver : NftStatement
{
    public NftPacketRateOver(long packetsPerSecond, long burstPackets)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(packetsPerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burstPackets);
        // The kernel keeps the burst in 32 bits.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(burstPackets, uint.MaxValue);
        PacketsPerSecond = packetsPerSecond;
        BurstPackets = burstPackets;
    }

    public long PacketsPerSecond { get; }

    public long BurstPackets { get; }

    internal override StringBuilder Render(StringBuilder text) => text.Append(CultureInfo.InvariantCulture,
        $"limit rate over {PacketsPerSecond}/second burst {BurstPackets} packets");
}
