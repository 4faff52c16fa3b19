using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Calico.Netlink.Wire;

/// <summary>
/// Walks the netlink messages of one received datagram (NLMSG_OK / NLMSG_NEXT). A length that does not fit is a
/// protocol error, never something to skip: the rest of the datagram could not be trusted.
/// </summary>
internal ref struct NetlinkMessageReader(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _data = data;

    public bool TryRead(out NlMsgHdr header, out ReadOnlySpan<byte> payload)
    {
        if (_data.Length < NlMsgHdr.Size)
        {
            if (_data.Length != 0) throw new InvalidDataException($"{_data.Length} trailing bytes after the last netlink message");
            header = default;
            payload = default;
            return false;
        }
        header = MemoryMarshal.Read<NlMsgHdr>(_data);
        if (header.Length < NlMsgHdr.Size || header.Length > _data.Length)
            throw new InvalidDataException($"netlink message length {header.Length} outside 16..{_data.Length}");
        payload = _data[NlMsgHdr.Size..(int)header.Length];
        var next = Math.Min(NetlinkWriter.Align4((int)header.Length), _data.Length);
        _data = _data[next..];
        return true;
    }
}

/// <summary>Walks rtattrs (RTA_OK / RTA_NEXT); the type comes back without the nested / byte-order flag bits.</summary>
internal ref struct AttributeReader(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _data = data;

    public bool TryRead(out ushort type, out ReadOnlySpan<byte> value)
    {
        if (_data.Length < 4)
        {
            type = 0;
            value = default;
            return false;
        }
        var length = MemoryMarshal.Read<ushort>(_data);
        if (length < 4 || length > _data.Length)
            throw new InvalidDataException($"attribute length {length} outside 4..{_data.Length}");
        type = (ushort)(MemoryMarshal.Read<ushort>(_data[2..]) & AttrFlags.TypeMask);
        value = _data[4..length];
        _data = _data[Math.Min(NetlinkWriter.Align4(length), _data.Length)..];
        return true;
    }
}

/// <summary>Reading fixed headers and attribute values, with the length checks the kernel's own parsers make.</summary>
internal static class Payload
{
    /// <summary>The fixed header at the start of a payload; the attributes follow it at its aligned size.</summary>
    public static T ReadHeader<T>(ReadOnlySpan<byte> payload, out ReadOnlySpan<byte> attributes) where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        if (payload.Length < size)
            throw new InvalidDataException($"payload of {payload.Length} bytes is shorter than its {typeof(T).Name} ({size})");
        attributes = payload[Math.Min(NetlinkWriter.Align4(size), payload.Length)..];
        return MemoryMarshal.Read<T>(payload);
    }

    public static uint U32(ReadOnlySpan<byte> value) =>
        value.Length >= 4 ? MemoryMarshal.Read<uint>(value) : throw new InvalidDataException($"u32 attribute of {value.Length} bytes");

    public static ulong U64(ReadOnlySpan<byte> value) =>
        value.Length >= 8 ? MemoryMarshal.Read<ulong>(value) : throw new InvalidDataException($"u64 field of {value.Length} bytes");

    public static byte U8(ReadOnlySpan<byte> value) =>
        value.Length >= 1 ? value[0] : throw new InvalidDataException("empty u8 attribute");

    public static int S32(ReadOnlySpan<byte> value) => (int)U32(value);

    /// <summary>An IPv4 (4 bytes) or IPv6 (16 bytes) address; other lengths are not an IP address.</summary>
    public static IPAddress Address(ReadOnlySpan<byte> value) => value.Length switch
    {
        4 or 16 => new IPAddress(value),
        _ => throw new InvalidDataException($"address attribute of {value.Length} bytes"),
    };

    /// <summary>A string attribute, with the trailing NUL (if any) removed.</summary>
    public static string String(ReadOnlySpan<byte> value)
    {
        var end = value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? value : value[..end]);
    }
}
