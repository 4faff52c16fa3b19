using Calico.Grains;

namespace Calico.Api.Http;

/// <summary>
/// Referential integrity without locks. A writer that makes a resource depend on others stores itself first, then
/// checks that they still exist (and undoes its write if not); a deleter deletes first, then checks that nothing
/// depends on what it deleted (and puts it back if something does). Reads of one resource are linearizable (its
/// grain), so of two such writers racing, at least one sees the other: a port can never end up on a deleted
/// network, subnet or security group, however the requests interleave. The pre-checks that come first only make
/// the usual, unraced refusal cheap and clear.
/// </summary>
internal sealed class References(IGrainFactory grains)
{
    /// <summary>The first of the named resources that does not exist (as a 404 to throw), or null when all do.</summary>
    public async Task<ApiException?> FirstMissingAsync(
        string? networkId = null, IEnumerable<string>? subnetIds = null, IEnumerable<string>? groupIds = null, string? portId = null)
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
        return null;
    }

    /// <summary>
    /// Deletes <paramref name="current"/> unless <paramref name="inUse"/> names a dependant, checked before and
    /// again after the delete; a dependant stored in between gets the resource put back, and the delete is refused.
    /// </summary>
    public static async Task DeleteUnlessUsedAsync<T>(IResourceGrain<T> grain, Versioned<T> current, Func<Task<ApiException?>> inUse) where T : class
    {
        if (await inUse() is { } before) throw before;
        await grain.DeleteAsync(current.Revision);
        if (await inUse() is { } after)
        {
            await grain.CreateAsync(current.Value);
            throw after;
        }
    }
}
