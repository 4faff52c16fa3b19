using Calico.Datastore.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Calico.Datastore.Tests;

/// <summary>The contract on sqlite: a real database file in a temporary directory of this test's own.</summary>
public sealed class SqliteStorageTests : DurableStorageContractTests
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"calico-sqlite-test-{Guid.NewGuid():N}");

    // A directory that does not exist yet: the datastore creates it.
    private string DataDirectory => Path.Combine(_directory, "data");

    private string DatabaseFile => Path.Combine(DataDirectory, "calico.db");

    protected override void Configure(CalicoDatastoreOptions options)
    {
        options.Provider = DatastoreProviders.Sqlite;
        options.DataDirectory = DataDirectory;
    }

    public override Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    protected override async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    [Fact]
    public async Task TheDatabaseIsAFileInTheDataDirectoryInWalMode()
    {
        await using var silo = await StartSiloAsync();
        await silo.Grains.GetGrain<ICounterGrain>("x").AddAsync(1);

        Assert.True(File.Exists(DatabaseFile));
        Assert.Equal("wal", await ScalarAsync("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task ManyConcurrentWritersInOneProcessWaitForEachOtherInsteadOfFailing()
    {
        await using var silo = await StartSiloAsync();
        var counters = Enumerable.Range(0, 40).Select(i => silo.Grains.GetGrain<ICounterGrain>($"busy-{i}")).ToList();

        await Task.WhenAll(counters.Select(async counter =>
        {
            for (var i = 0; i < 5; i++)
            {
                await counter.AddAsync(1);
            }
        }));

        var listed = await silo.Catalog.CountersAsync(CounterGrain.GrainTypeName);
        Assert.Equal(40, listed.Count);
        Assert.All(listed.Values, value => Assert.Equal(5, value));
    }

    [Fact]
    public async Task AConnectionStringReplacesTheDataDirectory()
    {
        var file = Path.Combine(_directory, "elsewhere", "custom.db");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await using (var silo = await TestSilo.StartAsync(o => (o.Provider, o.ConnectionString) = ("SQLite", $"Data Source={file}")))
        {
            await silo.Grains.GetGrain<ICounterGrain>("x").AddAsync(3);
        }

        Assert.True(File.Exists(file));
        Assert.False(Directory.Exists(DataDirectory));
    }
}
