namespace Calico.Datastore;

/// <summary>
/// Where grain state lives (configuration section <c>Datastore</c>). The service and cluster names come from
/// Orleans' <c>ClusterOptions</c>: every row is scoped by <c>ServiceId</c>, so several services may share a database.
/// </summary>
public sealed class CalicoDatastoreOptions
{
    public const string Section = "Datastore";

    /// <summary><c>sqlite</c> (default), <c>postgres</c> or <c>memory</c>; see <see cref="DatastoreProviders"/>.</summary>
    public string Provider { get; set; } = DatastoreProviders.Sqlite;

    /// <summary>sqlite: the directory that holds <c>calico.db</c> (created if missing). Relative paths are
    /// resolved against the working directory.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>postgres: the Npgsql connection string (required). sqlite: optional Microsoft.Data.Sqlite
    /// connection string that replaces <see cref="DataDirectory"/>.</summary>
    public string? ConnectionString { get; set; }
}

/// <summary>The values <see cref="CalicoDatastoreOptions.Provider"/> accepts (case-insensitive).</summary>
public static class DatastoreProviders
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public const string Memory = "memory";

    public static IReadOnlyList<string> All { get; } = [Sqlite, Postgres, Memory];

    /// <summary>The canonical (lower-case) name, or null when <paramref name="provider"/> is none of <see cref="All"/>.</summary>
    public static string? Normalize(string? provider) =>
        All.FirstOrDefault(p => string.Equals(p, provider?.Trim(), StringComparison.OrdinalIgnoreCase));
}
