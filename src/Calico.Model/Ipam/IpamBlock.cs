using System.Collections.Immutable;
using System.Net;
using Calico.Model.Resources;

namespace Calico.Model.Ipam;

/// <summary>One address given to one port. <see cref="Automatic"/>: chosen by IPAM rather than asked for.</summary>
[GenerateSerializer, Immutable]
public sealed record IpBlockAllocation(
    [property: Id(0)] IPAddress Address,
    [property: Id(1)] string PortId,
    [property: Id(2)] string? Host,
    [property: Id(3)] bool Automatic,
    [property: Id(4)] DateTimeOffset AllocatedAt);

/// <summary>
/// A live block and its allocations, keyed by offset from the block's first address. Immutable, so the state a
/// batch started from is kept for free and put back if the batch's write fails.
/// </summary>
public sealed record IpamBlock(IpBlock Block, ImmutableSortedDictionary<int, IpBlockAllocation> Allocations)
{
    public static IpamBlock Claim(IpBlock block) => new(block, ImmutableSortedDictionary<int, IpBlockAllocation>.Empty);

    public bool IsEmpty => Allocations.IsEmpty;
}
