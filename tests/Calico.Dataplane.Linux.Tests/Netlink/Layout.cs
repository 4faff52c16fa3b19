namespace Calico.Dataplane.Linux.Tests.Netlink;

/// <summary>
/// Builds expected netlink byte layouts by hand, field by field as the uapi headers define them (host order:
/// these tests run on little-endian machines, which <see cref="Layout()"/> asserts).
/// </summary>
internal sealed class Layout
{
    private readonly List<byte> _bytes = [];

    public Layout() => Assert.True(BitConverter.IsLittleEndian, "layouts are written for little-endian hosts");

    public Layout U8(params byte[] values) { _bytes.AddRange(values); return this; }

    public Layout U16(ushort value) { _bytes.AddRange(BitConverter.GetBytes(value)); return this; }

    public Layout U32(uint value) { _bytes.AddRange(BitConverter.GetBytes(value)); return this; }

    public Layout S32(int value) { _bytes.AddRange(BitConverter.GetBytes(value)); return this; }

    /// <summary>struct nlmsghdr.</summary>
    public Layout Header(uint length, ushort type, ushort flags, uint sequence, uint portId = 0) =>
        U32(length).U16(type).U16(flags).U32(sequence).U32(portId);

    /// <summary>An rtattr: length (header + value, unpadded), type, value, zero padding to 4.</summary>
    public Layout Attr(ushort type, params byte[] value)
    {
        U16((ushort)(4 + value.Length)).U16(type).U8(value);
        while (_bytes.Count % 4 != 0) _bytes.Add(0);
        return this;
    }

    public Layout AttrU32(ushort type, uint value) => Attr(type, BitConverter.GetBytes(value));

    public int Length => _bytes.Count;

    public byte[] ToArray() => [.. _bytes];
}
