using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Numerics;

namespace Calico.Model.Net;

/// <summary>Parsing and arithmetic on addresses that the domain needs (strict: no scope ids, no shorthand IPv4).</summary>
public static class IpAddresses
{
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
