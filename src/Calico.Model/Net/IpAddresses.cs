using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Numerics;

namespace Calico.Model.Net;

/// <summary>Parsing and arithmetic on addresses that the domain needs (strict: no scope ids, no shorthand IPv4).</summary>
public static class IpAddresses
{
    /// <summary>
    /// The address SLAAC gives an interface with <paramref name="mac"/> in the /64 <paramref name="prefix"/>: the prefix
    /// and the modified EUI-64 interface id (the MAC split by ff:fe, its universal/local bit inverted).
    /// </summary>
    public static IPAddress Eui64(IpPrefix prefix, string mac) => Eui64(prefix, mac.Split(':', '-').Select(b => Convert.ToByte(b, 16)).ToArray());

    /// <summary>The same for a MAC given as its six bytes.</summary>
    public static IPAddress Eui64(IpPrefix prefix, ReadOnlySpan<byte> m)
    {
        if (prefix.Version != 6 || prefix.Length != 64) throw new ArgumentException($"{prefix} is not an IPv6 /64", nameof(prefix));
        if (m.Length != 6) throw new ArgumentException($"{m.Length} bytes are not a MAC address", nameof(m));
        var bytes = prefix.Network.Address.GetAddressBytes();
        bytes[8] = (byte)(m[0] ^ 0x02);
        bytes[9] = m[1];
        bytes[10] = m[2];
        bytes[11] = 0xff;
        bytes[12] = 0xfe;
        bytes[13] = m[3];
        bytes[14] = m[4];
        bytes[15] = m[5];
        return new IPAddress(bytes);
    }

    public static bool TryParse(string? text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (!IpPrefix.TryParse(text, out var prefix, out _) || text!.Contains('/')) return false;
        address = prefix.Address;
        return true;
    }

    public static int Version(this IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? 6 : 4;

    public static BigInteger ToBigInteger(this IPAddress address) =>
        new(address.GetAddressBytes(), isUnsigned: true, isBigEndian: true);

    public static IPAddress FromBigInteger(BigInteger value, AddressFamily family)
    {
        var size = family == AddressFamily.InterNetworkV6 ? 16 : 4;
        var bytes = new byte[size];
        value.TryWriteBytes(bytes.AsSpan(size - value.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        return new IPAddress(bytes);
    }

    public static int Compare(IPAddress a, IPAddress b)
    {
        if (a.AddressFamily != b.AddressFamily) return a.AddressFamily.CompareTo(b.AddressFamily);
        return a.ToBigInteger().CompareTo(b.ToBigInteger());
    }
}
