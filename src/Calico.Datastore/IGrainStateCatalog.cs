namespace Calico.Datastore;

/// <summary>
/// Read-only enumeration of the grain states that the <c>calico</c> storage provider has persisted.
/// Grains remain the only writers; this exists so that a controller can list resources (the API's list calls)
/// and rebuild derived state after a restart without activating every grain.
/// </summary>
public interface IGrainStateCatalog
{
    /// <summary>
    /// Every persisted, non-cleared state of the grains whose Orleans grain type is <paramref name="grainType"/>
    /// (for example "port"), keyed by the grain's primary key string.
    /// </summary>
    IAsyncEnumerable<KeyValuePair<string, T>> ListAsync<T>(string grainType, CancellationToken cancellationToken = default);

    /// <summary>
    /// The same, only for keys that start with <paramref name="keyPrefix"/> (ordinal), read as one range of an index:
    /// its cost follows the rows it returns, not the rows of the type. Keys such as <c>parent|child</c> list one
    /// parent's rows.
    /// </summary>
    IAsyncEnumerable<KeyValuePair<string, T>> ListAsync<T>(string grainType, string keyPrefix, CancellationToken cancellationToken = default);

    /// <summary>The first string after every string that starts with <paramref name="prefix"/> (ordinal), the range's end.</summary>
    public static string KeyRangeEnd(string prefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        if (prefix[^1] == char.MaxValue) throw new ArgumentException("A key prefix may not end with U+FFFF.", nameof(prefix));
        return prefix[..^1] + (char)(prefix[^1] + 1);
    }
}
