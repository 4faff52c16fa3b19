using Calico.Datastore.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Orleans.Storage;

namespace Calico.Datastore.Tests;

/// <summary>The contract on the in-memory provider, configured from a configuration section as Calico.Silo does.</summary>
public sealed class MemoryStorageTests : StorageContractTests
{
    private static readonly IConfiguration Datastore = new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["Datastore:Provider"] = "memory" })
        .Build()
        .GetSection(CalicoDatastoreOptions.Section);

    protected override void Configure(CalicoDatastoreOptions options) => options.Provider = DatastoreProviders.Memory;

    protected override async Task<(IGrainStorage First, IGrainStorage Second, IAsyncDisposable Owner)> TwoWritersAsync()
    {
        // Memory is per silo: two writers are two activations' states racing on the one store.
        var silo = await StartMemorySiloAsync();
        return (silo.Storage, silo.Storage, silo);
    }

    private static Task<TestSilo> StartMemorySiloAsync() => TestSilo.StartAsync(silo => silo.AddCalicoDatastore(Datastore));

    [Fact]
    public async Task TheConfigurationSectionSelectsTheMemoryProvider()
    {
        await using var silo = await StartMemorySiloAsync();
        await silo.Grains.GetGrain<ICounterGrain>("m").AddAsync(2);

        Assert.Equal("MemoryGrainStorage", silo.Storage.GetType().Name);
        Assert.Same(silo.Storage, silo.Catalog);
        Assert.Equal(new Dictionary<string, int> { ["m"] = 2 }, await silo.Catalog.CountersAsync(CounterGrain.GrainTypeName));
    }

    [Fact]
    public async Task AStateReadFromTheStoreIsACopy()
    {
        await using var silo = await StartMemorySiloAsync();
        var id = Counter("copy");
        var written = Counter(1);
        await silo.Storage.WriteStateAsync(StateName, id, written);
        written.State.Value = 2; // changed after the write, not written: the store must not see it

        var read = Counter(0);
        await silo.Storage.ReadStateAsync(StateName, id, read);
        Assert.Equal(1, read.State.Value);
    }
}
