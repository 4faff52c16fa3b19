using System.Net.Sockets;
using Calico.Netlink.Codecs;
using Calico.Netlink.Wire;

namespace Calico.Netlink;

public sealed partial class NetlinkRouteClient
{
    /// <summary>
    /// Lists the routes matching <paramref name="filter"/> (all tables, both families, every protocol by default).
    /// The kernel filters by table, protocol and device when it does strict checking; the client filters again.
    /// Cached IPv6 exceptions (RTM_F_CLONED) are not listed.
    /// </summary>
    public IReadOnlyList<Route> ListRoutes(RouteFilter? filter = null)
    {
        filter ??= RouteFilter.All;
        var families = filter.Family == AddressFamily.Unspecified
            ? [AddressFamily.InterNetwork, AddressFamily.InterNetworkV6]
            : new[] { filter.Family };
        return Locked(() =>
        {
            var routes = new List<Route>();
            foreach (var family in families) routes.AddRange(DumpRoutes(family, filter));
            return routes;
        });
    }

    /// <summary>Creates the route; EEXIST if a route with its key exists (whatever it points at).</summary>
    public void AddRoute(Route route) => WriteRoute(RouteOperation.Add(route));

    /// <summary>Creates the route or overwrites the one with its key: the idempotent write.</summary>
    public void ReplaceRoute(Route route) => WriteRoute(RouteOperation.Replace(route));

    /// <summary>
    /// Deletes the route with <paramref name="route"/>'s key, whatever it points at, but only if its protocol is
    /// <paramref name="route"/>'s (unless that is Unspecified): ESRCH if there is no such route.
    /// </summary>
    public void DeleteRoute(Route route) => WriteRoute(RouteOperation.Delete(route));

    /// <summary>Deletes the route with <paramref name="key"/> if its protocol is <paramref name="protocol"/> (any if Unspecified).</summary>
    public void DeleteRoute(RouteKey key, RouteProtocol protocol) =>
        DeleteRoute(new Route(key, RouteType.Unspecified, null, 0, protocol, RouteScope.Nowhere));

    private void WriteRoute(RouteOperation operation)
    {
        ArgumentNullException.ThrowIfNull(operation.Route);
        Locked(() => Execute(
            (ref NetlinkWriter writer, uint sequence) => EncodeRouteOperation(ref writer, operation, MessageFlags.Ack, sequence),
            () => operation.Describe(InterfaceNameOrIndex)));
    }

    private List<Route> DumpRoutes(AddressFamily family, RouteFilter filter)
    {
        var cache = new AddressCache();
        try
        {
            return Dump(
                (ref NetlinkWriter writer, uint sequence) => RouteCodec.EncodeDump(ref writer, RouteCodec.FamilyOf(family), filter, sequence),
                MessageType.NewRoute,
                payload => RouteCodec.Decode(payload, cache),
                filter.Matches,
                () => $"list {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} routes");
        }
        catch (NetlinkException e) when (e.Errno == Errno.ENOENT && filter.Table is not null)
        {
            // IPv4 answers a dump of a table that does not exist yet with ENOENT: it simply has no routes.
            return [];
        }
    }

    private static void EncodeRouteOperation(ref NetlinkWriter writer, RouteOperation operation, ushort flags, uint sequence)
    {
        switch (operation.Kind)
        {
            case RouteOperationKind.Replace:
                RouteCodec.EncodeNew(ref writer, operation.Route, (ushort)(flags | MessageFlags.Create | MessageFlags.Replace), sequence);
                break;
            case RouteOperationKind.Add:
                RouteCodec.EncodeNew(ref writer, operation.Route, (ushort)(flags | MessageFlags.Create | MessageFlags.Exclusive), sequence);
                break;
            case RouteOperationKind.Delete:
                RouteCodec.EncodeDelete(ref writer, operation.Route.Key, operation.Route.Protocol, flags, sequence);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(operation), operation.Kind, "unknown route operation");
        }
    }
}
