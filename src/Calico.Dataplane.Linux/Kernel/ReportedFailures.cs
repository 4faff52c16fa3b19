namespace Calico.Dataplane.Linux.Kernel;

/// <summary>
/// Failures that are retried at every update and resync, logged once when they appear or their reason changes, and
/// once when they clear, so a persistent failure does not fill the log. One per kind of object (routes by key,
/// workload interfaces by name, DHCP by port); the caller says what clears.
/// </summary>
public sealed class ReportedFailures<TKey> where TKey : notnull
{
    private readonly Dictionary<TKey, string> _reported;
    private readonly Action<TKey, string> _logFailed;
    private readonly Action<TKey>? _logRecovered;

    /// <param name="logFailed">Logs a failure that is new or has a new reason.</param>
    /// <param name="logRecovered">Logs a failure that cleared; null: clearing is silent.</param>
    /// <param name="comparer">How keys compare (e.g. ordinal for names).</param>
    public ReportedFailures(Action<TKey, string> logFailed, Action<TKey>? logRecovered = null, IEqualityComparer<TKey>? comparer = null)
    {
        _reported = new Dictionary<TKey, string>(comparer);
        _logFailed = logFailed;
        _logRecovered = logRecovered;
    }

    /// <summary>The keys failing now, as last reported (a copy: callers may clear while going through it).</summary>
    public IReadOnlyList<TKey> Failing => [.. _reported.Keys];

    /// <summary>Records that <paramref name="key"/> fails for <paramref name="reason"/>; logs it unless it was already reported so.</summary>
    public void Failed(TKey key, string reason)
    {
        if (_reported.TryGetValue(key, out var previous) && previous == reason) return;
        _reported[key] = reason;
        _logFailed(key, reason);
    }

    /// <summary>Records that <paramref name="key"/> no longer fails; logs it if it was reported failing.</summary>
    public void Recovered(TKey key)
    {
        if (_reported.Remove(key)) _logRecovered?.Invoke(key);
    }

    /// <summary>Every key reported failing that is not in <paramref name="failing"/> has recovered.</summary>
    public void RecoveredUnless(Func<TKey, bool> failing)
    {
        foreach (var key in Failing)
            if (!failing(key)) Recovered(key);
    }
}
