using Orleans.Storage;

namespace Calico.Datastore.AdoNet;

/// <summary>
/// Orleans' ADO.NET grain storage (sqlite or postgres), told each grain's full id as its key (see
/// <see cref="StorageGrainId"/>). Everything else — ETag checks, serialization, query loading — is the provider's own.
/// </summary>
internal sealed class CalicoAdoNetGrainStorage(AdoNetGrainStorage inner) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    private IGrainStorage Inner => inner;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Inner.ReadStateAsync(stateName, StorageGrainId.From(grainId), grainState);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        Inner.ReadStateAsync(stateName, StorageGrainId.From(grainId), grainState, cancellationToken);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Inner.WriteStateAsync(stateName, StorageGrainId.From(grainId), grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        Inner.WriteStateAsync(stateName, StorageGrainId.From(grainId), grainState, cancellationToken);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Inner.ClearStateAsync(stateName, StorageGrainId.From(grainId), grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        Inner.ClearStateAsync(stateName, StorageGrainId.From(grainId), grainState, cancellationToken);

    /// <summary>The provider loads its queries from OrleansQuery in the silo lifecycle; it must still take part.</summary>
    public void Participate(ISiloLifecycle lifecycle) => inner.Participate(lifecycle);
}
