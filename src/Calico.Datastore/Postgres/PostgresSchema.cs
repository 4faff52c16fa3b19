using Calico.Datastore.AdoNet;
using Npgsql;

namespace Calico.Datastore.Postgres;

/// <summary>Applies a PostgreSQL schema script with its OrleansQuery rows, serialized across silos.</summary>
internal static class PostgresSchema
{
    /// <summary>
    /// Concurrent <c>CREATE TABLE IF NOT EXISTS</c> of the same table can still fail in PostgreSQL (both sessions
    /// pass the check, one then violates a catalog unique index), and silos of one cluster typically start together.
    /// A transaction-scoped advisory lock makes them take turns; it is released at commit or rollback.
    /// </summary>
    private const string LockStatement = "SELECT pg_advisory_xact_lock(hashtext('calico.datastore.schema'));";

    public static async Task ApplyAsync(string connectionString, string schemaResource, string queriesFolder, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand(LockStatement, connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await RelationalSchema.ApplyAsync(connection, transaction, SqlResources.Read(schemaResource),
            SqlResources.Folder(queriesFolder), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
