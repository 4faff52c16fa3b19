using Calico.Datastore;
using Calico.Model.Resources;

namespace Calico.Grains.Resources;

/// <summary>Whether every port stored before the per-network listing existed has been given its row.</summary>
[GenerateSerializer]
public sealed class NetworkPortListingState
{
    [Id(0)] public bool Complete { get; set; }
}

/// <summary>
/// Fills the per-network listing (<see cref="NetworkPortRow"/>) from the ports already stored, once per datastore:
/// a store written before the listing existed has ports without rows, and a network's dependants would not see
/// them. Every port is asked to store its row (through its own grain, the only writer of its row); only when all
/// answered is the listing marked complete, so a failure is retried by the next caller. Ports created meanwhile
/// write their own rows. Not reentrant: concurrent callers wait for the one fill.
/// </summary>
[GrainType(GrainTypes.NetworkPortListing)]
public sealed class NetworkPortListingGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<NetworkPortListingState> state,
    IGrainStateCatalog catalog) : Grain, INetworkPortListingGrain
{
    public async Task EnsureCompleteAsync()
    {
        if (state.State.Complete) return;
        await foreach (var (id, port) in catalog.ListAsync<ResourceState<WorkloadEndpoint>>(GrainTypes.Endpoint))
            if (port.Value is not null) await GrainFactory.GetGrain<IEndpointGrain>(id).EnsureNetworkRowAsync();
        state.State.Complete = true;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Complete = false;
            throw;
        }
    }
}
