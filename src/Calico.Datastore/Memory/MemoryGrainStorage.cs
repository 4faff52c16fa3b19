using System.Globalization;
using System.Runtime.CompilerServices;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Calico.Datastore.Memory;

/// <summary>
/// Grain state kept in this process only (tests, demos). It behaves like the relational stores on purpose, so that
/// code tested against it behaves the same in production: integer versions as ETags, a write or clear with a stale
/// ETag throws <see cref="InconsistentStateException"/> and changes nothing, a first write with a null ETag fails if a
/// row exists, a clear leaves a tombstone that keeps the version. States are stored serialized (with the storage
/// serializer, like the real stores), so neither a grain nor a caller of the catalog ever shares an object with the
/// store.
/// </summary>
internal sealed class MemoryGrainStorage(IGrainStorageSerializer serializer, IActivatorProvider activators)
    : IGrainStorage, IGrainStateCatalog
{
    private sealed record Row(BinaryData? Payload, int Version);

    private readonly Dictionary<(GrainId Grain, string State), Row> _rows = [];
    private readonly Lock _lock = new();

    // Failures come back as faulted tasks, never as exceptions thrown by the call, as from the real stores.
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        try
        {
            Read(stateName, grainId, grainState);
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        try
        {
            // Serialized before the lock: if this throws, nothing has changed.
            var payload = serializer.Serialize(grainState.State);
            var version = Replace(stateName, grainId, grainState.ETag, payload, "WriteState");
            grainState.ETag = ETag(version);
            grainState.RecordExists = true;
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        try
        {
            // Like the ADO.NET provider: a grain that never read its state learns the version first, and clearing
            // something that was never written is a no-op.
            if (!grainState.RecordExists && string.IsNullOrWhiteSpace(grainState.ETag))
            {
                Read(stateName, grainId, grainState);
                if (!grainState.RecordExists)
                {
                    return Task.CompletedTask;
                }
            }

            var version = Replace(stateName, grainId, grainState.ETag, payload: null, "ClearState");
            grainState.ETag = ETag(version);
            grainState.RecordExists = false;
            grainState.State = activators.GetActivator<T>().Create();
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    public IAsyncEnumerable<KeyValuePair<string, T>> ListAsync<T>(string grainType, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(grainType);
        return ListAsync<T>(grainType, key => true, cancellationToken);
    }

    public IAsyncEnumerable<KeyValuePair<string, T>> ListAsync<T>(string grainType, string keyPrefix, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(grainType);
        ArgumentException.ThrowIfNullOrEmpty(keyPrefix);
        return ListAsync<T>(grainType, key => key.StartsWith(keyPrefix, StringComparison.Ordinal), cancellationToken);
    }

    private async IAsyncEnumerable<KeyValuePair<string, T>> ListAsync<T>(
        string grainType, Func<string, bool> keyMatches, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<(string Key, BinaryData Payload)> rows;
        lock (_lock)
        {
            rows = _rows
                .Where(r => r.Value.Payload is not null && r.Key.Grain.Type.ToString() == grainType && keyMatches(r.Key.Grain.Key.ToString()!))
                .Select(r => (r.Key.Grain.Key.ToString()!, r.Value.Payload!))
                .OrderBy(r => r.Item1, StringComparer.Ordinal)
                .ToList();
        }

        await Task.Yield(); // callers enumerate asynchronously, as with the databases
        foreach (var (key, payload) in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (serializer.Deserialize<T>(payload) is { } state)
            {
                yield return new KeyValuePair<string, T>(key, state);
            }
        }
    }

    private void Read<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        Row? row;
        lock (_lock)
        {
            _rows.TryGetValue((grainId, stateName), out row);
        }

        grainState.State = row?.Payload is { } payload ? serializer.Deserialize<T>(payload) : activators.GetActivator<T>().Create();
        grainState.ETag = row is null ? null : ETag(row.Version);
        grainState.RecordExists = row?.Payload is not null;
    }

    /// <summary>Writes <paramref name="payload"/> (null: clear) if <paramref name="etag"/> is the stored version.</summary>
    private int Replace(string stateName, GrainId grainId, string? etag, BinaryData? payload, string operation)
    {
        lock (_lock)
        {
            var key = (grainId, stateName);
            var stored = _rows.TryGetValue(key, out var row) ? ETag(row.Version) : null;
            if (!string.Equals(stored, string.IsNullOrWhiteSpace(etag) ? null : etag, StringComparison.Ordinal))
            {
                throw new InconsistentStateException(
                    $"Version conflict ({operation}): ProviderName={StorageNames.Calico} State={stateName} GrainId={grainId} ETag={etag}.",
                    stored, etag);
            }

            var version = (row?.Version ?? 0) + 1;
            _rows[key] = new Row(payload, version);
            return version;
        }
    }

    private static string ETag(int version) => version.ToString(CultureInfo.InvariantCulture);
}
