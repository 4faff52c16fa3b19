using Calico.Grains;
using Orleans.Storage;

namespace Calico.Datastore.AdoNet;

/// <summary>
/// Orleans' ADO.NET grain storage (sqlite or postgres), told each grain's full id as its key (see
/// <see cref="StorageGrainId"/>). Everything else — ETag checks, serialization, query loading — is the provider's own.
/// A transient failure of the database (see <see cref="TransientFailures.Reason"/>) leaves here as a
/// <see cref="TransientFailureException"/>, never as the driver's exception: a grain whose activation fails reading its
/// state sends that failure to a caller on another silo, and a driver exception (Npgsql's) has no Orleans codec, so the
/// caller would get a codec error, not the reason (the 30-minute soak saw two such 500s while PostgreSQL restarted).
/// </summary>
internal sealed class CalicoAdoNetGrainStorage(IGrainStorage inner, ILifecycleParticipant<ISiloLifecycle>? participant = null)
    : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public CalicoAdoNetGrainStorage(AdoNetGrainStorage inner) : this(inner, inner)
    {
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Guard(inner.ReadStateAsync(stateName, StorageGrainId.From(grainId), grainState));

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        Guard(inner.ReadStateAsync(stateName, StorageGrainId.From(grainId), grainState, cancellationToken));

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Guard(inner.WriteStateAsync(stateName, StorageGrainId.From(grainId), grainState));

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        Guard(inner.WriteStateAsync(stateName, StorageGrainId.From(grainId), grainState, cancellationToken));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Guard(inner.ClearStateAsync(stateName, StorageGrainId.From(grainId), grainState));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        Guard(inner.ClearStateAsync(stateName, StorageGrainId.From(grainId), grainState, cancellationToken));

    /// <summary>The provider loads its queries from OrleansQuery in the silo lifecycle; it must still take part.</summary>
    public void Participate(ISiloLifecycle lifecycle) => participant?.Participate(lifecycle);

    private static async Task Guard(Task operation)
    {
        try
        {
            await operation;
        }
        catch (Exception e) when (e is not TransientFailureException && TransientFailures.Reason(e) is { } reason)
        {
            // Without the inner exception: it is what could not be sent. Its message says what happened.
            throw new TransientFailureException(reason, e.Message);
        }
    }
}
