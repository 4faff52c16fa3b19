namespace Calico.Datastore;

/// <summary>
/// Read-only enumeration of the grain states that the <c>calico</c> storage provider has persisted.
/// Grains remain the only writers; this exists so that a controller can list resources (the API's list calls)
/// and rebuild derived state after a restart without activating every grain.
/// </summary>
public interface IGrainStateCatalog
{
    /// <summary>
    /// Every persisted, non-cleared state of the grains whose Orleans grain type is <paramref name="grainType"/>
    /// (for example "port"), keyed by the grain's primary key string.
    /// </summary>
    IAsyncEnumerable<KeyValuePair<string, T>> ListAsync<T>(string grainType, CancellationToken cancellationToken = default);
}
