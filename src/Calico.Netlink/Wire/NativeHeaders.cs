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

/// <summary>struct tcmsg (20 bytes): the header of qdisc, class and filter messages.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct TcMsg
{
    public const int Size = 20;
    public byte Family;
    public byte Pad1;
    public ushort Pad2;
    public int Index;
    public uint Handle;
    public uint Parent;
    /// <summary>For a filter: priority in the upper 16 bits, protocol (network byte order) in the lower.</summary>
    public uint Info;
}

/// <summary>struct tc_ratespec (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct TcRateSpec
{
    public byte CellLog;
    public byte LinkLayer;
    public ushort Overhead;
    public short CellAlign;
    public ushort Mpu;
    public uint Rate;
}

/// <summary>struct tc_tbf_qopt (36 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct TcTbfQopt
{
    public const int Size = 36;
    public TcRateSpec Rate;
    public TcRateSpec PeakRate;
    public uint Limit;
    /// <summary>The bucket in scheduler ticks (64 ns each): how long the burst takes at the rate.</summary>
    public uint Buffer;
    public uint Mtu;
}

/// <summary>struct tc_u32_sel without its keys (16 bytes); nkeys struct tc_u32_key follow it.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct TcU32Sel
{
    public const int Size = 16;
    public byte Flags;
    public byte OffShift;
    public byte KeyCount;
    public byte Pad;
    public ushort OffMask;
    public ushort Off;
    public short OffOff;
    public short HOff;
    public uint HMask;
}

/// <summary>struct tc_u32_key (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct TcU32Key
{
    public uint Mask;
    public uint Value;
    public int Off;
    public int OffMask;
}

/// <summary>struct tc_mirred (28 bytes): tc_gen (index, capab, action, refcnt, bindcnt), then eaction and ifindex.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct TcMirred
{
    public const int Size = 28;
    public uint Index;
    public uint Capab;
    public int Action;
    public int RefCount;
    public int BindCount;
    public int EAction;
    public int TargetIndex;
}
