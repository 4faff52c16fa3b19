using System.Net;

namespace Calico.Netlink.Codecs;

/// <summary>
/// Hands out one <see cref="IPAddress"/> instance per distinct gateway / source address seen in a dump. A host holds
/// 100,000 routes via a few dozen gateways: sharing the instances keeps a listing at one allocation per route
/// (its destination) instead of two. Not thread-safe: one per dump.
/// </summary>
internal sealed class AddressCache
{
    private const int Capacity = 64;
    private readonly List<(byte[] Bytes, IPAddress Address)> _entries = new(Capacity);

    public IPAddress Get(ReadOnlySpan<byte> value)
    {
        foreach (var (bytes, address) in _entries)
            if (value.SequenceEqual(bytes)) return address;
        var created = Wire.Payload.Address(value);
        if (_entries.Count < Capacity) _entries.Add((value.ToArray(), created));
        return created;
    }
}
