using System.Globalization;
using System.Net;
using System.Text;
using Calico.Model.Desired;
using Calico.Model.Net;

namespace Calico.Dataplane.Linux.Bgp;

/// <summary>
/// The IPv6 part of BIRD's configuration, written only when the host has an IPv6 address: BIRD 2 keeps IPv6 routes in
/// a table of their own (master6), so the kernel, direct and static protocols are there once more with ipv6 channels,
/// and IPv6 routes travel over sessions of their own between IPv6 addresses, as Calico's bird6 configuration does
/// (one session per peer address; a host peer with both addresses has two). The sessions start from the host's IPv6
/// address (`local`), which is so the next hop of every IPv6 route it announces; a route reflector leaves the next
/// hop as it came, so a client routes another host's IPv6 workloads via that host's IPv6 address.
/// </summary>
public sealed partial record BirdConfiguration
{
    public const string ExportProtocol6 = "calico_exports6";

    private static void RenderIpv6Tables(StringBuilder b, IReadOnlyList<IpPrefix> exports6, string workloadInterfacePrefix)
    {
        b.Append("# IPv6: the same for BIRD's IPv6 table.\n");
        RenderTables(b, "6", "ipv6", ExportProtocol6, exports6, workloadInterfacePrefix);
    }

    /// <summary>
    /// The IPv6 template and one session per peer's IPv6 address (another host's, or an operator's IPv6 peer); a host
    /// without an IPv6 address has none, and says so in the file for each IPv6 peer it leaves out.
    /// </summary>
    private static void RenderIpv6Sessions(StringBuilder b, BgpNodeItem node, IReadOnlyList<BgpPeerItem> peers, BgpOptions timers)
    {
        if (node.Ipv6Address is not { } local6)
        {
            foreach (var peer in peers.Where(p => p.Address.Version() == 6))
                b.Append(CultureInfo.InvariantCulture, $"\n# No IPv6 session with {peer.Address}: this host has no IPv6 address (Compute:Ipv6Address).\n");
            return;
        }
        b.Append("\n# IPv6 sessions, from this host's IPv6 address: the next hop of the IPv6 routes it announces.\n");
        RenderTemplate(b, "calico_peer6", local6, node.AsNumber, "ipv6", timers);
        var sessions = peers.Select(p => (Peer: p, Neighbor: p.Address.Version() == 6 ? p.Address : p.Ipv6Address))
            .Where(s => s.Neighbor is not null && !s.Neighbor.Equals(local6))
            .OrderBy(s => s.Neighbor!, Comparer<IPAddress>.Create(IpAddresses.Compare));
        foreach (var (peer, neighbor) in sessions) RenderSession(b, node, peer, neighbor!, "calico_peer6");
    }
}
