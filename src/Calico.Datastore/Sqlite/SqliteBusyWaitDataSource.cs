using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Calico.Datastore.Sqlite;

/// <summary>
/// Opens Microsoft.Data.Sqlite connections with SQLite's own busy timeout set, so that a writer that finds the
/// database locked by another writer in this process (grain writes run concurrently) waits for the lock instead of
/// failing with SQLITE_BUSY. The wait equals the connection string's <c>Default Timeout</c> (30 s unless set), which
/// is also how long Microsoft.Data.Sqlite itself retries a busy command.
/// </summary>
internal sealed class SqliteBusyWaitDataSource(string connectionString) : DbDataSource
{
    private readonly int _busyTimeoutMilliseconds =
        checked(new SqliteConnectionStringBuilder(connectionString).DefaultTimeout * 1000);

    public override string ConnectionString => connectionString;

    protected override DbConnection CreateDbConnection() => new SqliteConnection(connectionString);

    protected override DbConnection OpenDbConnection()
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = BusyTimeoutPragma();
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    protected override async ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = BusyTimeoutPragma();
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private string BusyTimeoutPragma() => FormattableString.Invariant($"PRAGMA busy_timeout = {_busyTimeoutMilliseconds};");
}
