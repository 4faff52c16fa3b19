using System.Net;
using System.Net.Sockets;

namespace Calico.Netlink;

/// <summary>
/// What makes two routes the same route to the kernel, so that a dictionary keyed by this holds exactly one entry
/// per kernel route and a replace of a key overwrites exactly the route that key names:
/// <list type="bullet">
/// <item>table and destination prefix (the family is the prefix's);</item>
/// <item>priority (metric): both IPv4 (fib_find_alias) and IPv6 (fib6_add_rt2node) keep routes that differ only in
/// metric side by side, and NLM_F_REPLACE replaces only the route with the same metric. IPv6 stores 0 as 1024
/// (IP6_RT_PRIO_USER), so the key does the same, otherwise a desired IPv6 route with metric 0 would never equal what
/// the kernel lists;</item>
/// <item>TOS: IPv4 keys aliases by TOS as well. We never write a non-zero TOS, but a foreign route with one must not
/// collide with ours in a map of the kernel's routes.</item>
/// </list>
/// Not in the key: gateway, device, type, scope and protocol — the kernel refuses a second route that differs only in
/// those (EEXIST) and a replace changes them. IPv6 source-specific routes (RTA_SRC) are out of scope: we never
/// write them.
/// </summary>
public readonly record struct RouteKey
{
    /// <summary>The metric the kernel gives an IPv6 route added with metric 0.</summary>
    public const uint DefaultIPv6Priority = 1024;

    public RouteKey(IPNetwork destination, uint table = RouteTables.Main, uint priority = 0, byte tos = 0)
    {
        if (destination.BaseAddress is null) throw new ArgumentException("destination prefix is empty", nameof(destination));
        if (table == RouteTables.Unspecified) throw new ArgumentOutOfRangeException(nameof(table), "table 0 is not a table");
        Destination = destination;
        Table = table;
        Priority = priority == 0 && destination.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6
            ? DefaultIPv6Priority
            : priority;
        Tos = tos;
    }

    public IPNetwork Destination { get; }

    public uint Table { get; }

    public uint Priority { get; }

    public byte Tos { get; }

    public AddressFamily Family => Destination.BaseAddress?.AddressFamily ?? AddressFamily.Unspecified;

    public override string ToString()
    {
        var text = $"{Destination} table {RouteTables.Name(Table)}";
        if (Priority != 0) text += $" metric {Priority}";
        if (Tos != 0) text += $" tos 0x{Tos:x2}";
        return text;
    }
}

/// <summary>Reserved routing table ids (enum rt_class_t).</summary>
public static class RouteTables
{
    public const uint Unspecified = 0;
    public const uint Default = 253;
    public const uint Main = 254;
    public const uint Local = 255;

    public static string Name(uint table) => table switch
    {
        Main => "main",
        Local => "local",
        Default => "default",
        _ => table.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
