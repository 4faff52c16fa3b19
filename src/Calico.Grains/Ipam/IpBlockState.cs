using Calico.Model.Ipam;
using Calico.Model.Resources;

namespace Calico.Grains.Ipam;

/// <summary>
/// What one block's row holds: the block (null once released: a tombstone that keeps the revision, so that a
/// late notification of an older state is recognised) and its allocations. Written only by the subnet's
/// <see cref="SubnetIpamGrain"/>; stored under grain type <see cref="Resources.GrainTypes.IpBlock"/> with key
/// <see cref="IpBlock.Key"/>. <see cref="Revision"/> grows with every write of the row.
/// </summary>
[GenerateSerializer]
public sealed class IpBlockState
{
    [Id(0)] public IpBlock? Block { get; set; }

    [Id(1)] public long Revision { get; set; }

    [Id(2)] public IpBlockAllocation[] Allocations { get; set; } = [];

    [Id(3)] public DateTimeOffset UpdatedAt { get; set; }
}
