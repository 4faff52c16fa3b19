using System.Globalization;
using System.Net;
using System.Text;
using Calico.Model.Desired;
using Calico.Model.Net;

namespace Calico.Dataplane.Linux.Bgp;

/// <summary>
/// BIRD 2's configuration for one host, a pure function of its desired state (golden-text tested, and parsed by
/// `bird -p` in the tests), shaped as Calico's confd templates shape it:
/// <list type="bullet">
/// <item>router id: the host's IPv4 address; a `device` protocol; a `direct` protocol for the host's own subnets
/// (not the workload interfaces), which resolves a peer's next hop (`gateway recursive`) on a shared segment.</item>
/// <item>a `kernel` protocol with learn (routes others put in the kernel, such as a default route, resolve next hops),
/// persist (its routes stay in the kernel when BIRD stops), graceful restart and merge paths, whose export filter
/// lets into the kernel only what peers taught (source BGP): the agent's own routes stay the agent's.</item>
/// <item>what the host announces, as blackholes of a `static` protocol that only BGP exports (the kernel filter refuses
/// them): its own blocks (from the blackhole route items), the addresses it holds outside them (local routes no block
/// covers, /32) and the floating IPs of its ports (/32). Being static, they also outrank (preference 200 against 100) a
/// peer's route to the same prefix, so a workload that just moved here is never routed back to its old host.</item>
/// <item>a template with Calico's peer settings and one `protocol bgp` per peer: another host (the node-to-node mesh,
/// or a route reflector; on the reflector's side its clients carry `rr client` and its `rr cluster id`), or an
/// operator's peer with its AS (eBGP when it differs from the host's, then `direct` unless multihop was asked) and
/// its `password`.</item>
/// </list>
/// IPv6, when the host has an IPv6 address (<see cref="BgpNodeItem.Ipv6Address"/>), as Calico's bird6 configuration
/// has it: the same protocols once more for BIRD's ipv6 table (kernel, direct, static with the host's IPv6 blocks,
/// /128s outside them and IPv6 floating IPs) and a second template whose sessions start from the host's IPv6 address
/// (so that it is the next hop of what they announce), one session per peer's IPv6 address: another host's
/// (<see cref="BgpPeerItem.Ipv6Address"/>) or an operator's IPv6 peer. Written apart, after the IPv4 part
/// (<see cref="RenderIpv6Tables"/>, <see cref="RenderIpv6Sessions"/>); without an IPv6 address the file is IPv4 only.
/// </summary>
public sealed partial record BirdConfiguration(BgpNodeItem Node, IReadOnlyList<BgpPeerItem> Peers, IReadOnlyList<IpPrefix> Exports, string Text)
{
    public const string ExportProtocol = "calico_exports";

    /// <summary>
    /// The configuration, or null when the host runs no BIRD (no <see cref="BgpNodeItem"/>: direct routing mode).
    /// <paramref name="workloadInterfacePrefix"/> keeps the workload taps out of the `direct` protocol.
    /// </summary>
    /// <param name="arrived">
    /// Taps of a live migration to this host whose VM the agent has seen arrive (the routes component's takeover):
    /// their standby routes are announced at once, before the control plane has heard of the arrival.
    /// </param>
    public static BirdConfiguration? Compute(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, string workloadInterfacePrefix,
        BgpOptions timers, IReadOnlySet<string>? arrived = null)
    {
        if (desired.GetValueOrDefault(BgpNodeItem.NodeKey) is not BgpNodeItem node) return null;
        var peers = desired.Values.OfType<BgpPeerItem>()
            .Where(p => !p.Address.Equals(node.RouterId) && !p.Address.Equals(node.Ipv6Address))
            .OrderBy(p => p.Address, Comparer<IPAddress>.Create(IpAddresses.Compare)).ToList();
        var exports = Announced(desired.Values, 4, arrived);
        var exports6 = node.Ipv6Address is null ? [] : Announced(desired.Values, 6, arrived);
        return new BirdConfiguration(node, peers, exports, Render(node, peers, exports, exports6, workloadInterfacePrefix, timers))
        {
            Exports6 = exports6,
        };
    }

    /// <summary>What the IPv6 table announces (empty when the host has no IPv6 address, so no IPv6 session).</summary>
    public IReadOnlyList<IpPrefix> Exports6 { get; init; } = [];

