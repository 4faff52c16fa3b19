using System.Runtime.InteropServices;

namespace Calico.Netlink.Wire;

// Fixed headers exactly as the kernel lays them out (host byte order, no implicit padding).
// Field order and widths follow the uapi structs; sizes are asserted by unit tests.

/// <summary>struct nlmsghdr (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct NlMsgHdr
{
    public const int Size = 16;
    public uint Length;
    public ushort Type;
    public ushort Flags;
    public uint Sequence;
    public uint PortId;
}

/// <summary>struct rtmsg (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct RtMsg
{
    public const int Size = 12;
    public byte Family;
    public byte DstLength;
    public byte SrcLength;
    public byte Tos;
    public byte Table;
    public byte Protocol;
    public byte Scope;
    public byte Type;
    public uint Flags;
}

/// <summary>struct ifinfomsg (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct IfInfoMsg
{
    public const int Size = 16;
    public byte Family;
    public byte Pad;
    public ushort Type;
    public int Index;
    public uint Flags;
    public uint Change;
}

/// <summary>struct ifaddrmsg (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct IfAddrMsg
{
    public const int Size = 8;
    public byte Family;
    public byte PrefixLength;
    public byte Flags;
    public byte Scope;
    public int Index;
}

/// <summary>struct ndmsg (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct NdMsg
{
    public const int Size = 12;
    public byte Family;
    public byte Pad1;
    public ushort Pad2;
    public int Index;
    public ushort State;
    public byte Flags;
    public byte Type;
}
