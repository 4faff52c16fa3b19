using Calico.Datastore.AdoNet;
using Npgsql;
using Orleans.Configuration;
using Orleans.Storage;

namespace Calico.Datastore.Postgres;

/// <summary>A PostgreSQL database shared by every silo of the service (and, with clustering, its membership).</summary>
internal sealed class PostgresBackend(string connectionString) : DatastoreBackend
{
    /// <summary>The invariant Orleans maps to Npgsql's factory.</summary>
    public const string Invariant = "Npgsql";

    public override string Description => Describe(connectionString);

    /// <summary>For logs: where the data goes, without the password.</summary>
    public static string Describe(string connectionString) =>
        $"postgres ({new NpgsqlConnectionStringBuilder(connectionString) { Password = null }.ConnectionString})";

    public override void ConfigureAdoNet(AdoNetGrainStorageOptions options)
    {
        options.Invariant = Invariant;
        options.ConnectionString = connectionString;
        options.DataSource = null;
    }

    public override IGrainStorage CreateStorage(IServiceProvider services, string name) => CreateAdoNetStorage(services, name);

    public override IGrainStateCatalog CreateCatalog(IServiceProvider services) =>
        CreateRelationalCatalog(services, OpenAsync, "Postgres");

    public override Task EnsureSchemaAsync(CancellationToken cancellationToken) =>
        PostgresSchema.ApplyAsync(connectionString, "Postgres.Schema", "Postgres.Queries", cancellationToken);

    private async ValueTask<System.Data.Common.DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        // Npgsql pools connections per connection string, as Orleans' own provider relies on too.
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
