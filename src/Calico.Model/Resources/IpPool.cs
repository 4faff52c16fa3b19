using Calico.Model.Net;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>
/// A range that workload addresses come from, carved into blocks that hosts claim (affinity) so that
/// routes can be aggregated per block. Every Neutron subnet is allocated as a pool of its own; an IpPool
/// resource that contains a subnet's CIDR (the most specific one) sets that subnet's block size and whether
/// automatic allocation is allowed (<see cref="Disabled"/>).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record IpPool(
    [property: Id(0)] string Name,
    [property: Id(1)] IpPrefix Cidr,
    [property: Id(2)] int BlockSize,
    [property: Id(3)] bool Disabled,
    [property: Id(4)] bool OutgoingNat) : IValidatable
{
    public const int DefaultIpv4BlockSize = 26;
    public const int DefaultIpv6BlockSize = 122;

    /// <summary>Calico's bounds: a block has at most 4,096 addresses, so a host claims them one modest piece at a time.</summary>
    public const int MinIpv4BlockSize = 20;
    public const int MinIpv6BlockSize = 116;

    public static int DefaultBlockSize(int version) => version == 6 ? DefaultIpv6BlockSize : DefaultIpv4BlockSize;

    public static int MinBlockSize(int version) => version == 6 ? MinIpv6BlockSize : MinIpv4BlockSize;

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Id(Name, "name");
        v.Canonical(Cidr, "cidr");
        var max = Cidr.Version == 6 ? 128 : 32;
        var min = Math.Max(Cidr.Length, MinBlockSize(Cidr.Version));
        if (BlockSize < min || BlockSize > max)
            v.Add("block_size", $"/{BlockSize} must be between /{min} and /{max} (not shorter than the pool's /{Cidr.Length} " +
                                $"nor than /{MinBlockSize(Cidr.Version)})");
        return v.Errors;
    }
}

/// <summary>
/// A block of a subnet's addresses and the host it is affine to (null: a block of ports that were not bound to a
/// host when they got their address). Other hosts route the whole block via its host, which holds a blackhole for
/// it; an address in it used by a workload on another host (borrowed) gets a route of its own.
/// Owned by the subnet's IPAM grain; what the desired-state calculator is told about a block.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record IpBlock(
    [property: Id(0)] IpPrefix Cidr,
    [property: Id(1)] string SubnetId,
    [property: Id(2)] string? AffinityHost)
{
    /// <summary>The key the block is stored and notified under: subnet id and CIDR, e.g. <c>sub-1|10.65.0.64/26</c>.</summary>
    public string Key => KeyFor(SubnetId, Cidr);

    public static string KeyFor(string subnetId, IpPrefix cidr) => $"{subnetId}|{cidr}";

    /// <summary>Splits a key made by <see cref="KeyFor"/>; false for anything else.</summary>
    public static bool TryParseKey(string key, out string subnetId, out IpPrefix cidr)
    {
        var bar = key.IndexOf('|', StringComparison.Ordinal);
        subnetId = bar > 0 ? key[..bar] : "";
        cidr = default;
        return bar > 0 && IpPrefix.TryParse(key[(bar + 1)..], out cidr, out _);
    }
}
