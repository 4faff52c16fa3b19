using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Calico.Datastore;

/// <summary>
/// Checks <see cref="CalicoDatastoreOptions"/> at host start. Every message names the configuration key and
/// says what to put there, because the person reading it is editing a configuration file, not our code.
/// </summary>
public sealed class CalicoDatastoreOptionsValidator : IValidateOptions<CalicoDatastoreOptions>
{
    private const string S = CalicoDatastoreOptions.Section;

    public ValidateOptionsResult Validate(string? name, CalicoDatastoreOptions options)
    {
        var provider = DatastoreProviders.Normalize(options.Provider);
        if (provider is null)
        {
            return ValidateOptionsResult.Fail(
                $"{S}:Provider is '{options.Provider}', which is not a datastore provider: " +
                $"set it to one of {string.Join(", ", DatastoreProviders.All.Select(p => $"'{p}'"))}.");
        }

        var failures = provider switch
        {
            DatastoreProviders.Postgres => ValidatePostgres(options),
            DatastoreProviders.Sqlite => ValidateSqlite(options),
            _ => [],
        };
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static List<string> ValidatePostgres(CalicoDatastoreOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return [$"{S}:ConnectionString is required when {S}:Provider is 'postgres': set it to an Npgsql connection " +
                    "string such as 'Host=db.example;Port=5432;Username=calico;Password=...;Database=calico'."];
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            return string.IsNullOrWhiteSpace(builder.Host)
                ? [$"{S}:ConnectionString has no Host: add 'Host=<server>' (and Database=<name>) to it."]
                : [];
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            return [$"{S}:ConnectionString is not a valid Npgsql connection string ({e.Message}): " +
                    "write it as 'Host=...;Username=...;Password=...;Database=...'."];
        }
    }

    private static List<string> ValidateSqlite(CalicoDatastoreOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return string.IsNullOrWhiteSpace(options.DataDirectory)
                ? [$"{S}:DataDirectory is empty: set it to the directory that should hold calico.db (default './data'), " +
                   $"or set {S}:ConnectionString."]
                : [];
        }

        try
        {
            var builder = new SqliteConnectionStringBuilder(options.ConnectionString);
            // An in-memory SQLite database lives only as long as one connection, and the storage provider opens one
            // per operation: every write would vanish. The memory provider is the supported way to keep state in memory.
            if (string.IsNullOrWhiteSpace(builder.DataSource) || builder.DataSource == ":memory:" || builder.Mode == SqliteOpenMode.Memory)
            {
                return [$"{S}:ConnectionString must name a database file ('Data Source=/path/calico.db'); for state kept " +
                        $"only in memory set {S}:Provider to 'memory'."];
            }
            return builder.Mode == SqliteOpenMode.ReadOnly
                ? [$"{S}:ConnectionString opens the database read-only (Mode=ReadOnly): remove Mode or use Mode=ReadWriteCreate."]
                : [];
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            return [$"{S}:ConnectionString is not a valid SQLite connection string ({e.Message}): " +
                    "write it as 'Data Source=/path/calico.db'."];
        }
    }
}
