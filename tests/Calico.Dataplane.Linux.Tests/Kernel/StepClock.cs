using Microsoft.Extensions.Time.Testing;

namespace Calico.Dataplane.Linux.Tests.Kernel;

/// <summary>
/// A fake clock that tells when a timer is started and how long it is for, so a test can wait for a pause to begin
/// and then move time past it: no test sleeps, and every pause a component asked for is known.
/// </summary>
public sealed class StepClock : TimeProvider
{
    private readonly FakeTimeProvider _time = new();
    private readonly SemaphoreSlim _started = new(0);
    private readonly List<TimeSpan> _pauses = [];

    /// <summary>The due time of every timer started, in order.</summary>
    public IReadOnlyList<TimeSpan> Pauses { get { lock (_pauses) return [.. _pauses]; } }

    public override DateTimeOffset GetUtcNow() => _time.GetUtcNow();

    public override long GetTimestamp() => _time.GetTimestamp();

    public override long TimestampFrequency => _time.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => _time.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = _time.CreateTimer(callback, state, dueTime, period);
        lock (_pauses) _pauses.Add(dueTime);
        _started.Release();
        return timer;
    }

    /// <summary>
    /// Waits until the next timer is started (true), or until <paramref name="running"/> ends first (false), then
    /// moves time past that timer. The real-time limit only guards against a hung test; it is not what is tested.
    /// </summary>
    public Task<bool> PassNextPauseAsync() => PassNextPauseAsync(Task.Delay(Timeout.Infinite));

    public async Task<bool> PassNextPauseAsync(Task running)
    {
        var started = _started.WaitAsync(TimeSpan.FromMinutes(1));
        if (await Task.WhenAny(started, running) != started) return false;
        if (!await started) throw new TimeoutException("no timer was started within a minute");
        _time.Advance(Pauses[^1]);
        return true;
    }
}
