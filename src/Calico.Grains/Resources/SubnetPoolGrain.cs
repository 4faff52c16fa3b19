using System.Numerics;
using Calico.Datastore;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.Extensions.Logging;

namespace Calico.Grains.Resources;

/// <summary>
/// A subnet pool, and the one place its prefixes are handed out. Subnets elsewhere are serialised only by the API's
/// store-then-check overlap test, under which two creates racing for the lowest free CIDR would both withdraw; here
/// allocations from one pool queue in this grain's turns, each sees the subnets stored (the catalog) and the CIDRs
/// handed out but not yet stored (reservations, kept until the subnet's create says it is done, or a minute), so two
/// creates never get the same CIDR. Updates and deletes look at the same two sources in their own turns, so a prefix
/// cannot be removed, nor the pool deleted, under a subnet being created from it. The overlap re-check after a subnet
/// is stored still guards against subnets created without a pool (or from another pool overlapping this one).
/// </summary>
[GrainType(GrainTypes.SubnetPool)]
public sealed class SubnetPoolGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<SubnetPool>> state,
    IGrainStateCatalog catalog,
    TimeProvider time, ILogger<SubnetPoolGrain> logger)
    : ResourceGrain<SubnetPool>(state, time, logger), ISubnetPoolGrain
{
    /// <summary>How long a CIDR handed out stays reserved if its subnet's create never says it is done.</summary>
    private static readonly TimeSpan ReservationTime = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, Reservation> _reserved = new(StringComparer.Ordinal);

    protected override ResourceKind Kind => ResourceKind.SubnetPool;

    protected override string IdOf(SubnetPool value) => value.Id;

    public async Task<SubnetPoolAllocation> AllocateAsync(string subnetId, string projectId, int? prefixLength, IpPrefix? requested)
    {
        var pool = State.Value ?? throw new ResourceNotFoundException(KindName, Key);
        var length = requested?.Length ?? prefixLength ?? pool.DefaultPrefixLength;
        if (length > pool.MaxPrefixLength)
            return Refuse("MaxPrefixSubnetAllocationError", $"Unable to allocate subnet with prefix length {length}, maximum allowed prefix is {pool.MaxPrefixLength}.");
        if (length < pool.MinPrefixLength)
            return Refuse("MinPrefixSubnetAllocationError", $"Unable to allocate subnet with prefix length {length}, minimum allowed prefix is {pool.MinPrefixLength}.");
        if (requested is { } r && r.Version != pool.IpVersion)
            return Refuse("SubnetAllocationError", $"Failed to allocate subnet: {r} is not an IPv{pool.IpVersion} prefix, as the pool's are.");

        var now = Time.GetUtcNow();
        foreach (var expired in _reserved.Where(kv => kv.Value.Until <= now).Select(kv => kv.Key).ToList()) _reserved.Remove(expired);
        _reserved.Remove(subnetId);
        var subnets = await SubnetsAsync();
        if (pool.DefaultQuota is { } quota)
        {
            var unit = SubnetPool.QuotaUnitFor(pool.IpVersion);
            var used = subnets.Where(s => s.SubnetPoolId == Key && s.ProjectId == projectId).Select(s => s.Cidr)
                .Concat(_reserved.Values.Where(v => v.ProjectId == projectId).Select(v => v.Cidr))
                .Aggregate(BigInteger.Zero, (sum, cidr) => sum + Units(cidr.Length, unit));
            if (used + Units(length, unit) > quota)
                return Refuse("SubnetPoolQuotaExceeded", "Per-tenant subnet pool prefix quota exceeded.");
        }
        var taken = subnets.Where(s => s.Id != subnetId).Select(s => s.Cidr).Concat(_reserved.Values.Select(v => v.Cidr)).ToList();
        IpPrefix cidr;
        if (requested is { } wanted)
        {
            if (!pool.Covers(wanted) || taken.Any(t => t.Overlaps(wanted)))
                return Refuse("SubnetAllocationError", "Failed to allocate subnet: Cannot allocate requested subnet from the available set of prefixes.");
            cidr = wanted;
        }
        else if (pool.LowestFree(length, taken) is { } free) cidr = free;
        else return Refuse("SubnetAllocationError", $"Failed to allocate subnet: Insufficient prefix space to allocate subnet size /{length}.");
        _reserved[subnetId] = new Reservation(cidr, projectId, now + ReservationTime);
        this.DelayDeactivation(ReservationTime);
        return new SubnetPoolAllocation(cidr);
    }

    public Task ReleaseAsync(string subnetId)
    {
        _reserved.Remove(subnetId);
        return Task.CompletedTask;
    }

    /// <summary>A delete while subnets hold its prefixes, or an update that would leave one outside them, is refused.</summary>
    protected override async Task BeforeStoreAsync(SubnetPool? current, SubnetPool? next)
    {
        if (current is null || (next is not null && next.Prefixes.Equals(current.Prefixes))) return;
        var now = Time.GetUtcNow();
        var held = (await SubnetsAsync()).Where(s => s.SubnetPoolId == Key).Select(s => (s.Id, s.Cidr))
            .Concat(_reserved.Where(kv => kv.Value.Until > now).Select(kv => (Id: kv.Key, kv.Value.Cidr)));
        foreach (var (id, cidr) in held)
        {
            if (next is null) throw new ResourceConflictException(KindName, Key, ISubnetPoolGrain.HasAllocations);
            if (!next.Covers(cidr))
                throw new InvalidInputException("prefixes", $"Illegal update to prefixes: subnet {id} ({cidr}) is allocated from this pool and would fall outside its prefixes");
        }
    }

    private async Task<List<Subnet>> SubnetsAsync()
    {
        var subnets = new List<Subnet>();
        await foreach (var (_, stored) in catalog.ListAsync<ResourceState<Subnet>>(GrainTypes.Subnet))
            if (stored.Value is { } subnet) subnets.Add(subnet);
        return subnets;
    }

    private static BigInteger Units(int length, int unit) => length >= unit ? BigInteger.One : BigInteger.One << (unit - length);

    private static SubnetPoolAllocation Refuse(string type, string message) => new(null, type, message);

    private sealed record Reservation(IpPrefix Cidr, string ProjectId, DateTimeOffset Until);
}
