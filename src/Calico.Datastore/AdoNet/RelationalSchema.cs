using System.Data.Common;

namespace Calico.Datastore.AdoNet;

/// <summary>
/// Applies one of our schema scripts and (re)writes the OrleansQuery rows it comes with, inside the caller's
/// transaction. The DDL is idempotent and the rows are upserted, so this runs on every silo start: a new database
/// gets its tables, an existing one is left as it is, and a newer release's query texts replace older ones.
/// </summary>
internal static class RelationalSchema
{
    // The same upsert is valid SQLite (3.24+) and PostgreSQL (9.5+).
    private const string UpsertQuery =
        "INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES (@QueryKey, @QueryText) " +
        "ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText";

    public static async Task ApplyAsync(
        DbConnection connection, DbTransaction transaction, string ddl,
        IReadOnlyDictionary<string, string> queries, CancellationToken cancellationToken)
    {
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = ddl;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var (key, text) in queries)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = UpsertQuery;
            var keyParameter = command.CreateParameter();
            keyParameter.ParameterName = "QueryKey";
            keyParameter.Value = key;
            command.Parameters.Add(keyParameter);
            var textParameter = command.CreateParameter();
            textParameter.ParameterName = "QueryText";
            textParameter.Value = text;
            command.Parameters.Add(textParameter);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
