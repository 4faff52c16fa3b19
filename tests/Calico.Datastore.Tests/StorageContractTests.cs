using Calico.Datastore.Tests.Infrastructure;
using Orleans.Storage;

namespace Calico.Datastore.Tests;

/// <summary>
/// What every provider of the calico grain storage must do, run against each (sqlite, postgres, memory) by the
/// derived classes. The storage-level tests call the registered <see cref="IGrainStorage"/> of a real silo, exactly as
/// Orleans' state bridge does.
/// </summary>
public abstract class StorageContractTests : IAsyncLifetime
{
    protected const string StateName = "state";

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Points the datastore at this test's own store.</summary>
    protected abstract void Configure(CalicoDatastoreOptions options);

    protected Task<TestSilo> StartSiloAsync() => TestSilo.StartAsync(Configure);

    /// <summary>Two storages writing to one store as two independent writers would (say two silos).</summary>
    protected abstract Task<(IGrainStorage First, IGrainStorage Second, IAsyncDisposable Owner)> TwoWritersAsync();

    protected static GrainId Counter(string key) => GrainId.Create(CounterGrain.GrainTypeName, key);

    protected static CounterRecord Counter(int value) => new(value);

    [Fact]
    public async Task WriteWithStaleETagThrowsAndLeavesStoredStateUnchanged()
    {
        await using var silo = await StartSiloAsync();
        var storage = silo.Storage;
        var id = Counter("stale-write");

        var first = Counter(0);
        await storage.ReadStateAsync(StateName, id, first);
        Assert.Null(first.ETag);
        Assert.False(first.RecordExists);
        first.State.Value = 1;
        await storage.WriteStateAsync(StateName, id, first);

        var second = Counter(0);
        await storage.ReadStateAsync(StateName, id, second);
        Assert.Equal(first.ETag, second.ETag);
        Assert.Equal(1, second.State.Value);

        first.State.Value = 2;
        await storage.WriteStateAsync(StateName, id, first); // moves the version on: second's ETag is now stale
        Assert.NotEqual(first.ETag, second.ETag);

        var staleETag = second.ETag;
        second.State.Value = 99;
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, id, second));
        Assert.Equal(staleETag, second.ETag); // the failed writer still holds what it had

        var stored = Counter(0);
        await storage.ReadStateAsync(StateName, id, stored);
        Assert.Equal(2, stored.State.Value);
        Assert.Equal(first.ETag, stored.ETag);
        Assert.True(stored.RecordExists);
    }

    [Fact]
    public async Task ClearWithStaleETagThrowsAndLeavesStoredStateUnchanged()
    {
        await using var silo = await StartSiloAsync();
        var storage = silo.Storage;
        var id = Counter("stale-clear");

        var first = Counter(5);
        await storage.WriteStateAsync(StateName, id, first);
        var second = Counter(0);
        await storage.ReadStateAsync(StateName, id, second);
        first.State.Value = 6;
        await storage.WriteStateAsync(StateName, id, first);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync(StateName, id, second));

        var stored = Counter(0);
        await storage.ReadStateAsync(StateName, id, stored);
        Assert.Equal(6, stored.State.Value);
        Assert.True(stored.RecordExists);

        // With the current ETag the clear goes through, and a clear keeps the version moving forward.
        await storage.ClearStateAsync(StateName, id, first);
        Assert.False(first.RecordExists);
        var cleared = Counter(0);
        await storage.ReadStateAsync(StateName, id, cleared);
        Assert.False(cleared.RecordExists);
        Assert.Equal(0, cleared.State.Value);
        Assert.Equal(first.ETag, cleared.ETag);
        Assert.NotEqual(stored.ETag, cleared.ETag);
    }

    [Fact]
    public async Task FirstWriteFailsWhenAnotherWriterCreatedTheRecord()
    {
        await using var silo = await StartSiloAsync();
        var storage = silo.Storage;
        var id = Counter("created-twice");

        var early = Counter(0);
        await storage.ReadStateAsync(StateName, id, early); // sees no record, ETag null
        await storage.WriteStateAsync(StateName, id, Counter(1));

        early.State.Value = 2;
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, id, early));
        var stored = Counter(0);
        await storage.ReadStateAsync(StateName, id, stored);
        Assert.Equal(1, stored.State.Value);
    }

    [Fact]
    public async Task TwoConcurrentWritersThatReadTheSameVersionExactlyOneSucceeds()
    {
        var (a, b, owner) = await TwoWritersAsync();
        await using var _ = owner;
        for (var round = 0; round < 10; round++)
        {
            var id = Counter($"race-{round}");
            // Twice per key: racing to create the record (both hold no ETag), then racing to update it.
            for (var attempt = 0; attempt < 2; attempt++)
            {
                var (stateA, stateB) = (Counter(0), Counter(0));
                await Task.WhenAll(a.ReadStateAsync(StateName, id, stateA), b.ReadStateAsync(StateName, id, stateB));
                Assert.Equal(stateA.ETag, stateB.ETag);
                stateA.State.Value = 1000 + round;
                stateB.State.Value = 2000 + round;

                var writes = new[] { a.WriteStateAsync(StateName, id, stateA), b.WriteStateAsync(StateName, id, stateB) };
                try { await Task.WhenAll(writes); } catch (InconsistentStateException) { }

                Assert.Equal(1, writes.Count(w => w.IsCompletedSuccessfully));
                var failure = writes.Single(w => !w.IsCompletedSuccessfully);
                Assert.IsType<InconsistentStateException>(failure.Exception?.InnerException);

                var winner = writes[0].IsCompletedSuccessfully ? stateA : stateB;
                var stored = Counter(0);
                await a.ReadStateAsync(StateName, id, stored);
                Assert.Equal(winner.State.Value, stored.State.Value);
                Assert.Equal(winner.ETag, stored.ETag);
            }
        }
    }

    [Fact]
    public async Task CatalogListsExactlyTheStoredStatesSkippingClearedOnes()
    {
        await using var silo = await StartSiloAsync();
        // Keys that look like hex numbers or GUIDs, and one key shared by two grain types: each must stay its own
        // record and come back as exactly the string it was.
        var counters = new Dictionary<string, int>
        {
            ["a"] = 1, ["b"] = 2, ["c"] = 3, ["abc"] = 4, ["ABC"] = 5, ["12"] = 6, ["012"] = 7,
            ["0123456789abcdef0123456789abcdef"] = 8, ["3fa85f64-5717-4562-b3fc-2c963f66afa6"] = 9, ["with/slash+plus"] = 10,
        };
        foreach (var (key, value) in counters)
        {
            await silo.Grains.GetGrain<ICounterGrain>(key).AddAsync(value);
        }
        await silo.Grains.GetGrain<IOtherCounterGrain>("a").AddAsync(100);
        await silo.Grains.GetGrain<ICounterGrain>("b").ClearAsync();
        counters.Remove("b");

        Assert.Equal(counters, await silo.Catalog.CountersAsync(CounterGrain.GrainTypeName));
        Assert.Equal(new Dictionary<string, int> { ["a"] = 100 }, await silo.Catalog.CountersAsync(OtherCounterGrain.GrainTypeName));
        Assert.Empty(await silo.Catalog.CountersAsync("no-such-grain"));

        // The payload is the grain's whole state, deserialized with the storage serializer.
        await foreach (var (key, state) in silo.Catalog.ListAsync<CounterState>(CounterGrain.GrainTypeName))
        {
            Assert.Equal([$"+{counters[key]}"], state.History);
        }
    }

    [Fact]
    public async Task CatalogListsByKeyPrefixExactlyTheStoredStatesWhoseKeysStartWithIt()
    {
        await using var silo = await StartSiloAsync();
        // Keys as parent|child: the prefix "net-1|" must take neither "net-1" itself, nor "net-10|...", nor rows of
        // another grain type with the same key; the prefix "net-1" not "net-2", the first string after its range.
        // (Orleans' ADO.NET provider cannot store keys with braces, so "net-1}" after "net-1|" is not among them.)
        var counters = new Dictionary<string, int>
        {
            ["net-1|a|p1"] = 1, ["net-1|a|p2"] = 2, ["net-1|b|p3"] = 3, ["net-1|b|p4"] = 4,
            ["net-1"] = 5, ["net-10|a|p5"] = 6, ["net-2"] = 7, ["net-0|a|p6"] = 8, ["net-|a"] = 9,
        };
        foreach (var (key, value) in counters)
            await silo.Grains.GetGrain<ICounterGrain>(key).AddAsync(value);
        await silo.Grains.GetGrain<IOtherCounterGrain>("net-1|a|p1").AddAsync(100);
        await silo.Grains.GetGrain<ICounterGrain>("net-1|b|p4").ClearAsync();

        Assert.Equal(new Dictionary<string, int> { ["net-1|a|p1"] = 1, ["net-1|a|p2"] = 2, ["net-1|b|p3"] = 3 },
            await silo.Catalog.CountersAsync(CounterGrain.GrainTypeName, "net-1|"));
        Assert.Equal(new Dictionary<string, int> { ["net-1|b|p3"] = 3 }, await silo.Catalog.CountersAsync(CounterGrain.GrainTypeName, "net-1|b|"));
        Assert.Equal(new Dictionary<string, int> { ["net-10|a|p5"] = 6 }, await silo.Catalog.CountersAsync(CounterGrain.GrainTypeName, "net-10|"));
        Assert.Equal(new Dictionary<string, int> { ["net-1|a|p1"] = 100 }, await silo.Catalog.CountersAsync(OtherCounterGrain.GrainTypeName, "net-1|"));
        Assert.Empty(await silo.Catalog.CountersAsync(CounterGrain.GrainTypeName, "net-2|"));
        // Every key listed in full starts with the prefix exactly when the prefix listing has it.
        var all = await silo.Catalog.CountersAsync(CounterGrain.GrainTypeName);
        foreach (var prefix in new[] { "net-", "net-1", "n", "net-1|a" })
            Assert.Equal(all.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(),
                await silo.Catalog.CountersAsync(CounterGrain.GrainTypeName, prefix));
    }
}
