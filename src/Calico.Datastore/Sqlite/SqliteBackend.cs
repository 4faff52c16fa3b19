using Calico.Datastore.AdoNet;
using Microsoft.Data.Sqlite;
using Orleans.Configuration;
using Orleans.Storage;

namespace Calico.Datastore.Sqlite;

/// <summary>One database file (default <c>DataDirectory/calico.db</c>) for a one-machine installation.</summary>
internal sealed class SqliteBackend : DatastoreBackend
{
    /// <summary>
    /// The invariant Orleans maps to Microsoft.Data.Sqlite's factory. ("Microsoft.Data.Sqlite" itself is not in
    /// Orleans' table and fails at silo start.)
    /// </summary>
    public const string Invariant = "System.Data.SQLite";

    public const string DatabaseFileName = "calico.db";

    private readonly SqliteBusyWaitDataSource _dataSource;

    public SqliteBackend(CalicoDatastoreOptions options)
    {
        var builder = string.IsNullOrWhiteSpace(options.ConnectionString)
            ? new SqliteConnectionStringBuilder { DataSource = Path.Combine(options.DataDirectory, DatabaseFileName) }
            : new SqliteConnectionStringBuilder(options.ConnectionString);
        // An absolute path, so that a later change of working directory cannot move the database.
        builder.DataSource = Path.GetFullPath(builder.DataSource);
        builder.Mode = SqliteOpenMode.ReadWriteCreate;
        builder.Pooling = true;
        DatabasePath = builder.DataSource;
        _dataSource = new SqliteBusyWaitDataSource(builder.ConnectionString);
    }

    public string DatabasePath { get; }

    public override string Description => $"sqlite ({DatabasePath})";

    public override void ConfigureAdoNet(AdoNetGrainStorageOptions options)
    {
        options.Invariant = Invariant;
        // Through our data source, so every connection the provider opens waits on a busy database (see there).
        options.DataSource = _dataSource;
        options.ConnectionString = null;
    }

    public override IGrainStorage CreateStorage(IServiceProvider services, string name) => CreateAdoNetStorage(services, name);

    public override IGrainStateCatalog CreateCatalog(IServiceProvider services) =>
        CreateRelationalCatalog(services, ct => _dataSource.OpenConnectionAsync(ct), "Sqlite");

    public override async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (Path.GetDirectoryName(DatabasePath) is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        // WAL: readers (the catalog) never block the writer and the writer never blocks readers; it is a property of
        // the file, so setting it once would do, but setting it again is free. It cannot change inside a transaction.
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "PRAGMA journal_mode = WAL;";
            await command.ExecuteScalarAsync(cancellationToken);
        }

        // IMMEDIATE: take the write lock first, so silos starting together on one file wait for each other.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await RelationalSchema.ApplyAsync(connection, transaction, SqlResources.Read("Sqlite.Schema"),
            SqlResources.Folder("Sqlite.Queries"), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
