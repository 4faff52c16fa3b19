using Calico.Datastore.Tests.Infrastructure;
using Orleans.Storage;

namespace Calico.Datastore.Tests;

/// <summary>The contract of the providers that keep state in a database (sqlite, postgres).</summary>
public abstract class DurableStorageContractTests : StorageContractTests
{
    /// <summary>Runs SQL against this test's database and returns the first column of the first row.</summary>
    protected abstract Task<object?> ScalarAsync(string sql);

    protected override async Task<(IGrainStorage First, IGrainStorage Second, IAsyncDisposable Owner)> TwoWritersAsync()
    {
        // Two silos of two separate clusters sharing the database: nothing in Orleans coordinates them, only the store.
        var silos = await Task.WhenAll(StartSiloAsync(), StartSiloAsync());
        return (silos[0].Storage, silos[1].Storage, new Owner(silos));
    }

    [Fact]
    public async Task StateSurvivesASiloRestart()
    {
        await using (var silo = await StartSiloAsync())
        {
            var counter = silo.Grains.GetGrain<ICounterGrain>("survivor");
            await counter.AddAsync(40);
            await counter.AddAsync(2);
            await silo.Grains.GetGrain<ICounterGrain>("forgotten").AddAsync(1);
            await silo.Grains.GetGrain<ICounterGrain>("forgotten").ClearAsync();
            // Same state name, same key, other grain type; and keys that differ only in case but read as one hex
            // number: each is a record of its own.
            await silo.Grains.GetGrain<IOtherCounterGrain>("survivor").AddAsync(7);
            await silo.Grains.GetGrain<ICounterGrain>("abc").AddAsync(1);
            await silo.Grains.GetGrain<ICounterGrain>("ABC").AddAsync(2);
        }

        await using (var silo = await StartSiloAsync())
        {
            Assert.Equal(42, await silo.Grains.GetGrain<ICounterGrain>("survivor").GetAsync());
            Assert.Equal(0, await silo.Grains.GetGrain<ICounterGrain>("forgotten").GetAsync());
            Assert.Equal(7, await silo.Grains.GetGrain<IOtherCounterGrain>("survivor").GetAsync());
            Assert.Equal(1, await silo.Grains.GetGrain<ICounterGrain>("abc").GetAsync());
            Assert.Equal(2, await silo.Grains.GetGrain<ICounterGrain>("ABC").GetAsync());
            Assert.Equal(new Dictionary<string, int> { ["survivor"] = 42, ["abc"] = 1, ["ABC"] = 2 },
                await silo.Catalog.CountersAsync(CounterGrain.GrainTypeName));
            Assert.Equal(43, await silo.Grains.GetGrain<ICounterGrain>("survivor").AddAsync(1)); // and it can go on writing
        }
    }

    [Fact]
    public async Task SchemaCreationIsIdempotentAndRestoresTheQueries()
    {
        await using (var silo = await StartSiloAsync())
        {
            await silo.Grains.GetGrain<ICounterGrain>("kept").AddAsync(7);
        }
        Assert.Equal(3L, Convert.ToInt64(await ScalarAsync("SELECT COUNT(*) FROM OrleansQuery")));
        // A query text that is not ours any more (an older release, a hand edit) is replaced at the next start.
        await ScalarAsync("UPDATE OrleansQuery SET QueryText = 'SELECT broken' WHERE QueryKey = 'WriteToStorageKey'");

        // Two silos starting at the same time against the existing schema.
        var silos = await Task.WhenAll(StartSiloAsync(), StartSiloAsync());
        await using var first = silos[0];
        await using var second = silos[1];

        Assert.Equal(3L, Convert.ToInt64(await ScalarAsync("SELECT COUNT(*) FROM OrleansQuery")));
        Assert.Equal(7, await first.Grains.GetGrain<ICounterGrain>("kept").GetAsync());
        Assert.Equal(8, await first.Grains.GetGrain<ICounterGrain>("kept").AddAsync(1));
        Assert.Equal(1, Convert.ToInt64(await ScalarAsync("SELECT COUNT(*) FROM calico_grain_state WHERE GrainKey = 'kept'")));
    }

    private sealed class Owner(TestSilo[] silos) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }
    }
}
