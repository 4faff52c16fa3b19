namespace Calico.Dataplane.Linux.Processes;

/// <summary>
/// How long to wait before starting a supervised program again after it exited or failed to start: <c>first</c>, doubling with
/// each exit in a row, never more than <c>max</c>. A run that lasted at least <c>max</c> was healthy, so the next
/// exit starts from <c>first</c> again. A crash loop therefore settles at one attempt per <c>max</c>.
/// </summary>
internal sealed class RestartBackoff(TimeSpan first, TimeSpan max)
{
    private int _exitsInARow;

    public int ExitsInARow => _exitsInARow;

    /// <summary>The pause before the next start, after a process that ran for <paramref name="ranFor"/> (zero: did not start).</summary>
    public TimeSpan Next(TimeSpan ranFor)
    {
        if (ranFor >= max) _exitsInARow = 0;
        _exitsInARow++;
        var ticks = first.Ticks * Math.Pow(2, Math.Min(_exitsInARow - 1, 62));
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }

    public void Reset() => _exitsInARow = 0;
}
