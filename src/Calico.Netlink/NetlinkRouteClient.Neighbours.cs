using System.Net.Sockets;
using Calico.Netlink.Codecs;
using Calico.Netlink.Wire;

namespace Calico.Netlink;

public sealed partial class NetlinkRouteClient
{
    /// <summary>
    /// Lists ARP/NDP cache entries and proxy entries (two dumps: the kernel lists proxies only when asked for them
    /// alone), of one family (both by default) and one interface (all when 0).
    /// </summary>
    public IReadOnlyList<Neighbour> ListNeighbours(AddressFamily family = AddressFamily.Unspecified, int interfaceIndex = 0)
    {
        RouteCodec.FamilyOf(family);
        Func<Neighbour, bool> keep = n => interfaceIndex == 0 || n.InterfaceIndex == interfaceIndex;
        return Locked(() =>
        {
            var entries = DumpNeighbours(family, proxies: false, keep);
            // The proxy dump marks its entries NTF_PROXY itself; keep only those in case a kernel ignores the filter.
            entries.AddRange(DumpNeighbours(family, proxies: true, n => n.IsProxy && keep(n)));
            return entries;
        });
    }

    /// <summary>
    /// Adds the entry; EEXIST if there is one for that address and interface. Proxy entries are the exception: the
    /// kernel returns the existing one (pneigh_create), so adding a proxy entry twice succeeds.
    /// </summary>
    public void AddNeighbour(Neighbour neighbour) =>
        WriteNeighbour(MessageType.NewNeigh, neighbour, MessageFlags.Create | MessageFlags.Exclusive, "add");

    /// <summary>Creates or overwrites the entry: the idempotent write.</summary>
    public void ReplaceNeighbour(Neighbour neighbour) =>
        WriteNeighbour(MessageType.NewNeigh, neighbour, MessageFlags.Create | MessageFlags.Replace, "replace");

    /// <summary>Deletes the entry (from the proxy table if it is a proxy entry); ENOENT if there is none.</summary>
    public void DeleteNeighbour(Neighbour neighbour) => WriteNeighbour(MessageType.DelNeigh, neighbour, 0, "delete");

    private List<Neighbour> DumpNeighbours(AddressFamily family, bool proxies, Func<Neighbour, bool> keep) => Dump(
        (ref NetlinkWriter writer, uint sequence) => NeighbourCodec.EncodeDump(ref writer, family, proxies, sequence),
        MessageType.NewNeigh, NeighbourCodec.Decode, keep,
        () => proxies ? "list proxy neighbours" : "list neighbours");

    private void WriteNeighbour(ushort type, Neighbour neighbour, int flags, string verb)
    {
        ArgumentNullException.ThrowIfNull(neighbour);
        Locked(() => Execute(
            (ref NetlinkWriter writer, uint sequence) =>
                NeighbourCodec.Encode(ref writer, type, neighbour, (ushort)(flags | MessageFlags.Ack), sequence),
            () => $"{verb} {(neighbour.IsProxy ? "proxy neighbour" : "neighbour")} {neighbour.Destination} dev {InterfaceNameOrIndex(neighbour.InterfaceIndex)}"));
    }
}
