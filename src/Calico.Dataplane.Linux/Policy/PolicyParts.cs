using System.Net;
using System.Net.Sockets;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;

namespace Calico.Dataplane.Linux.Policy;

/// <summary>
/// A combination of security groups with local members: the endpoints that share it share its two chains, so adding
/// an endpoint whose combination exists is only map and set elements. Stateless when every group is.
/// </summary>
public sealed record PolicyProfile(ValueList<string> Groups, bool Stateful)
{
    public string Key => (Stateful ? "stateful|" : "stateless|") + string.Join(',', Groups);

    public string IngressChain => PolicyNames.ProfileIngress(Key);

    public string EgressChain => PolicyNames.ProfileEgress(Key);

    /// <summary>
    /// To the workload: replies (when stateful), then each group's ingress rules (a match accepts), else drop.
    /// From the workload: the same with egress rules, where a match (or a reply) goes on to the destination's side.
    /// </summary>
    public (NftChain Ingress, NftChain Egress) Chains()
    {
        var onward = new NftVerdictStatement(NftVerdict.Goto(PolicyNames.ForwardToDestination));
        var drop = new NftRule([new NftVerdictStatement(NftVerdict.Drop)], "no rule of the groups allows it");
        var ingress = new List<NftRule>();
        var egress = new List<NftRule>();
        if (Stateful)
        {
            var replies = new NftConnectionStateMatch(NftConnectionStates.Established | NftConnectionStates.Related);
            ingress.Add(new NftRule([replies, new NftVerdictStatement(NftVerdict.Accept)], "replies"));
            egress.Add(new NftRule([replies, onward], "replies"));
            var invalid = new NftRule([new NftConnectionStateMatch(NftConnectionStates.Invalid), new NftVerdictStatement(NftVerdict.Drop)], "invalid");
            ingress.Add(invalid);
            egress.Add(invalid);
        }
        foreach (var group in Groups)
        {
            ingress.Add(new NftRule(new NftVerdictStatement(NftVerdict.Jump(PolicyNames.GroupIngress(group)))));
            egress.Add(new NftRule(new NftVerdictStatement(NftVerdict.Jump(PolicyNames.GroupEgress(group)))));
        }
        ingress.Add(drop);
        egress.Add(drop);
        return (new NftChain(IngressChain, ingress), new NftChain(EgressChain, egress));
    }
}

