using System.Net;
using System.Net.Sockets;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Model.Ipam;

/// <summary>
/// How one subnet is carved into blocks of one size, and which of its addresses automatic allocation may hand out:
/// those inside the allocation pools (the whole subnet when there are none), never the gateway, the network address
/// or (IPv4) the broadcast address. Explicitly requested addresses follow <see cref="Subnet.IsAssignable"/> instead.
/// </summary>
public sealed class SubnetLayout
{
    private readonly (UInt128 Start, UInt128 End)[] _ranges;
    private readonly UInt128? _gateway;

    public SubnetLayout(Subnet subnet, int blockLength)
    {
        var max = IpPrefix.MaxLength(subnet.Cidr.Address);
        if (blockLength < subnet.Cidr.Length || blockLength > max)
            throw new ArgumentOutOfRangeException(nameof(blockLength), $"/{blockLength} blocks do not fit subnet {subnet.Cidr}");
        if (max - blockLength > 12)
            throw new ArgumentOutOfRangeException(nameof(blockLength), $"/{blockLength} blocks have more than 4,096 addresses");
        Subnet = subnet;
        BlockLength = blockLength;
        BlockSize = 1 << (max - blockLength);
        Network = subnet.Cidr.First();
        Last = subnet.Cidr.Last();
        _gateway = subnet.GatewayIp?.ToNumber();
        _ranges = subnet.AllocationPools.Count > 0
            ? [.. subnet.AllocationPools.Select(p => (p.Start.ToNumber(), p.End.ToNumber())).OrderBy(r => r.Item1)]
            : [(Network + 1, subnet.IpVersion == 4 ? Last - 1 : Last)];
        foreach (var (start, end) in _ranges) AutomaticCapacity += end - start + 1;
        if (_gateway is { } gateway && IsAutomaticRange(gateway)) AutomaticCapacity--;
    }

    /// <summary>How many addresses automatic allocation may hand out in the whole subnet (its allocation pools, less the gateway).</summary>
    public UInt128 AutomaticCapacity { get; }

    public Subnet Subnet { get; }

    public int BlockLength { get; }

    /// <summary>Addresses per block (at most 4,096).</summary>
    public int BlockSize { get; }

    public UInt128 Network { get; }

    public UInt128 Last { get; }

    public AddressFamily Family => Subnet.Cidr.Family;

    /// <summary>True when this layout allocates the same way as one for <paramref name="subnet"/> with the same block length.</summary>
    public bool SameAs(Subnet subnet) =>
        subnet.Cidr == Subnet.Cidr && Equals(subnet.GatewayIp, Subnet.GatewayIp) && subnet.AllocationPools == Subnet.AllocationPools;

    public bool Contains(UInt128 address) => address >= Network && address <= Last;

    /// <summary>The first address of the block holding <paramref name="address"/> (which must be in the subnet).</summary>
    public UInt128 BlockOf(UInt128 address) => Network + ((address - Network) / (UInt128)BlockSize * (UInt128)BlockSize);

    public IpPrefix Prefix(UInt128 blockStart) => new(AddressNumbers.FromNumber(blockStart, Family), BlockLength);

    public IPAddress Address(UInt128 number) => AddressNumbers.FromNumber(number, Family);

    /// <summary>May automatic allocation hand out this address?</summary>
    public bool IsAutomatic(UInt128 address) => address != _gateway && IsAutomaticRange(address);

    private bool IsAutomaticRange(UInt128 address)
    {
        foreach (var (start, end) in _ranges)
            if (address >= start && address <= end) return true;
        return false;
    }

    /// <summary>How many addresses of the block automatic allocation may hand out, allocated or not.</summary>
    public int CountAutomatic(UInt128 blockStart)
    {
        var count = 0;
        for (var offset = 0; offset < BlockSize; offset++)
            if (IsAutomatic(blockStart + (UInt128)offset)) count++;
        return count;
    }

    /// <summary>
    /// The starts of the blocks that hold addresses for automatic allocation, in address order, lazily (an IPv6
    /// /64 has 2^58 blocks of /122: the caller stops at the first it can use).
    /// </summary>
    public IEnumerable<UInt128> CandidateBlocks()
    {
        UInt128? previous = null;
        foreach (var (start, end) in _ranges)
        {
            for (var block = BlockOf(start); block <= end; block += (UInt128)BlockSize)
            {
                if (block != previous) yield return block;
                previous = block;
                if (block > Last - (UInt128)BlockSize) break; // the subnet's last block: adding would overflow for ::/0-like ends
            }
        }
    }
}
