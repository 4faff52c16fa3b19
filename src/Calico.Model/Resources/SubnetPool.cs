using System.Net;
using System.Numerics;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>
/// A Neutron subnet pool: prefixes (one IP version, held merged and in address order) that subnets are carved from,
/// with bounds on their length. Every network shares one routed address space in Calico, so a subnet taken from a pool
/// may overlap no other subnet anywhere; pools themselves may overlap (there are no address scopes), as in Neutron.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SubnetPool(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string ProjectId,
    [property: Id(3)] ValueList<IpPrefix> Prefixes,
    [property: Id(4)] int DefaultPrefixLength,
    [property: Id(5)] int MinPrefixLength,
    [property: Id(6)] int MaxPrefixLength,
    [property: Id(7)] int? DefaultQuota = null,
    [property: Id(8)] bool Shared = false,
    [property: Id(9)] bool IsDefault = false,
    [property: Id(10)] string Description = "") : IValidatable
{
    public int IpVersion => Prefixes.Count > 0 ? Prefixes[0].Version : 4;

    public int MaxLength => IpVersion == 6 ? 128 : 32;

    /// <summary>Neutron's default min_prefixlen: 8 for IPv4, 64 for IPv6.</summary>
    public static int DefaultMinFor(int version) => version == 6 ? 64 : 8;

    /// <summary>Neutron's unit of default_quota: addresses for IPv4 (/32), /64s for IPv6.</summary>
    public static int QuotaUnitFor(int version) => version == 6 ? 64 : 32;

    public bool Covers(IpPrefix cidr) => Prefixes.Any(p => p.Contains(cidr));

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Id(Id, "id");
        v.MaxLength(Name, 255, "name");
        v.MaxLength(ProjectId, 255, "project_id");
        v.MaxLength(Description, 255, "description");
        if (Prefixes.Count == 0) v.Add("prefixes", "Empty subnet pool prefix list.");
        else if (Prefixes.Any(p => p.Version != IpVersion)) v.Add("prefixes", "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.");
        else if (!Prefixes.SequenceEqual(Merge(Prefixes))) v.Add("prefixes", "must be held merged, in address order");
        // Neutron's IllegalSubnetPoolPrefixBounds, in its order of checks.
        if (MinPrefixLength < 0) v.Add("min_prefixlen", $"Illegal prefix bounds: min_prefixlen={MinPrefixLength}, must be at least 0.");
        else if (MinPrefixLength > MaxPrefixLength)
            v.Add("min_prefixlen", $"Illegal prefix bounds: min_prefixlen={MinPrefixLength}, max_prefixlen={MaxPrefixLength}.");
        if (MaxPrefixLength > MaxLength)
            v.Add("max_prefixlen", $"Illegal prefix bounds: max_prefixlen={MaxPrefixLength}, ip_version_max={MaxLength}.");
        if (DefaultPrefixLength < MinPrefixLength)
            v.Add("default_prefixlen", $"Illegal prefix bounds: default_prefixlen={DefaultPrefixLength}, min_prefixlen={MinPrefixLength}.");
        else if (DefaultPrefixLength > MaxPrefixLength)
            v.Add("default_prefixlen", $"Illegal prefix bounds: default_prefixlen={DefaultPrefixLength}, max_prefixlen={MaxPrefixLength}.");
        if (DefaultQuota is < 0) v.Add("default_quota", $"{DefaultQuota} must be 0 or more");
        return v.Errors;
    }

    /// <summary>
    /// The prefixes as one set: host bits cleared, duplicates and contained prefixes dropped, siblings joined, in
    /// address order (Neutron compacts a pool's prefixes the same way). All must be of one family.
    /// </summary>
    public static ValueList<IpPrefix> Merge(IEnumerable<IpPrefix> prefixes)
    {
        var ranges = prefixes.Select(p => p.Network).Select(p => (First: Number(p.Address), Last: Number(p.Address) + Size(p) - 1, p.Family))
            .OrderBy(r => r.First).ToList();
        var merged = new List<(BigInteger First, BigInteger Last, System.Net.Sockets.AddressFamily Family)>();
        foreach (var r in ranges)
        {
            if (merged.Count > 0 && r.First <= merged[^1].Last + 1 && r.Family == merged[^1].Family)
                merged[^1] = (merged[^1].First, BigInteger.Max(merged[^1].Last, r.Last), r.Family);
            else merged.Add(r);
        }
        return merged.SelectMany(r => RangeToPrefixes(r.First, r.Last, r.Family)).ToValueList();
    }

    /// <summary>The fewest prefixes covering first..last exactly, in order.</summary>
    private static IEnumerable<IpPrefix> RangeToPrefixes(BigInteger first, BigInteger last, System.Net.Sockets.AddressFamily family)
    {
        var bits = family == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32;
        while (first <= last)
        {
            var length = bits;
            while (length > 0)
            {
                var size = BigInteger.One << (bits - length + 1);
                if (first % size != 0 || first + size - 1 > last) break;
                length--;
            }
            yield return new IpPrefix(IpAddresses.FromBigInteger(first, family), length);
            first += BigInteger.One << (bits - length);
        }
    }

    /// <summary>
    /// The lowest prefix of <paramref name="length"/> inside the pool's prefixes that overlaps none of
    /// <paramref name="taken"/>; null when there is none.
    /// </summary>
    public IpPrefix? LowestFree(int length, IEnumerable<IpPrefix> taken)
    {
        var busy = taken.Where(t => t.Version == IpVersion).Select(t => (First: Number(t.Network.Address), Last: Number(t.Network.Address) + Size(t) - 1))
            .OrderBy(t => t.First).ToList();
        foreach (var prefix in Prefixes)
        {
            if (prefix.Length > length) continue;
            var size = BigInteger.One << (MaxLength - length);
            var end = Number(prefix.Address) + Size(prefix) - 1;
            var candidate = Number(prefix.Address);
            while (candidate + size - 1 <= end)
            {
                var last = candidate + size - 1;
                var from = candidate;
                var clash = busy.FindIndex(b => b.First <= last && from <= b.Last);
                if (clash < 0) return new IpPrefix(IpAddresses.FromBigInteger(candidate, prefix.Family), length);
                // Past the clash, aligned up to the candidate's size.
                candidate = (busy[clash].Last + size) / size * size;
            }
        }
        return null;
    }

    private static BigInteger Number(IPAddress address) => address.ToBigInteger();

    private static BigInteger Size(IpPrefix prefix) => BigInteger.One << (IpPrefix.MaxLength(prefix.Address) - prefix.Length);
}
