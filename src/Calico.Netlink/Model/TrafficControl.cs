using System.Globalization;

namespace Calico.Netlink;

/// <summary>Traffic-control handles (pkt_sched.h): a 16-bit major and a 16-bit minor, printed by tc as "major:minor" in hex.</summary>
public static class TcHandle
{
    /// <summary>TC_H_ROOT: the parent of a device's root (egress) qdisc.</summary>
    public const uint Root = 0xFFFF_FFFF;

    /// <summary>TC_H_INGRESS: the parent of the ingress (and clsact) qdisc.</summary>
    public const uint Ingress = 0xFFFF_FFF1;

    /// <summary>ffff:0, the handle the ingress qdisc always has, and the parent of its filters.</summary>
    public const uint IngressQdisc = 0xFFFF_0000;

    public static uint Make(ushort major, ushort minor) => ((uint)major << 16) | minor;

    public static string Format(uint handle) => handle switch
    {
        Root => "root",
        Ingress => "ingress",
        _ => (handle & 0xFFFF) == 0
            ? (handle >> 16).ToString("x", CultureInfo.InvariantCulture) + ":"
            : $"{(handle >> 16).ToString("x", CultureInfo.InvariantCulture)}:{(handle & 0xFFFF).ToString("x", CultureInfo.InvariantCulture)}",
    };
}

/// <summary>
/// A token bucket filter's settings (sch_tbf): the rate in bytes per second, the bucket (the burst that may go at
/// line rate) and the queue limit, both in bytes. Read back from the kernel, <see cref="BurstBytes"/> is what the
/// kernel's bucket time gives at the rate, so it may differ from what was written by rounding (a few bytes).
/// </summary>
public sealed record TokenBucket(ulong RateBytesPerSecond, uint BurstBytes, uint LimitBytes)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"tbf rate {Rate(RateBytesPerSecond * 8)} burst {BurstBytes}b limit {LimitBytes}b");

    /// <summary>Bits per second as tc writes them: 10Mbit, 1500Kbit, 12345bit.</summary>
    public static string Rate(ulong bits) => bits switch
    {
        _ when bits >= 1_000_000_000 && bits % 1_000_000_000 == 0 => $"{bits / 1_000_000_000}Gbit",
        _ when bits >= 1_000_000 && bits % 1_000_000 == 0 => $"{bits / 1_000_000}Mbit",
        _ when bits >= 1_000 && bits % 1_000 == 0 => $"{bits / 1_000}Kbit",
        _ => $"{bits}bit",
    };
}

/// <summary>
/// A queueing discipline as rtnetlink reports it (RTM_NEWQDISC): where it hangs (<see cref="Parent"/>: root, ingress
/// or a class), its handle, its kind ("tbf", "ingress", "pfifo_fast", ...) and, for a TBF, its settings.
/// </summary>
public sealed record Qdisc(int InterfaceIndex, uint Handle, uint Parent, string Kind, TokenBucket? TokenBucket = null)
{
    /// <summary>`tc qdisc replace dev IF root handle H tbf ...`.</summary>
    public static Qdisc RootTokenBucket(int interfaceIndex, uint handle, TokenBucket settings) =>
        new(interfaceIndex, handle, TcHandle.Root, "tbf", settings);

    /// <summary>`tc qdisc add dev IF ingress`.</summary>
    public static Qdisc IngressQdisc(int interfaceIndex) => new(interfaceIndex, TcHandle.IngressQdisc, TcHandle.Ingress, "ingress");

    public override string ToString() =>
        $"qdisc {Kind} {TcHandle.Format(Handle)} dev if{InterfaceIndex} {TcHandle.Format(Parent)}{(TokenBucket is null ? "" : $" {TokenBucket}")}";
}

/// <summary>
/// A u32 filter that matches every packet of every protocol and redirects it to the egress of another device
/// (`tc filter add dev IF parent P protocol all prio N u32 match u32 0 0 action mirred egress redirect dev T`):
/// how traffic arriving on a device is handed to an IFB device, whose root qdisc can then shape it.
/// <see cref="Handle"/> is the kernel's (800::800 for the first filter of a priority); 0 when asking for one.
/// </summary>
public sealed record RedirectFilter(int InterfaceIndex, uint Parent, ushort Priority, int TargetIndex, uint Handle = 0)
{
    public override string ToString() =>
        $"filter dev if{InterfaceIndex} parent {TcHandle.Format(Parent)} prio {Priority} u32 match all action mirred egress redirect dev if{TargetIndex}";
}

/// <summary>
/// A filter as a dump lists it: its priority, kind and handle, and where it redirects to when it is a u32 filter with
/// a mirred egress redirect (0 otherwise: another kind, the u32 hash table node, or other actions).
/// </summary>
public sealed record TcFilter(int InterfaceIndex, uint Parent, ushort Priority, string Kind, uint Handle, int RedirectTargetIndex);
