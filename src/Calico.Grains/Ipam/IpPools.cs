using Calico.Model.Resources;

namespace Calico.Grains.Ipam;

/// <summary>Which IP pool governs a subnet, and the block length that follows: one rule for the IPAM grain and its readers.</summary>
public static class IpPools
{
    /// <summary>The most specific pool containing the subnet's CIDR (by name among equals), or null.</summary>
    public static IpPool? For(IEnumerable<IpPool> pools, Subnet subnet) =>
        pools.Where(p => p.Cidr.Contains(subnet.Cidr))
            .OrderByDescending(p => p.Cidr.Length).ThenBy(p => p.Name, StringComparer.Ordinal).FirstOrDefault();

    /// <summary>The block length of a subnet that holds no block yet: its pool's, else the default, never shorter than the subnet.</summary>
    public static int BlockLength(IpPool? pool, Subnet subnet) =>
        Math.Max(pool?.BlockSize ?? IpPool.DefaultBlockSize(subnet.IpVersion), subnet.Cidr.Length);
}
