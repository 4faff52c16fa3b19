using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Calico.Netlink.Wire;

/// <summary>
/// Appends netlink messages to a caller-owned buffer: a header, a fixed family header, then rtattrs (nested where
/// needed). Lengths are patched when a message or nest ends, and everything is padded to 4 bytes as NLMSG_ALIGN and
/// RTA_ALIGN require. Several messages may be written back to back: that is how a batch goes out in one send().
/// Netlink is host byte order, hence MemoryMarshal rather than BinaryPrimitives.
/// </summary>
internal ref struct NetlinkWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public NetlinkWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly int Length => _position;

    public readonly int Remaining => _buffer.Length - _position;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._position];

    /// <summary>Writes an nlmsghdr with a placeholder length; returns the offset to pass to <see cref="EndMessage"/>.</summary>
    public int BeginMessage(ushort type, ushort flags, uint sequence)
    {
        var start = _position;
        WriteStruct(new NlMsgHdr { Type = type, Flags = flags, Sequence = sequence });
        return start;
    }

    public void EndMessage(int start)
    {
        Align();
        MemoryMarshal.Write(_buffer[start..], (uint)(_position - start));
    }

    /// <summary>Drops everything written after <paramref name="length"/> (a message that did not fit).</summary>
    public void Truncate(int length) => _position = length;

    public void WriteStruct<T>(in T value) where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        MemoryMarshal.Write(_buffer.Slice(_position, size), in value);
        _position += size;
        Align();
    }

    public void Attribute(ushort type, scoped ReadOnlySpan<byte> value)
    {
        var length = 4 + value.Length;
        WriteAttributeHeader(type, length);
        value.CopyTo(_buffer[(_position + 4)..]);
        _position += length;
        Align();
    }

    public void AttributeU8(ushort type, byte value) => Attribute(type, [value]);

    public void AttributeU32(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        MemoryMarshal.Write(bytes, in value);
        Attribute(type, bytes);
    }

    public void AttributeU64(ushort type, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        MemoryMarshal.Write(bytes, in value);
        Attribute(type, bytes);
    }

    /// <summary>An attribute whose value is a fixed kernel struct (tc_tbf_qopt, tc_mirred).</summary>
    public void AttributeStruct<T>(ushort type, in T value) where T : unmanaged =>
        Attribute(type, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    public void AttributeAddress(ushort type, IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
            throw new ArgumentException($"cannot encode address {address}", nameof(address));
        Attribute(type, bytes[..written]);
    }

    /// <summary>A NUL-terminated string, as the kernel expects for names (IFLA_IFNAME, IFA_LABEL).</summary>
    public void AttributeString(ushort type, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteAttributeHeader(type, 4 + length + 1);
        Encoding.UTF8.GetBytes(value, _buffer.Slice(_position + 4, length));
        _buffer[_position + 4 + length] = 0;
        _position += 4 + length + 1;
        Align();
    }

    /// <summary>Opens a nested attribute (NLA_F_NESTED set); close it with <see cref="EndNested"/>.</summary>
    public int BeginNested(ushort type)
    {
        var start = _position;
        WriteAttributeHeader((ushort)(type | AttrFlags.Nested), 4);
        _position += 4;
        return start;
    }

    public void EndNested(int start) =>
        MemoryMarshal.Write(_buffer[start..], checked((ushort)(_position - start)));

    private readonly void WriteAttributeHeader(ushort type, int length)
    {
        var header = _buffer.Slice(_position, 4);
        if (_position + Align4(length) > _buffer.Length) throw new ArgumentOutOfRangeException(nameof(length), "netlink buffer full");
        MemoryMarshal.Write(header, checked((ushort)length));
        MemoryMarshal.Write(header[2..], type);
    }

    private void Align()
    {
        var aligned = Align4(_position);
        _buffer[_position..aligned].Clear();
        _position = aligned;
    }

    public static int Align4(int length) => (length + 3) & ~3;
}
