using Orleans.Concurrency;
using Calico.Grains.Resources;
using Calico.Model.Desired;
using Microsoft.Extensions.Logging;

namespace Calico.Grains.DesiredState;

/// <summary>
/// One host's versioned desired state and its recent change log, served to that host's compute silo.
/// Derived state only: a new activation starts a new epoch (so watchers take a snapshot) and fetches the state
/// from the calculator before it answers anyone; it never serves an empty state it has not been given.
/// Reentrant so that long polls do not block pushes; every mutation happens between awaits.
/// </summary>
[Reentrant]
[GrainType(GrainTypes.HostDesiredState)]
public sealed partial class HostDesiredStateGrain(TimeProvider time, ILogger<HostDesiredStateGrain> logger)
    : Grain, IHostDesiredStateGrain
{
    /// <summary>How many versions the log keeps; a watcher further behind gets a snapshot.</summary>
    public const int LogCapacity = 1024;

    private readonly Guid _epoch = Guid.NewGuid();
    private readonly Dictionary<DesiredKey, DesiredItem> _items = [];
    private readonly LinkedList<(long Version, IReadOnlyList<DesiredChange> Changes, string? Cause)> _log = new();
    private long _version;
    private long _logBase; // the version just before the oldest logged entry
    private Guid _calculatorEpoch;
    private long _calculatorSequence;
    private bool _synced;
    private Task? _sync;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string Host => this.GetPrimaryKeyString();

    private DesiredStateCursor Cursor => new(_epoch, _version);

    public Task<DesiredStateCursor> GetCursorAsync() => Task.FromResult(Cursor);

    public async Task PushAsync(HostPush push)
    {
        if (!_synced) await SyncAsync();
        if (push.Full) Install(push);
        else if (push.CalculatorEpoch != _calculatorEpoch || push.Sequence > _calculatorSequence + 1)
        {
            LogGap(logger, Host, _calculatorSequence, push.Sequence);
            await SyncAsync(force: true);
        }
        else if (push.Sequence == _calculatorSequence + 1)
        {
            _calculatorSequence = push.Sequence;
            Record(push.Changes, push.Cause);
        }
        // else: already contained in a state fetched since.
    }

    public async Task<DesiredStateUpdate> WatchAsync(DesiredStateCursor? cursor, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        if (!_synced) await SyncAsync();
        if (cursor is null || cursor.Epoch != _epoch || cursor.Version < _logBase || cursor.Version > _version)
        {
            Telemetry.WatchResponses.Add(1, new KeyValuePair<string, object?>("kind", "snapshot"));
            return new DesiredStateUpdate(Cursor, true, _items.Values.Select(i => new DesiredChange(i.Key, i)).ToList());
        }
        if (cursor.Version == _version && maxWait > TimeSpan.Zero)
        {
            var changed = _changed.Task;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(maxWait, time, cts.Token);
            await Task.WhenAny(changed, delay);
            await cts.CancelAsync();
        }
        var since = ChangesSince(cursor.Version);
        Telemetry.WatchResponses.Add(1, new KeyValuePair<string, object?>("kind", since.Count == 0 ? "empty" : "changes"));
        var causes = _log.Where(e => e.Version > cursor.Version && e.Cause is not null).Select(e => e.Cause!)
            .Distinct().TakeLast(DesiredStateUpdate.MaxCauses).ToList();
        return new DesiredStateUpdate(Cursor, false, since, causes);
    }

    private List<DesiredChange> ChangesSince(long version)
    {
        var merged = new Dictionary<DesiredKey, DesiredChange>();
        foreach (var (v, changes, _) in _log)
        {
            if (v <= version) continue;
            foreach (var change in changes) merged[change.Key] = change;
        }
        return [.. merged.Values.OrderBy(c => c.Key)];
    }

    private Task SyncAsync(bool force = false)
    {
        if (_sync is { IsCompleted: false }) return _sync;
        if (_synced && !force) return Task.CompletedTask;
        return _sync = FetchAsync();

        async Task FetchAsync()
        {
            Telemetry.HostResyncs.Add(1);
            var state = await CalculatorShards.For(GrainFactory, ServiceProvider, Host).GetHostStateAsync(Host);
            Install(state);
        }
    }

    private void Install(HostPush full)
    {
        var next = full.Changes.Where(c => c.Item is not null).ToDictionary(c => c.Key, c => c.Item!);
        _calculatorEpoch = full.CalculatorEpoch;
        _calculatorSequence = full.Sequence;
        _synced = true;
        Record(DesiredDiff.Between(_items, next), full.Cause);
    }

    private void Record(IReadOnlyList<DesiredChange> changes, string? cause)
    {
        var effective = changes.Where(c => c.Item is null ? _items.ContainsKey(c.Key) : !(_items.TryGetValue(c.Key, out var old) && old.Equals(c.Item))).ToList();
        if (effective.Count == 0) return;
        DesiredDiff.ApplyTo(_items, effective);
        _version++;
        _log.AddLast((_version, effective, cause));
        while (_log.Count > LogCapacity)
        {
            _logBase = _log.First!.Value.Version;
            _log.RemoveFirst();
        }
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Host {Host} missed desired-state pushes (had {Had}, got {Got}); fetching the whole state")]
    private static partial void LogGap(ILogger logger, string host, long had, long got);
}
