using Calico.Testing;
using Calico.Datastore.Tests.Infrastructure;
using Npgsql;

namespace Calico.Datastore.Tests;

/// <summary>The contract on a real PostgreSQL server, each test in a database of its own.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStorageTests(PostgresServer server) : DurableStorageContractTests
{
    private string _connectionString = "";

    public override async Task InitializeAsync() => _connectionString = await server.CreateDatabaseAsync();

    public override Task DisposeAsync() => server.DropDatabaseAsync(_connectionString);

    protected override void Configure(CalicoDatastoreOptions options)
    {
        options.Provider = DatastoreProviders.Postgres;
        options.ConnectionString = _connectionString;
    }

    protected override async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
