using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Calico.Model.Net;

/// <summary>
/// Addresses as unsigned numbers, for the allocation arithmetic (IPv4 in the low 32 bits). Cheaper than
/// <see cref="System.Numerics.BigInteger"/> on the allocation path, which converts an address per candidate.
/// </summary>
public static class AddressNumbers
{
    public static UInt128 ToNumber(this IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written)) throw new ArgumentException($"{address} cannot be written", nameof(address));
        return written == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    public static IPAddress FromNumber(UInt128 number, AddressFamily family)
    {
        if (family == AddressFamily.InterNetworkV6)
        {
            Span<byte> v6 = stackalloc byte[16];
            BinaryPrimitives.WriteUInt128BigEndian(v6, number);
            return new IPAddress(v6);
        }
        if (number > uint.MaxValue) throw new ArgumentOutOfRangeException(nameof(number), "not an IPv4 address");
        Span<byte> v4 = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)number);
        return new IPAddress(v4);
    }

    /// <summary>The first address of the prefix, as a number.</summary>
    public static UInt128 First(this IpPrefix prefix) => prefix.Network.Address.ToNumber();

    /// <summary>The last address of the prefix, as a number.</summary>
    public static UInt128 Last(this IpPrefix prefix) => prefix.First() + (HostCount(prefix) - 1);

    /// <summary>How many addresses the prefix spans (saturating at <see cref="UInt128.MaxValue"/> for ::/0).</summary>
    public static UInt128 HostCount(this IpPrefix prefix)
    {
        var hostBits = IpPrefix.MaxLength(prefix.Address) - prefix.Length;
        return hostBits >= 128 ? UInt128.MaxValue : UInt128.One << hostBits;
    }
}
