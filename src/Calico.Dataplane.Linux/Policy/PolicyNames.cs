using System.Security.Cryptography;
using System.Text;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;

namespace Calico.Dataplane.Linux.Policy;

/// <summary>
/// The names of everything in our table. Static chains and sets have fixed names; a group's chains and sets carry its
/// id when nft accepts it as part of a name, else a hash of it; a profile (a combination of groups) is named by a hash.
/// </summary>
public static class PolicyNames
{
    public static NftTableId Table => NftablesReconciler.DefaultTable;

    // Base chains, one per hook we use.
    public const string RawPrerouting = "raw-prerouting";
    public const string FilterInput = "filter-input";
    public const string FilterForward = "filter-forward";
    public const string FilterOutput = "filter-output";
    public const string NatPrerouting = "nat-prerouting";
    public const string NatOutput = "nat-output";
    public const string NatPostrouting = "nat-postrouting";

    /// <summary>After a workload's egress rules allowed a packet: the destination's side (another local workload, or out).</summary>
    public const string ForwardToDestination = "cali-fw-to";

    /// <summary>Traffic from a workload to the host itself.</summary>
    public const string WorkloadToHost = "cali-wl-to-host";

    /// <summary>Interface name → the egress chain of its profile (or drop).</summary>
    public const string FromWorkload = "cali-from-wl";

    /// <summary>Interface name → the ingress chain of its profile (or drop).</summary>
    public const string ToWorkload = "cali-to-wl";

    /// <summary>Interfaces of administratively down endpoints.</summary>
    public const string DownWorkloads = "cali-wl-down";

    /// <summary>Interfaces of endpoints without port security: any source passes anti-spoofing.</summary>
    public const string UnsecuredWorkloads = "cali-wl-unsecured";

    /// <summary>interface . MAC . address a workload may send from (its own, its allowed address pairs').</summary>
    public static string Sources(int version) => $"cali-wl-src-v{version}";

    /// <summary>The same for allowed address pairs that are prefixes (an interval set, present only when not empty).</summary>
    public static string SourcePrefixes(int version) => $"cali-wl-srcnet-v{version}";

    /// <summary>Floating address → fixed address.</summary>
    public static string FloatingDnat(int version) => $"cali-fip-dnat-v{version}";

    /// <summary>Fixed address → floating address.</summary>
    public static string FloatingSnat(int version) => $"cali-fip-snat-v{version}";

    /// <summary>"cali-sg-ID" when the id makes a name nft accepts, else "cali-sgh-" and 16 hex digits of its hash.</summary>
    public static string Group(string groupId)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        return groupId.Length <= 40 && char.IsAsciiLetterOrDigit(groupId[0]) && groupId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            ? "cali-sg-" + groupId
            : "cali-sgh-" + Hash(groupId);
    }

    /// <summary>A group's rules for traffic to its members (Neutron's ingress).</summary>
    public static string GroupIngress(string groupId) => Group(groupId) + "-i";

    /// <summary>A group's rules for traffic from its members (egress).</summary>
    public static string GroupEgress(string groupId) => Group(groupId) + "-e";

    /// <summary>The host addresses of the group's members (any host in the cluster).</summary>
    public static string GroupMembers(string groupId, int version) => $"{Group(groupId)}-v{version}";

    /// <summary>The prefixes among the members' allowed address pairs (an interval set, present only when not empty).</summary>
    public static string GroupMemberPrefixes(string groupId, int version) => $"{Group(groupId)}-n{version}";

    /// <summary>
    /// An endpoint's packet-rate limit for one direction: "cali-rl-" + its interface name + "-e" (what it sends) or
    /// "-i" (what it receives); a hash of the name when nft would not take it in a chain name.
    /// </summary>
    public static string PacketRateLimit(string interfaceName, bool fromWorkload)
    {
        ArgumentException.ThrowIfNullOrEmpty(interfaceName);
        var id = interfaceName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') ? interfaceName : Hash(interfaceName);
        return $"cali-rl-{id}-{(fromWorkload ? 'e' : 'i')}";
    }

    public static string ProfileIngress(string profileKey) => "cali-pi-" + Hash(profileKey);

    public static string ProfileEgress(string profileKey) => "cali-pe-" + Hash(profileKey);

    /// <summary>16 hex digits of SHA-256: stable across runs and hosts, so names never depend on order.</summary>
    public static string Hash(string text)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), digest);
        return Convert.ToHexStringLower(digest[..8]);
    }
}
