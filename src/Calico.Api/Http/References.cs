using Calico.Api.Hosting;
using Calico.Grains;
using Microsoft.Extensions.Options;

namespace Calico.Api.Http;

/// <summary>
/// Referential integrity without locks. A writer that makes a resource depend on others stores itself first, then
/// checks that they still exist (and undoes its write if not); a deleter deletes first, then checks that nothing
/// depends on what it deleted (and puts it back if something does). Reads of one resource are linearizable (its
/// grain), so of two such writers racing, at least one sees the other: a port can never end up on a deleted
/// network, subnet or security group, however the requests interleave. The pre-checks that come first only make
/// the usual, unraced refusal cheap and clear.
/// </summary>
internal sealed class References(IGrainFactory grains, TimeProvider time, IOptions<CalicoApiOptions> options)
{
    /// <summary>The first pause between two looks at dependants that raced a delete; it doubles up to <see cref="LongestPause"/>.</summary>
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(5);

    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(100);

    /// <summary>The first of the named resources that does not exist (as a 404 to throw), or null when all do.</summary>
    public async Task<ApiException?> FirstMissingAsync(
        string? networkId = null, IEnumerable<string>? subnetIds = null, IEnumerable<string>? groupIds = null, string? portId = null,
        string? subnetPoolId = null, string? qosPolicyId = null)
    {
        if (networkId is not null && await grains.GetGrain<INetworkGrain>(networkId).GetAsync() is null)
            return ApiException.NotFound("NetworkNotFound", $"Network {networkId} could not be found (it was deleted while this request ran).");
        foreach (var id in subnetIds ?? [])
            if (await grains.GetGrain<ISubnetGrain>(id).GetAsync() is null)
                return ApiException.NotFound("SubnetNotFound", $"Subnet {id} could not be found (it was deleted while this request ran).");
        foreach (var id in groupIds ?? [])
            if (await grains.GetGrain<ISecurityGroupGrain>(id).GetAsync() is null)
                return ApiException.NotFound("SecurityGroupNotFound", $"Security group {id} does not exist (it was deleted while this request ran).");
        if (portId is not null && await grains.GetGrain<IEndpointGrain>(portId).GetAsync() is null)
            return ApiException.NotFound("PortNotFound", $"Port {portId} could not be found (it was deleted while this request ran).");
        if (subnetPoolId is not null && await grains.GetGrain<ISubnetPoolGrain>(subnetPoolId).GetAsync() is null)
            return ApiException.NotFound("SubnetPoolNotFound", $"Subnet pool {subnetPoolId} could not be found (it was deleted while this request ran).");
        if (qosPolicyId is not null && await grains.GetGrain<IQosPolicyGrain>(qosPolicyId).GetAsync() is null)
            return ApiException.NotFound("QosPolicyNotFound", $"QoS policy {qosPolicyId} could not be found (it was deleted while this request ran).");
        return null;
    }

    /// <summary>
    /// Deletes <paramref name="current"/> unless <paramref name="inUse"/> names a dependant, checked before and
    /// again after the delete. A dependant found only after the delete was being written while it ran: either it
    /// checked the resource before the delete and stays (a real conflict), or it saw the delete and is undoing
    /// itself. Nothing tells the two apart but time, so the resource stays deleted (new dependants are refused
    /// meanwhile) for up to <see cref="CalicoApiOptions.DeleteSettleTime"/> while the dependants are looked at
    /// again: once none is left the delete stands; if some remain it is put back and refused with 409. Without that
    /// wait both sides withdrew: the writer undid itself and the delete answered 409 with nothing left using the
    /// resource (still possible if a writer stalls for longer than the settle time between its check and its undo).
    /// If anything fails after the delete, the resource is put back before the failure is reported, so a dependant
    /// can never be left pointing at it.
    /// </summary>
    public async Task DeleteUnlessUsedAsync<T>(IResourceGrain<T> grain, Versioned<T> current, Func<Task<ApiException?>> inUse) where T : class
    {
        if (await inUse() is { } before) throw before;
        await grain.DeleteAsync(current.Revision);
        ApiException? remaining;
        try
        {
            remaining = await DependantsOnceSettledAsync(inUse);
        }
        catch
        {
            await grain.CreateAsync(current.Value, current.Tags);
            throw;
        }
        if (remaining is null) return;
        await grain.CreateAsync(current.Value, current.Tags);
        throw remaining;
    }

    /// <summary>
    /// Looks at the dependants until there are none (null) or <see cref="CalicoApiOptions.DeleteSettleTime"/> has
    /// passed (the last refusal found). The pauses are short at first, as a writer undoing itself takes one write.
    /// </summary>
    private async Task<ApiException?> DependantsOnceSettledAsync(Func<Task<ApiException?>> inUse)
    {
        var deadline = time.GetUtcNow() + options.Value.DeleteSettleTime;
        var pause = FirstPause;
        while (true)
        {
            if (await inUse() is not { } found) return null;
            var left = deadline - time.GetUtcNow();
            if (left <= TimeSpan.Zero) return found;
            await Task.Delay(pause < left ? pause : left, time);
            pause = pause * 2 < LongestPause ? pause * 2 : LongestPause;
        }
    }
}
