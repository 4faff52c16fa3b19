using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Calico.Model.Net;

/// <summary>IP protocol numbers and the names Neutron accepts for them.</summary>
public static class IpProtocols
{
    public const int Icmp = 1;
    public const int Tcp = 6;
    public const int Udp = 17;
    public const int Dccp = 33;
    public const int Icmpv6 = 58;
    public const int Sctp = 132;
    public const int UdpLite = 136;

    private static readonly Dictionary<string, int> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ah"] = 51, ["dccp"] = Dccp, ["egp"] = 8, ["esp"] = 50, ["gre"] = 47, ["icmp"] = Icmp,
        ["icmpv6"] = Icmpv6, ["ipv6-icmp"] = Icmpv6, ["igmp"] = 2, ["ipip"] = 4, ["ipv6-encap"] = 41,
        ["ipv6-frag"] = 44, ["ipv6-nonxt"] = 59, ["ipv6-opts"] = 60, ["ipv6-route"] = 43, ["ospf"] = 89,
        ["pgm"] = 113, ["rsvp"] = 46, ["sctp"] = Sctp, ["tcp"] = Tcp, ["udp"] = Udp, ["udplite"] = UdpLite, ["vrrp"] = 112,
    };

    /// <summary>Parses a name ("tcp"), a number ("6"), or "any"/empty (null: every protocol).</summary>
    public static bool TryParse(string? text, out int? protocol, [NotNullWhen(false)] out string? error)
    {
        protocol = null;
        error = null;
        if (string.IsNullOrEmpty(text) || text.Equals("any", StringComparison.OrdinalIgnoreCase)) return true;
        if (ByName.TryGetValue(text, out var number)) { protocol = number; return true; }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out number) && number <= 255)
        {
            protocol = number;
            return true;
        }
        error = $"'{text}' is not a protocol name or a number 0..255";
        return false;
    }

    public static string Name(int protocol) =>
        protocol switch
        {
            Icmp => "icmp", Tcp => "tcp", Udp => "udp", Icmpv6 => "ipv6-icmp", Sctp => "sctp", UdpLite => "udplite", Dccp => "dccp",
            _ => ByName.FirstOrDefault(kv => kv.Value == protocol).Key ?? protocol.ToString(CultureInfo.InvariantCulture),
        };
}