    /// <summary>
    /// Own blocks, local addresses outside them (/32, /128), floating IPs of local ports, of one IP version, sorted,
    /// each once. A live migration's standby route is not announced until the VM has arrived on its tap
    /// (<paramref name="arrived"/>): from then on the target announces the address.
    /// </summary>
    public static List<IpPrefix> Announced(IEnumerable<DesiredItem> items, int version = 4, IReadOnlySet<string>? arrived = null)
    {
        var routes = items.OfType<RouteItem>().Where(r => r.Destination.Version == version).ToList();
        var blocks = routes.Where(r => r.Kind == RouteKind.Blackhole).Select(r => r.Destination).ToList();
        var exports = new HashSet<IpPrefix>(blocks);
        foreach (var local in routes.Where(r => r.Kind == RouteKind.Local && (!r.Standby || (arrived?.Contains(r.InterfaceName!) ?? false))))
            if (!blocks.Any(b => b.Contains(local.Destination.Address))) exports.Add(local.Destination);
        foreach (var nat in items.OfType<FloatingNatItem>())
            if (nat.FloatingAddress.Version() == version) exports.Add(IpPrefix.Host(nat.FloatingAddress));
        return [.. exports.Order(MemberBuckets.Comparer)];
    }

    /// <summary>
    /// A BIRD protocol name for a session with a peer at <paramref name="neighbor"/> (default: the peer's address),
    /// letters, digits and underscores, prefixed as Calico does by where it comes from: Mesh_172_18_203_44 (another
    /// host), Global_10_1_0_1, Node_10_1_0_1 (an operator's peer, global or per host); IPv6 as Calico spells it too,
    /// every ':' an '_' (Mesh_2001_db8_ff__44).
    /// </summary>
    public static string ProtocolName(BgpPeerItem peer, IPAddress? neighbor = null) => peer.Source switch
    {
        BgpPeerSource.Global => "Global_",
        BgpPeerSource.Host => "Node_",
        _ => "Mesh_",
    } + (neighbor ?? peer.Address).ToString().Replace('.', '_').Replace(':', '_');

    /// <summary>The address of a peer's protocol name, or null when the name is none of ours.</summary>
    public static IPAddress? AddressOfProtocol(string name)
    {
        var at = name.IndexOf('_');
        if (at < 0 || name[..at] is not ("Mesh" or "Global" or "Node")) return null;
        // An IPv4 address has exactly three separators; an IPv6 one seven, or fewer with "::" (a double underscore).
        var rest = name[(at + 1)..];
        var ipv4 = rest.Count(c => c == '_') == 3 && !rest.Contains("__", StringComparison.Ordinal);
        return IPAddress.TryParse(rest.Replace('_', ipv4 ? '.' : ':'), out var address) && address.Version() == (ipv4 ? 4 : 6) ? address : null;
    }

    private static string Description(BgpPeerItem peer) => peer.Source switch
    {
        BgpPeerSource.Global => "global peer",
        BgpPeerSource.Host => "peer of selected hosts",
        _ => peer.RouteReflectorClient ? $"route reflector client {peer.Host}" : $"host {peer.Host}",
    };

    private static string Render(BgpNodeItem node, IReadOnlyList<BgpPeerItem> peers, IReadOnlyList<IpPrefix> exports,
        IReadOnlyList<IpPrefix> exports6, string workloadInterfacePrefix, BgpOptions timers)
    {
        var c = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.Append("# Written by the Calico compute agent from this host's desired state; rewritten on every change.\n");
        b.Append(c, $"router id {node.RouterId};\n");
        b.Append("log stderr { info, remote, warning, error, auth, fatal, bug };\n");
        b.Append("# Full dates in `show protocols`, which the agent reads for the sessions' status.\n");
        b.Append("timeformat protocol iso long;\n");
        b.Append(c, $"graceful restart wait {(int)timers.BirdGracefulRestartWait.TotalSeconds};\n\n");

        b.Append("# Into the kernel only what peers taught: the agent's own routes stay the agent's.\n");
        b.Append("filter calico_kernel_programming {\n  if source = RTS_BGP then accept;\n  reject;\n}\n\n");
        b.Append(node.RouteReflectorClusterId is null ? "# To peers only what this host announces.\n"
            : "# To peers what this host announces, and as a route reflector what its peers taught.\n");
        b.Append(c, $"filter calico_export_to_bgp_peers {{\n  if proto = \"{ExportProtocol}\" then accept;\n");
        if (node.Ipv6Address is not null) b.Append(c, $"  if proto = \"{ExportProtocol6}\" then accept;\n");
        // A route reflector passes on what its peers taught (BIRD's iBGP rules decide to whom).
        if (node.RouteReflectorClusterId is not null) b.Append("  if source = RTS_BGP then accept;\n");
        b.Append("  reject;\n}\n\n");

        b.Append("protocol device {\n  scan time 2;\n}\n\n");
        b.Append("# The host's own subnets (not its workloads), so that a peer's next hop on a shared segment resolves.\n");
        RenderTables(b, "", "ipv4", ExportProtocol, exports, workloadInterfacePrefix);
        if (node.Ipv6Address is not null) RenderIpv6Tables(b, exports6, workloadInterfacePrefix);

        RenderTemplate(b, "calico_peer", node.RouterId, node.AsNumber, "ipv4", timers);
        foreach (var peer in peers.Where(p => p.Address.Version() == 4)) RenderSession(b, node, peer, peer.Address, "calico_peer");
        RenderIpv6Sessions(b, node, peers, timers);
        return b.ToString();
    }