/// <summary>
/// What one endpoint puts in the table: its dispatch verdicts and the sources it may use in the shared maps and sets,
/// and the chains of its own (its packet-rate limits, <see cref="PacketRateLimits"/>), which its verdicts go to.
/// </summary>
public sealed record EndpointParts(NftInterfaceName Interface, NftVerdict From, NftVerdict To, bool Down, IReadOnlyList<(string Set, NftConcatenation Key)> Sources,
    bool Unsecured = false)
{
    public IReadOnlyList<NftChain> Chains { get; private init; } = [];

    /// <summary>
    /// The parts of an accepted endpoint. Sources: each own address with the port's MAC; each allowed pair's address
    /// (or prefix) with the pair's MAC, or the port's; and the EUI-64 link-local address of each of those MACs (what
    /// Neutron allows, so neighbour discovery works). An administratively down endpoint may send nothing. An endpoint
    /// without port security has no sources (it is in the unsecured set instead, so any source passes), no policy of
    /// its own (to it: accept; from it: on to the destination's side, whose own policy still applies).
    /// </summary>
    public static EndpointParts Of(WorkloadInterfaceItem endpoint, PolicyProfile? profile)
    {
        var parts = Dispatch(endpoint, profile);
        var (from, to) = PacketRateLimits.Of(endpoint);
        if (from is null && to is null) return parts;
        var chains = new List<NftChain>();
        return parts with
        {
            From = PacketRateLimits.Wrap(endpoint.Name, fromWorkload: true, from, parts.From, chains),
            To = PacketRateLimits.Wrap(endpoint.Name, fromWorkload: false, to, parts.To, chains),
            Chains = chains,
        };
    }

    private static EndpointParts Dispatch(WorkloadInterfaceItem endpoint, PolicyProfile? profile)
    {
        var name = new NftInterfaceName(endpoint.Name);
        if (endpoint.AdminUp && !endpoint.PortSecurity)
            return new EndpointParts(name, NftVerdict.Goto(PolicyNames.ForwardToDestination), NftVerdict.Accept, false, [], Unsecured: true);
        if (!endpoint.AdminUp || profile is null) return new EndpointParts(name, NftVerdict.Drop, NftVerdict.Drop, !endpoint.AdminUp, []);
        var mac = new NftEtherAddress(endpoint.MacAddress);
        var hosts = new SortedSet<NftConcatenation>();
        var prefixes = new List<(NftEtherAddress Mac, IpPrefix Prefix)>();
        var macs = new SortedSet<NftEtherAddress> { mac };
        foreach (var address in endpoint.Addresses) Add(mac, address);
        foreach (var pair in endpoint.AllowedAddressPairs)
        {
            var pairMac = pair.MacAddress is null ? mac : new NftEtherAddress(pair.MacAddress);
            macs.Add(pairMac);
            Add(pairMac, pair.IpAddress);
        }
        foreach (var each in macs) hosts.Add(new NftConcatenation(name, each, new NftAddress(LinkLocal(each))));

        var sources = hosts.Select(k => (PolicyNames.Sources(Version(k)), k)).ToList();
        // An interval set refuses overlapping elements: keep only prefixes no other prefix (of the same MAC) covers.
        foreach (var (pairMac, prefix) in prefixes.Distinct())
        {
            if (prefixes.Any(o => o.Mac == pairMac && o.Prefix != prefix && o.Prefix.Contains(prefix))) continue;
            sources.Add((PolicyNames.SourcePrefixes(prefix.Version), new NftConcatenation(name, pairMac, new NftAddress(prefix.ToNetwork()))));
        }
        return new EndpointParts(name, NftVerdict.Goto(profile.EgressChain), NftVerdict.Goto(profile.IngressChain), false, sources);

        void Add(NftEtherAddress owner, IpPrefix prefix)
        {
            prefix = prefix.Network;
            if (prefix.IsHost) hosts.Add(new NftConcatenation(name, owner, new NftAddress(prefix.ToNetwork())));
            else prefixes.Add((owner, prefix));
        }
    }

    /// <summary>Why nft could not hold this endpoint (a name or MAC it refuses, a name outside the workload prefix); null if it can.</summary>
    public static string? Problem(WorkloadInterfaceItem endpoint, PolicySettings settings)
    {
        try
        {
            _ = new NftInterfaceName(endpoint.Name);
            _ = new NftEtherAddress(endpoint.MacAddress);
            foreach (var pair in endpoint.AllowedAddressPairs)
            {
                if (pair.MacAddress is not null) _ = new NftEtherAddress(pair.MacAddress);
            }
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
        return endpoint.Name.StartsWith(settings.WorkloadInterfacePrefix, StringComparison.Ordinal)
            ? null
            : $"interface {endpoint.Name} does not start with Dataplane:WorkloadInterfacePrefix '{settings.WorkloadInterfacePrefix}', so its traffic would escape the workload rules";
    }

    /// <summary>fe80::/64 with the modified EUI-64 interface id of <paramref name="mac"/>.</summary>
    public static IPAddress LinkLocal(NftEtherAddress mac) => IpAddresses.Eui64(LinkLocalPrefix, mac.Bytes());

    private static readonly IpPrefix LinkLocalPrefix = IpPrefix.Parse("fe80::/64");

    private static int Version(NftConcatenation key) => key.Type == NftDataType.InterfaceEtherIpv6 ? 6 : 4;
}

/// <summary>The member addresses of one remote group, as the desired state lists them (any host in the cluster).</summary>
internal sealed class GroupMembers
{
    public HashSet<IpPrefix> All { get; } = [];

    public IEnumerable<NftValue> Hosts(int version) => All.Where(p => p.IsHost && p.Version == version).Select(p => (NftValue)new NftAddress(p.ToNetwork()));

    /// <summary>Prefix members, without those another one covers (an interval set refuses overlaps).</summary>
    public List<NftValue> Prefixes(int version)
    {
        var prefixes = All.Where(p => !p.IsHost && p.Version == version).Select(p => p.Network).Distinct().ToList();
        return [.. prefixes.Where(p => !prefixes.Any(o => o != p && o.Contains(p))).Select(p => (NftValue)new NftAddress(p.ToNetwork()))];
    }

    public bool HasPrefixes(int version) => All.Any(p => !p.IsHost && p.Version == version);
}

internal static class PolicySets
{
    public static NftSetType Sources(int version, bool interval) =>
        new(version == 4 ? NftDataType.InterfaceEtherIpv4 : NftDataType.InterfaceEtherIpv6, interval: interval);

    public static NftDataType Family(int version) => version == 4 ? NftDataType.Ipv4Address : NftDataType.Ipv6Address;

    public static int Version(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? 6 : 4;
}
