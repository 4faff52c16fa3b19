using Orleans.Concurrency;
using Calico.Grains.Resources;
using Calico.Model.Desired;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Calico.Grains.DesiredState;

/// <summary>
/// One host's watch endpoint: the recent changes its calculator shard pushed, numbered by the shard's sequence for
/// this host, served to the host's compute silo by long poll. It holds no copy of the host's state: a watcher that
/// needs everything (new, behind the log, or after a restart) gets a snapshot the shard builds from its shared
/// tables, so each item is held once in the controller however many hosts hold it. The change lists in the log are
/// the shard's own instances, shared with the other hosts told the same thing.
/// Derived state only: a new activation starts a new epoch (so watchers take a snapshot). Reentrant so that long
/// polls do not block pushes; every mutation happens between awaits.
/// </summary>
[Reentrant]
[GrainType(GrainTypes.HostDesiredState)]
public sealed partial class HostDesiredStateGrain(
    TimeProvider time, IHostApplicationLifetime lifetime, ILogger<HostDesiredStateGrain> logger)
    : Grain, IHostDesiredStateGrain
{
    /// <summary>
    /// How many pushes not yet acknowledged the log keeps; a watcher further behind gets a snapshot. What the host's
    /// watcher has acknowledged (the cursor it watches from) is dropped at once (<see cref="Acknowledge"/>), so a host
    /// that keeps up holds only what is on its way; this bounds a host that is away.
    /// </summary>
    public const int LogCapacity = 256;

    /// <summary>
    /// How many changes the log keeps in all (it drops its oldest pushes beyond that): replaying more than this costs
    /// a watcher about what a snapshot does, and a thousand hosts' logs must not hold the controller's memory.
    /// </summary>
    public const int LogChangeCapacity = 4096;

    /// <summary>How many times a snapshot is fetched when the one fetched is older than the log (see FetchSnapshotAsync).</summary>
    private const int MaxSnapshotAttempts = 3;

    private readonly LinkedList<(long Version, IReadOnlyList<DesiredChange> Changes, string? Cause, DateTimeOffset? WrittenSince)> _log = new();
    private Guid _epoch = Guid.NewGuid();
    private Guid _calculatorEpoch;
    private long _version;  // the shard's sequence for this host, as far as the log reaches
    private long _logBase;  // every change after this version is in the log
    private int _loggedChanges;
    private Task<DesiredStateUpdate>? _snapshot;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string Host => this.GetPrimaryKeyString();

    private DesiredStateCursor Cursor => new(_epoch, _version);

    public Task<DesiredStateCursor> GetCursorAsync() => Task.FromResult(Cursor);

    public Task PushAsync(HostPush push)
    {
        if (push.CalculatorEpoch != _calculatorEpoch)
        {
            // The shard (re)started: what was numbered before means nothing now. (Its "restarted" marker, Full, is
            // news only to a grain that still numbers by an older epoch; one already synced to it takes it as an
            // empty push.)
            Restart(push.CalculatorEpoch, push.Sequence);
        }
        else if (push.From <= _version + 1 && push.Sequence > _version)
        {
            // Next in line (a push covering several numbers may start inside what a snapshot already holds: its
            // changes are then applied again, which changes nothing).
            Append(push);
        }
        else if (push.Sequence > _version)
        {
            // A push was lost or overtaken: the log cannot bridge the gap, so watchers before it take a snapshot.
            LogGap(logger, Host, _version, push.Sequence);
            ClearLog();
            _logBase = push.From - 1;
            Append(push);
        }
        // else: already covered by what the log or a snapshot holds.
        return Task.CompletedTask;
    }

    public async Task<DesiredStateUpdate> WatchAsync(DesiredStateCursor? cursor, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        if (!Servable(cursor)) return await SnapshotAsync();
        Acknowledge(cursor!.Version);
        if (cursor.Version == _version && maxWait > TimeSpan.Zero)
        {
            var changed = _changed.Task;
            // A silo that is stopping answers its long polls at once, so that its shutdown does not wait for them.
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
            var delay = Task.Delay(maxWait, time, cts.Token);
            await Task.WhenAny(changed, delay);
            await cts.CancelAsync();
            if (!Servable(cursor)) return await SnapshotAsync();
        }
        var since = ChangesSince(cursor.Version);
        Telemetry.WatchResponses.Add(1, new KeyValuePair<string, object?>("kind", since.Count == 0 ? "empty" : "changes"));
        var causes = _log.Where(e => e.Version > cursor.Version && e.Cause is not null).Select(e => e.Cause!)
            .Distinct().TakeLast(DesiredStateUpdate.MaxCauses).ToList();
        var written = _log.Where(e => e.Version > cursor.Version).Min(e => e.WrittenSince);
        return new DesiredStateUpdate(Cursor, false, since, causes) { WrittenSince = since.Count == 0 ? null : written };
    }

    private bool Servable(DesiredStateCursor? cursor) =>
        cursor is not null && cursor.Epoch == _epoch && cursor.Version >= _logBase && cursor.Version <= _version;

    /// <summary>
    /// A snapshot from the shard. Watch calls that need one while another is being fetched share it (a watcher that
    /// retried under load must not double the work of an overloaded controller).
    /// </summary>
    private Task<DesiredStateUpdate> SnapshotAsync()
    {
        if (_snapshot is { IsCompleted: false }) return _snapshot;
        return _snapshot = FetchSnapshotAsync();
    }

    private async Task<DesiredStateUpdate> FetchSnapshotAsync()
    {
        Telemetry.HostResyncs.Add(1);
        var shard = CalculatorShards.For(GrainFactory, ServiceProvider, Host);
        var state = await shard.GetHostStateAsync(Host);
        // A push numbered after the snapshot may have overtaken it (a restarted shard's first push to every host
        // races each host's first snapshot): a snapshot older than what the log reaches back to would only send the
        // watcher for another one, so ask again now (the shard's numbering only grows).
        for (var attempt = 1; attempt < MaxSnapshotAttempts && state.CalculatorEpoch == _calculatorEpoch && state.Sequence < _logBase; attempt++)
            state = await shard.GetHostStateAsync(Host);
        if (state.CalculatorEpoch != _calculatorEpoch) Restart(state.CalculatorEpoch, state.Sequence);
        else if (state.Sequence > _version)
        {
            // Pushes still on their way (or lost): the log starts again from this snapshot.
            ClearLog();
            _logBase = _version = state.Sequence;
            Wake();
        }
        Telemetry.WatchResponses.Add(1, new KeyValuePair<string, object?>("kind", "snapshot"));
        return new DesiredStateUpdate(new DesiredStateCursor(_epoch, state.Sequence), true, state.Changes);
    }

    private List<DesiredChange> ChangesSince(long version)
    {
        var merged = new Dictionary<DesiredKey, DesiredChange>();
        foreach (var (v, changes, _, _) in _log)
        {
            if (v <= version) continue;
            foreach (var change in changes) merged[change.Key] = change;
        }
        return [.. merged.Values.OrderBy(c => c.Key)];
    }

    private void Restart(Guid calculatorEpoch, long sequence)
    {
        _epoch = Guid.NewGuid();
        _calculatorEpoch = calculatorEpoch;
        ClearLog();
        _logBase = _version = sequence;
        Wake();
    }

    private void ClearLog()
    {
        _log.Clear();
        _loggedChanges = 0;
    }

    private void Append(HostPush push)
    {
        _version = push.Sequence;
        _log.AddLast((push.Sequence, push.Changes, push.Cause, push.WrittenSince));
        _loggedChanges += push.Changes.Count;
        while (_log.Count > LogCapacity || (_loggedChanges > LogChangeCapacity && _log.Count > 1))
        {
            _logBase = _log.First!.Value.Version;
            _loggedChanges -= _log.First.Value.Changes.Count;
            _log.RemoveFirst();
        }
        Wake();
    }

    /// <summary>
    /// The watcher holds everything up to <paramref name="version"/> (it watches from there): those pushes are of no
    /// more use to it, and they are the bulk of what a thousand hosts' logs would hold (one list per push per host),
    /// so they go. A watcher that comes back from further behind (another one, or one restarted with an old cursor)
    /// gets a snapshot, as one behind the log always does. A lost answer costs nothing: its watcher asks again from
    /// the cursor it acknowledged, and everything after that is still here.
    /// </summary>
    private void Acknowledge(long version)
    {
        while (_log.First is { } first && first.Value.Version <= version)
        {
            _logBase = Math.Max(_logBase, first.Value.Version);
            _loggedChanges -= first.Value.Changes.Count;
            _log.RemoveFirst();
        }
    }

    private void Wake()
    {
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Host {Host} missed desired-state pushes (had {Had}, got {Got}); watchers before the gap take a snapshot")]
    private static partial void LogGap(ILogger logger, string host, long had, long got);
}
