using Calico.Model.Net;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>
/// A range that workload addresses come from, carved into blocks that hosts claim (affinity) so that
/// routes can be aggregated per block.
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

    public static int DefaultBlockSize(int version) => version == 6 ? DefaultIpv6BlockSize : DefaultIpv4BlockSize;

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Id(Name, "name");
        v.Canonical(Cidr, "cidr");
        var max = Cidr.Version == 6 ? 128 : 32;
        if (BlockSize < Cidr.Length || BlockSize > max)
            v.Add("block_size", $"/{BlockSize} must be between the pool's /{Cidr.Length} and /{max}");
        return v.Errors;
    }
}

/// <summary>A block of a pool, claimed by one host (its affinity). Addresses in it are routed via that host.</summary>
[GenerateSerializer, Immutable]
public sealed record IpBlock(
    [property: Id(0)] IpPrefix Cidr,
    [property: Id(1)] string PoolName,
    [property: Id(2)] string? AffinityHost);