    /// <summary>
    /// One IP version's table as the kernel and this host fill it: a `direct` protocol for the host's own subnets, the
    /// `kernel` protocol (only BGP's routes go in) and the `static` one holding what the host announces.
    /// </summary>
    private static void RenderTables(StringBuilder b, string suffix, string channel, string exportProtocol, IReadOnlyList<IpPrefix> exports,
        string workloadInterfacePrefix)
    {
        var c = CultureInfo.InvariantCulture;
        b.Append(c, $"protocol direct calico_direct{suffix} {{\n  {channel};\n  interface -\"{workloadInterfacePrefix}*\", -\"ns-dhcp*\", \"*\";\n}}\n\n");
        b.Append(c, $"protocol kernel calico_kernel{suffix} {{\n  learn;\n  persist;\n  scan time 2;\n  graceful restart;\n  merge paths on;\n");
        b.Append(c, $"  {channel} {{\n    import all;\n    export filter calico_kernel_programming;\n  }};\n}}\n\n");

        b.Append("# What this host announces: its blocks, its addresses outside them, its ports' floating IPs.\n");
        b.Append(c, $"protocol static {exportProtocol} {{\n  {channel};\n");
        foreach (var prefix in exports) b.Append(c, $"  route {prefix} blackhole;\n");
        b.Append("}\n\n");
    }

    /// <summary>Calico's peer settings for the sessions of one IP version, which start from <paramref name="local"/>.</summary>
    private static void RenderTemplate(StringBuilder b, string name, IPAddress local, uint asNumber, string channel, BgpOptions timers)
    {
        var c = CultureInfo.InvariantCulture;
        b.Append(c, $"template bgp {name} {{\n");
        b.Append(c, $"  local {local} as {asNumber};\n");
        b.Append("  multihop;\n  graceful restart;\n  connect delay time 2;\n  connect retry time 5;\n  error wait time 5,30;\n");
        var hold = (int)timers.BgpHoldTime.TotalSeconds;
        b.Append(c, $"  hold time {hold};\n  keepalive time {Math.Max(1, hold / 3)};\n  graceful restart time {(int)timers.BirdGracefulRestartTime.TotalSeconds};\n");
        b.Append(c, $"  {channel} {{\n    import all;\n    export filter calico_export_to_bgp_peers;\n    gateway recursive;\n    add paths on;\n  }};\n}}\n");
    }

    private static void RenderSession(StringBuilder b, BgpNodeItem node, BgpPeerItem peer, IPAddress neighbor, string template)
    {
        var c = CultureInfo.InvariantCulture;
        b.Append(c, $"\nprotocol bgp {ProtocolName(peer, neighbor)} from {template} {{\n");
        b.Append(c, $"  description \"{Description(peer)}\";\n");
        b.Append(c, $"  neighbor {neighbor} as {peer.AsNumber};\n");
        // An operator's eBGP peer (a top-of-rack router) is a neighbour on the segment unless asked otherwise;
        // other hosts, whatever their AS, stay multihop (they may sit in another rack).
        if (peer.Source != BgpPeerSource.Mesh && peer.AsNumber != node.AsNumber && !peer.Multihop) b.Append("  direct;\n");
        if (peer.RouteReflectorClient && node.RouteReflectorClusterId is { } clusterId)
            b.Append(c, $"  rr client;\n  rr cluster id {clusterId};\n");
        if (peer.Password is { } password) b.Append(c, $"  password \"{password}\";\n");
        b.Append("}\n");
    }
}
