namespace Calico.Netlink.Wire;

// Values from the Linux uapi headers netlink.h, rtnetlink.h, if_link.h, if_addr.h, neighbour.h, pkt_sched.h,
// pkt_cls.h and tc_act/tc_mirred.h.

/// <summary>nlmsghdr.nlmsg_type values: control messages and the rtnetlink requests we use.</summary>
internal static class MessageType
{
    public const ushort Noop = 1;
    public const ushort Error = 2;
    public const ushort Done = 3;
    public const ushort Overrun = 4;

    public const ushort NewLink = 16;
    public const ushort DelLink = 17;
    public const ushort GetLink = 18;
    public const ushort SetLink = 19;
    public const ushort NewAddr = 20;
    public const ushort DelAddr = 21;
    public const ushort GetAddr = 22;
    public const ushort NewRoute = 24;
    public const ushort DelRoute = 25;
    public const ushort GetRoute = 26;
    public const ushort NewNeigh = 28;
    public const ushort DelNeigh = 29;
    public const ushort GetNeigh = 30;
    public const ushort NewQdisc = 36;
    public const ushort DelQdisc = 37;
    public const ushort GetQdisc = 38;
    public const ushort NewTFilter = 44;
    public const ushort DelTFilter = 45;
    public const ushort GetTFilter = 46;
}

/// <summary>nlmsghdr.nlmsg_flags.</summary>
internal static class MessageFlags
{
    public const ushort Request = 0x01;
    public const ushort Multi = 0x02;
    public const ushort Ack = 0x04;
    public const ushort DumpInterrupted = 0x10;
    public const ushort DumpFiltered = 0x20;

    public const ushort Dump = 0x300; // NLM_F_ROOT | NLM_F_MATCH

    public const ushort Replace = 0x100;
    public const ushort Exclusive = 0x200;
    public const ushort Create = 0x400;

    // On NLMSG_ERROR replies.
    public const ushort Capped = 0x100;
    public const ushort AckTlvs = 0x200;
}

/// <summary>enum nlmsgerr_attrs: TLVs after an error when NETLINK_EXT_ACK is on.</summary>
internal static class ExtAckAttr
{
    public const ushort Message = 1;
    public const ushort Offset = 2;
}

internal static class AttrFlags
{
    public const ushort Nested = 0x8000;
    public const ushort NetByteOrder = 0x4000;
    public const ushort TypeMask = 0x3fff;
}

/// <summary>enum rtattr_type_t.</summary>
internal static class RouteAttr
{
    public const ushort Dst = 1;
    public const ushort Src = 2;
    public const ushort Iif = 3;
    public const ushort Oif = 4;
    public const ushort Gateway = 5;
    public const ushort Priority = 6;
    public const ushort PrefSrc = 7;
    public const ushort Metrics = 8;
    public const ushort Multipath = 9;
    public const ushort Table = 15;
}

/// <summary>IFLA_* and IFLA_INFO_* attributes.</summary>
internal static class LinkAttr
{
    public const ushort Address = 1;
    public const ushort IfName = 3;
    public const ushort Mtu = 4;
    public const ushort Link = 5;
    public const ushort Master = 10;
    public const ushort OperState = 16;
    public const ushort LinkInfo = 18;

    /// <summary>IFLA_STATS64: struct rtnl_link_stats64, whose first field is rx_packets (u64).</summary>
    public const ushort Stats64 = 23;

    public const ushort InfoKind = 1;
    public const ushort InfoData = 2;

    /// <summary>VETH_INFO_PEER, inside IFLA_INFO_DATA of a veth: a struct ifinfomsg, then the peer's own IFLA_* attributes.</summary>
    public const ushort VethInfoPeer = 1;
}

/// <summary>IFA_* attributes.</summary>
internal static class AddressAttr
{
    public const ushort Address = 1;
    public const ushort Local = 2;
    public const ushort Label = 3;
    public const ushort Broadcast = 4;
    public const ushort Flags = 8;
}

/// <summary>NDA_* attributes.</summary>
internal static class NeighbourAttr
{
    public const ushort Dst = 1;
    public const ushort LinkLayerAddress = 2;
}

/// <summary>Kernel address families (AF_*), as they appear in rtnetlink headers.</summary>
internal static class Family
{
    public const byte Unspecified = 0;
    public const byte Inet = 2;
    public const byte Inet6 = 10;
}

/// <summary>TCA_* attributes of qdisc and filter messages (rtnetlink.h), and those of the kinds we program.</summary>
internal static class TcAttr
{
    public const ushort Kind = 1;
    public const ushort Options = 2;

    /// <summary>TCA_TBF_* (pkt_sched.h).</summary>
    public const ushort TbfParms = 1;
    public const ushort TbfRate64 = 4;
    public const ushort TbfBurst = 6;
    public const ushort TbfPad = 8;

    /// <summary>TCA_U32_* (pkt_cls.h).</summary>
    public const ushort U32Selector = 5;
    public const ushort U32Actions = 7;

    /// <summary>TCA_ACT_* (pkt_cls.h): one action inside a filter's action list, nested under its order (1, 2, ...).</summary>
    public const ushort ActKind = 1;
    public const ushort ActOptions = 2;

    /// <summary>TCA_MIRRED_PARMS (tc_act/tc_mirred.h).</summary>
    public const ushort MirredParms = 2;
}
