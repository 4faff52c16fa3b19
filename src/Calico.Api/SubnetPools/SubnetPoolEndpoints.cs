using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Api.Quotas;
using Calico.Api.Tags;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.AspNetCore.Routing;

namespace Calico.Api.SubnetPools;

/// <summary>
/// /v2.0/subnetpools, and the allocation of a subnet's CIDR from a pool. A pool is visible to its project, or to all
/// when shared; its grain hands out its prefixes (see <see cref="ISubnetPoolGrain"/>), so subnets allocated from one
/// pool never collide, and refuses deletes and shrinking updates while subnets hold its prefixes.
/// </summary>
internal sealed class SubnetPoolEndpoints(ResourceStore store, RequestBody bodies, ProjectQuotas quotas)
    : IReadableCollection, ITaggableCollection<SubnetPool>, ICreatableCollection, IUpdatableCollection, IDeletableCollection
{
    public static ApiException NotFound(string id) => ApiException.NotFound("SubnetPoolNotFound", $"Subnet pool {id} could not be found.");

    public IResourceGrain<SubnetPool> Grain(string id) => store.Grains.GetGrain<ISubnetPoolGrain>(id);

    public string ProjectOf(SubnetPool value) => value.ProjectId;

    private static bool IsVisible(Caller caller, SubnetPool pool) => caller.CanSee(pool.ProjectId) || pool.Shared;

    public async Task<Versioned<SubnetPool>> GetVisibleAsync(Caller caller, string id) =>
        await store.Grains.GetGrain<ISubnetPoolGrain>(id).GetAsync() is { } pool && IsVisible(caller, pool.Value) ? pool : throw NotFound(id);

    public async Task<IResult> ListAsync(HttpContext http)
    {
        var caller = Caller.Of(http);
        var query = new ListQuery(http.Request.Query, SubnetPoolJson.Attributes);
        var all = await store.ListAsync<SubnetPool>(GrainTypes.SubnetPool, http.RequestAborted);
        return NeutronResults.List(http, "subnetpools", all.Where(p => IsVisible(caller, p.Value)).Select(SubnetPoolJson.Render), query);
    }

    public async Task<IResult> ShowAsync(HttpContext http, string id) =>
        NeutronResults.One("subnetpool", new ListQuery(http.Request.Query, SubnetPoolJson.Attributes)
            .Project(SubnetPoolJson.Render(await GetVisibleAsync(Caller.Of(http), id))));

    public string Singular => "subnetpool";

    public async Task<JsonObject> CreateAsync(HttpContext http, RequestObject body)
    {
        var caller = Caller.Of(http);
        body.Accept(SubnetPoolJson.Creatable, SubnetPoolJson.Attributes, update: false);
        if (!body.Has("prefixes")) throw RequestObject.Invalid("prefixes", "is required");
        var empty = new SubnetPool(Ids.New(), "", Projects.ForCreate(caller, body), ValueList<IpPrefix>.Empty, 0, 0, 0);
        var pool = SubnetPoolJson.Apply(body, empty).EnsureValid();
        var tags = body.Tags();
        await RefuseSecondDefaultAsync(pool, http.RequestAborted);
        await quotas.EnsureRoomAsync(pool.ProjectId, "subnetpool", 1, http.RequestAborted);
        return SubnetPoolJson.Render(await store.Grains.GetGrain<ISubnetPoolGrain>(pool.Id).CreateAsync(pool, tags));
    }

    public async Task<IResult> UpdateAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var body = await bodies.ReadAsync(http, "subnetpool");
        body.Accept(SubnetPoolJson.Updatable, SubnetPoolJson.Attributes, update: true);
        var stored = await Writes.UpdateAsync(store.Grains.GetGrain<ISubnetPoolGrain>(id), async current =>
        {
            var pool = current is not null && IsVisible(caller, current.Value) ? current.Value : throw NotFound(id);
            Projects.RequireOwner(caller, pool.ProjectId, $"Subnet pool {id}");
            var next = SubnetPoolJson.Apply(body, pool).EnsureValid();
            await RefuseSecondDefaultAsync(next, http.RequestAborted);
            return next;
        });
        return NeutronResults.One("subnetpool", SubnetPoolJson.Render(stored));
    }

    /// <summary>
    /// <c>PUT …/{id}/add_prefixes</c> and <c>…/remove_prefixes</c> (subnetpool-prefix-ops): <c>{"prefixes": [...]}</c>
    /// in, the pool's prefixes out. Removing is refused while a subnet of the pool lies in what would go.
    /// </summary>
    public void MapPrefixOperations(RouteGroupBuilder api)
    {
        api.MapPut("/subnetpools/{id}/add_prefixes", (HttpContext h, string id) => ChangePrefixesAsync(h, id, add: true));
        api.MapPut("/subnetpools/{id}/remove_prefixes", (HttpContext h, string id) => ChangePrefixesAsync(h, id, add: false));
    }

    private async Task<IResult> ChangePrefixesAsync(HttpContext http, string id, bool add)
    {
        if (!Ids.CanExist(id)) throw NotFound(id);
        var caller = Caller.Of(http);
        var body = await bodies.ReadObjectAsync(http, "prefixes");
        body.Accept(new HashSet<string> { "prefixes" }, new HashSet<string> { "prefixes" }, update: true);
        var given = SubnetPoolJson.Prefixes(body);
        var stored = await Writes.UpdateAsync(store.Grains.GetGrain<ISubnetPoolGrain>(id), current =>
        {
            var pool = current is not null && IsVisible(caller, current.Value) ? current.Value : throw NotFound(id);
            Projects.RequireOwner(caller, pool.ProjectId, $"Subnet pool {id}");
            if (given[0].Version != pool.IpVersion)
                throw ApiException.BadRequest("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.", "PrefixVersionMismatch");
            var prefixes = add ? SubnetPool.Merge(pool.Prefixes.Concat(given)) : Without(pool.Prefixes, given);
            if (prefixes.IsEmpty) throw ApiException.BadRequest("Illegal update to prefixes: a subnet pool keeps at least one prefix.", "IllegalSubnetPoolPrefixUpdate");
            return Task.FromResult(pool with { Prefixes = prefixes });
        });
        return Results.Json(new JsonObject { ["prefixes"] = StandardAttributes.Strings(stored.Value.Prefixes.Select(p => p.ToString())) });
    }

    /// <summary>The pool's address space less <paramref name="removed"/>, as merged prefixes.</summary>
    private static ValueList<IpPrefix> Without(ValueList<IpPrefix> prefixes, ValueList<IpPrefix> removed)
    {
        var left = new List<IpPrefix>(prefixes);
        foreach (var cut in removed)
        {
            var next = new List<IpPrefix>();
            foreach (var p in left)
            {
                if (!p.Overlaps(cut)) next.Add(p);
                else if (p.Contains(cut)) next.AddRange(Split(p, cut));
                // else: cut contains p, which goes whole
            }
            left = next;
        }
        return SubnetPool.Merge(left);
    }

    /// <summary>The halves of <paramref name="p"/> down to <paramref name="cut"/>, without it.</summary>
    private static IEnumerable<IpPrefix> Split(IpPrefix p, IpPrefix cut)
    {
        while (p.Length < cut.Length)
        {
            var low = new IpPrefix(p.Network.Address, p.Length + 1);
            var high = new IpPrefix(IpAddresses.FromBigInteger(p.Network.Address.ToBigInteger() + (System.Numerics.BigInteger.One << (IpPrefix.MaxLength(p.Address) - p.Length - 1)), p.Family), p.Length + 1);
            if (low.Contains(cut)) { yield return high; p = low; }
            else { yield return low; p = high; }
        }
    }

    /// <summary>Neutron's rule (default-subnetpools): one default pool per IP version.</summary>
    private async Task RefuseSecondDefaultAsync(SubnetPool pool, CancellationToken cancellationToken)
    {
        if (!pool.IsDefault) return;
        var other = (await store.ListAsync<SubnetPool>(GrainTypes.SubnetPool, cancellationToken))
            .FirstOrDefault(p => p.Value.IsDefault && p.Value.Id != pool.Id && p.Value.IpVersion == pool.IpVersion);
        if (other is not null)
            throw ApiException.Conflict("DefaultSubnetPoolExists",
                $"A default subnetpool for this IP family has already been set (subnet pool {other.Value.Id}). Only one default may exist per IP family.");
    }

    /// <summary>Refused while subnets hold prefixes of the pool (checked by the pool's grain in the delete's own turn).</summary>
    public async Task<IResult> DeleteAsync(HttpContext http, string id)
    {
        var caller = Caller.Of(http);
        var pool = await GetVisibleAsync(caller, id);
        Projects.RequireOwner(caller, pool.Value.ProjectId, $"Subnet pool {id}");
        try
        {
            await store.Grains.GetGrain<ISubnetPoolGrain>(id).DeleteAsync(pool.Revision);
        }
        catch (ResourceConflictException e) when (e.Reason == ISubnetPoolGrain.HasAllocations)
        {
            // Neutron's SubnetPoolDeleteError is a 400.
            throw ApiException.BadRequest($"Unable to delete subnet pool: {e.Reason}.", "SubnetPoolDeleteError");
        }
        return Results.NoContent();
    }

    // ---- Subnets from a pool ----

    /// <summary>
    /// The pool a subnet create asks for (<c>subnetpool_id</c>, or <c>use_default_subnetpool</c> with the default pool of
    /// the IP version), checked against the request's cidr, prefixlen and ip_version; null when it names none.
    /// </summary>
    public async Task<SubnetPool?> RequestedAsync(Caller caller, RequestObject body, IpPrefix? cidr, CancellationToken cancellationToken)
    {
        var poolId = body.Id("subnetpool_id", nullable: true);
        var useDefault = body.Bool("use_default_subnetpool") ?? false;
        var version = body.Int("ip_version") ?? cidr?.Version ?? 4;
        if (poolId is not null && useDefault)
            throw ApiException.BadRequest("Bad subnets request: subnetpool_id and use_default_subnetpool cannot both be specified.");
        SubnetPool? pool = null;
        if (poolId is not null) pool = (await GetVisibleAsync(caller, poolId)).Value;
        else if (useDefault)
        {
            pool = (await store.ListAsync<SubnetPool>(GrainTypes.SubnetPool, cancellationToken)).Select(p => p.Value)
                .FirstOrDefault(p => p.IsDefault && p.IpVersion == version && IsVisible(caller, p))
                ?? throw ApiException.BadRequest($"Bad subnets request: No default subnetpool found for IPv{version}.");
        }
        if (pool is null)
        {
            if (body.Has("prefixlen")) throw ApiException.BadRequest("Bad subnets request: prefixlen needs a subnetpool_id (or use_default_subnetpool).");
            return null;
        }
        if (cidr is not null && body.Has("prefixlen"))
            throw ApiException.BadRequest("Bad subnets request: cidr and prefixlen must not be supplied together.");
        if (pool.IpVersion != version)
            throw ApiException.BadRequest($"Bad subnets request: Cannot allocate IPv{version} subnet from IPv{pool.IpVersion} subnet pool.");
        return pool;
    }

    /// <summary>
    /// A CIDR from <paramref name="pool"/> for the subnet (the requested one, or the lowest free one of the requested
    /// length), reserved by the pool's grain until <see cref="ReleaseAsync"/>.
    /// </summary>
    public async Task<IpPrefix> AllocateAsync(SubnetPool pool, string subnetId, string projectId, RequestObject body, IpPrefix? cidr)
    {
        var length = body.Int("prefixlen");
        if (length is < 0 or > 128) throw RequestObject.Invalid("prefixlen", $"{length} is not a prefix length");
        var allocation = await store.Grains.GetGrain<ISubnetPoolGrain>(pool.Id).AllocateAsync(subnetId, projectId, length, cidr);
        if (allocation.Cidr is { } allocated) return allocated;
        throw allocation.RefusalType == "SubnetPoolQuotaExceeded"
            ? ApiException.Conflict("SubnetPoolQuotaExceeded", allocation.Refusal!)
            : ApiException.BadRequest(allocation.Refusal!, allocation.RefusalType!);
    }

    public Task ReleaseAsync(string poolId, string subnetId) => store.Grains.GetGrain<ISubnetPoolGrain>(poolId).ReleaseAsync(subnetId);
}
