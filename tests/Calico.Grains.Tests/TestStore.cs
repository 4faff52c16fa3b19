using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Calico.Datastore;
using Orleans.Serialization;
using Orleans.Storage;

namespace Calico.Grains.Tests;

/// <summary>
/// A fake grain store shared by every silo of one test cluster, with real ETag semantics and a switch that
/// makes writes fail, for checking that a failed write changes nothing. Unit-test double only: the real
/// stores are tested in Calico.Datastore.Tests.
/// </summary>
public sealed class TestStore
{
    internal readonly ConcurrentDictionary<GrainId, (object State, string ETag)> Rows = new();
    internal long ETagCounter;

    public volatile bool FailWrites;

    /// <summary>When set, writes of the grains it accepts fail as with <see cref="FailWrites"/>.</summary>
    public volatile Func<GrainId, bool>? FailWritesOf;

    /// <summary>While set, writes wait for it (after counting themselves in <see cref="WaitingWrites"/>): a write in flight, held.</summary>
    public volatile TaskCompletionSource? WriteGate;

    public int WaitingWrites;

    public int Writes;

    public object? Peek(GrainId id) => Rows.TryGetValue(id, out var row) ? row.State : null;

    /// <summary>The store as one silo sees it: copies are made with that silo's copier, which dies with the silo.</summary>
    public TestStoreView For(DeepCopier copier) => new(this, copier);
}

public sealed class TestStoreView(TestStore store, DeepCopier copier) : IGrainStorage, IGrainStateCatalog
{
    private readonly ConcurrentDictionary<GrainId, (object State, string ETag)> _rows = store.Rows;
    private readonly DeepCopier? _copier = copier;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_rows.TryGetValue(grainId, out var row))
        {
            grainState.State = _copier!.Copy((T)row.State);
            grainState.ETag = row.ETag;
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (store.WriteGate is { } gate) return WriteAfterAsync(gate.Task, grainId, grainState);
        return Write(grainId, grainState);
    }

    private async Task WriteAfterAsync<T>(Task gate, GrainId grainId, IGrainState<T> grainState)
    {
        Interlocked.Increment(ref store.WaitingWrites);
        await gate;
        await Write(grainId, grainState);
    }

    private Task Write<T>(GrainId grainId, IGrainState<T> grainState)
    {
        if (store.FailWrites || store.FailWritesOf?.Invoke(grainId) == true) throw new IOException($"injected write failure for {grainId}");
        lock (_rows)
        {
            _rows.TryGetValue(grainId, out var current);
            if (current.ETag != grainState.ETag)
                throw new InconsistentStateException($"ETag mismatch for {grainId}", current.ETag, grainState.ETag);
            var etag = Interlocked.Increment(ref store.ETagCounter).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _rows[grainId] = (_copier!.Copy(grainState.State)!, etag);
            grainState.ETag = etag;
            grainState.RecordExists = true;
            Interlocked.Increment(ref store.Writes);
        }
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _rows.TryRemove(grainId, out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    public IAsyncEnumerable<KeyValuePair<string, T>> ListAsync<T>(string grainType, CancellationToken cancellationToken = default) =>
        ListAsync<T>(grainType, "", cancellationToken);

    public async IAsyncEnumerable<KeyValuePair<string, T>> ListAsync<T>(string grainType, string keyPrefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        foreach (var (id, row) in _rows)
            if (id.Type.ToString() == grainType && id.Key.ToString()!.StartsWith(keyPrefix, StringComparison.Ordinal) && row.State is T state)
                yield return new KeyValuePair<string, T>(id.Key.ToString()!, _copier!.Copy(state));
    }
}
