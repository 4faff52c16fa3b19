using System.Reflection;

namespace Calico.Datastore.AdoNet;

/// <summary>
/// The SQL this assembly ships as embedded resources (Sqlite/, Postgres/). We write our own scripts: the Orleans
/// packages ship none, and the provider only needs its contract (the OrleansQuery rows and their result shapes).
/// </summary>
internal static class SqlResources
{
    private static readonly Assembly Assembly = typeof(SqlResources).Assembly;
    private const string Root = "Calico.Datastore.";

    /// <summary>The text of one script, e.g. <c>Read("Sqlite.Schema")</c>.</summary>
    public static string Read(string name)
    {
        using var stream = Assembly.GetManifestResourceStream($"{Root}{name}.sql")
            ?? throw new InvalidOperationException($"Embedded SQL resource '{name}' is missing from {Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Every script under a folder, keyed by file name: <c>Folder("Sqlite.Queries")</c> gives the OrleansQuery rows
    /// (the file name is the QueryKey the Orleans provider looks up).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Folder(string folder)
    {
        var prefix = $"{Root}{folder}.";
        return Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => n[prefix.Length..^".sql".Length])
            .Where(key => !key.Contains('.', StringComparison.Ordinal)) // files directly in the folder, not in sub-folders
            .ToDictionary(key => key, key => Read($"{folder}.{key}"), StringComparer.Ordinal);
    }
}
