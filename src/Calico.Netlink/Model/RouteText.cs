using System.Globalization;
using System.Text;

namespace Calico.Netlink;

/// <summary>Renders a route the way `ip route` prints it, so that messages and logs read like the tool operators know.</summary>
internal static class RouteText
{
    public static string Format(Route route, Func<int, string> interfaceName)
    {
        var text = new StringBuilder();
        if (route.Type is not RouteType.Unicast and not RouteType.Unspecified)
            text.Append(TypeName(route.Type)).Append(' ');
        text.Append(route.Destination);
        if (route.Gateway is not null) text.Append(" via ").Append(route.Gateway);
        if (route.OutputInterface != 0) text.Append(" dev ").Append(interfaceName(route.OutputInterface));
        if (route.Key.Table != RouteTables.Main) text.Append(" table ").Append(RouteTables.Name(route.Key.Table));
        if (route.Protocol != RouteProtocol.Unspecified) text.Append(" proto ").Append(ProtocolName(route.Protocol));
        if (route.Key.Priority != 0) text.Append(" metric ").Append(route.Key.Priority.ToString(CultureInfo.InvariantCulture));
        if (route.PreferredSource is not null) text.Append(" src ").Append(route.PreferredSource);
        if ((route.Flags & RouteFlags.OnLink) != 0) text.Append(" onlink");
        return text.ToString();
    }

    /// <summary>The key alone plus the protocol guard: what a delete names.</summary>
    public static string FormatKey(RouteKey key, RouteProtocol protocol)
    {
        var text = $"{key.Destination}";
        if (key.Table != RouteTables.Main) text += $" table {RouteTables.Name(key.Table)}";
        if (protocol != RouteProtocol.Unspecified) text += $" proto {ProtocolName(protocol)}";
        if (key.Priority != 0) text += $" metric {key.Priority}";
        return text;
    }

    public static string ProtocolName(RouteProtocol protocol) =>
        Enum.IsDefined(protocol) ? protocol.ToString().ToLowerInvariant() : ((byte)protocol).ToString(CultureInfo.InvariantCulture);

    private static string TypeName(RouteType type) =>
        Enum.IsDefined(type) ? type.ToString().ToLowerInvariant() : ((byte)type).ToString(CultureInfo.InvariantCulture);
}
