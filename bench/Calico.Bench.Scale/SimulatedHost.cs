using System.Diagnostics;
using System.Net;
using Calico.Grains;
using Calico.Model.Desired;

namespace Calico.Bench.Scale;

/// <summary>
/// One simulated compute host: the host agent's watch loop (<c>IHostDesiredStateGrain.WatchAsync</c> from the cursor
/// it last applied; a snapshot replaces everything held, changes are applied in order, an empty answer changes
/// nothing, as <c>HostAgent.ApplyAsync</c> does) into an in-memory dataplane: a dictionary of desired items. It
/// records what the benchmark asks of a host: when it last received a non-empty update (woken), when an update last
/// changed what it holds (changed), and when it applied a snapshot of which epoch.
/// </summary>
internal sealed class SimulatedHost(string name, IPAddress address)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<DesiredKey, DesiredItem> _items = [];
    private int _interfaces;

    public string Name { get; } = name;

    public IPAddress Address { get; } = address;

    /// <summary>Ports bound to this host by the workload: its converged state holds this many workload interfaces.</summary>
    public int ExpectedInterfaces { get; set; }

    public DesiredStateCursor? Applied { get; private set; }

    /// <summary>Updates that carried something (a snapshot, or at least one change).</summary>
    public long Woken { get; private set; }

    /// <summary>Updates after which the items held differed from before.</summary>
    public long Changed { get; private set; }

    /// <summary>Stopwatch timestamp of the last update that changed the items held (0: none yet).</summary>
    public long LastChangedAt { get; private set; }

    /// <summary>Stopwatch timestamp of the last non-empty update received (0: none yet).</summary>
    public long LastWokenAt { get; private set; }

    /// <summary>Epoch and Stopwatch timestamp of the last snapshot applied.</summary>
    public (Guid Epoch, long At) LastSnapshot { get; private set; }

    public long Failures { get; private set; }

    public string? LastFailure { get; private set; }

    /// <summary>Snapshots applied (a host that re-asks under load shows more than one per start or restart).</summary>
    public long Snapshots { get; private set; }

    /// <summary>Failed watch calls by kind: broken by the bench, lost (no answer in time), or the exception's type.</summary>
    public Dictionary<string, long> FailureKinds()
    {
        lock (_gate) return new Dictionary<string, long>(_failureKinds);
    }

    private readonly Dictionary<string, long> _failureKinds = [];
    private bool _broken;

    public int Interfaces { get { lock (_gate) return _interfaces; } }

    public int ItemCount { get { lock (_gate) return _items.Count; } }

    /// <summary>The item under <paramref name="key"/>, if held.</summary>
    public DesiredItem? Find(DesiredKey key)
    {
        lock (_gate) return _items.GetValueOrDefault(key);
    }

    public HostMark Mark() { lock (_gate) return new HostMark(Woken, Changed); }

    /// <summary>
    /// Ends the watch call in flight, as a silo's membership breaks the calls outstanding to a silo that died: an
    /// Orleans client keeps waiting for an answer from a gateway that went away until its response timeout.
    /// </summary>
    public void BreakCall()
    {
        lock (_gate)
        {
            _broken = _call is not null;
            _call?.Cancel();
        }
    }

    private CancellationTokenSource? _call;

    /// <summary>A watch that has not answered this long after its max wait is taken for lost, and made again.</summary>
    public static readonly TimeSpan LostCallGrace = TimeSpan.FromSeconds(10);

    /// <summary>Watches until cancelled; failures (the controller restarting) are retried after 50 ms doubling to 250 ms.</summary>
    public async Task RunAsync(IGrainFactory grains, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var grain = grains.GetGrain<IHostDesiredStateGrain>(Name);
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                // A call lost across a controller restart would otherwise wait for the client's response timeout.
                call.CancelAfter(maxWait + LostCallGrace);
                lock (_gate) _call = call;
                var update = await grain.WatchAsync(Applied, maxWait, call.Token);
                lock (_gate) _call = null;
                if (!call.IsCancellationRequested) Apply(update);
                failures = 0;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                lock (_gate) _call = null;
                failures++;
                lock (_gate)
                {
                    Failures++;
                    LastFailure = ex.GetType().Name + ": " + ex.Message;
                    var kind = _broken ? "broken by the bench" : ex is OperationCanceledException ? "no answer within max wait + 10 s" : ex.GetType().Name;
                    _failureKinds[kind] = _failureKinds.GetValueOrDefault(kind) + 1;
                    _broken = false;
                }
                try { await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(250, 50 << Math.Min(failures - 1, 3))), cancellationToken); }
                catch (OperationCanceledException) { return; }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Apply(DesiredStateUpdate update)
    {
        if (!update.IsSnapshot && update.Changes.Count == 0 && Applied is not null) return;
        var now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            var changed = update.IsSnapshot ? ReplaceAll(update.Changes) : ApplyChanges(update.Changes);
            Applied = update.Cursor;
            Woken++;
            LastWokenAt = now;
            if (changed)
            {
                Changed++;
                LastChangedAt = now;
            }
            if (update.IsSnapshot)
            {
                LastSnapshot = (update.Cursor.Epoch, now);
                Snapshots++;
            }
        }
    }

    private bool ReplaceAll(IReadOnlyList<DesiredChange> changes)
    {
        var next = new Dictionary<DesiredKey, DesiredItem>(changes.Count);
        foreach (var change in changes)
            if (change.Item is not null) next[change.Key] = change.Item;
        var same = next.Count == _items.Count && next.All(kv => _items.TryGetValue(kv.Key, out var held) && held.Equals(kv.Value));
        if (same) return false;
        _items.Clear();
        _interfaces = 0;
        foreach (var (key, item) in next) Put(key, item);
        return true;
    }

    private bool ApplyChanges(IReadOnlyList<DesiredChange> changes)
    {
        var changed = false;
        foreach (var change in changes)
        {
            if (change.Item is null)
            {
                if (!_items.Remove(change.Key)) continue;
                if (change.Key.Kind == DesiredKind.Interface) _interfaces--;
                changed = true;
            }
            else if (!_items.TryGetValue(change.Key, out var held) || !held.Equals(change.Item))
            {
                if (held is null) Put(change.Key, change.Item);
                else _items[change.Key] = change.Item;
                changed = true;
            }
        }
        return changed;
    }

    private void Put(DesiredKey key, DesiredItem item)
    {
        _items.Add(key, item);
        if (key.Kind == DesiredKind.Interface) _interfaces++;
    }
}

/// <summary>A host's counters at one moment: comparing two marks says whether it was woken or changed in between.</summary>
internal readonly record struct HostMark(long Woken, long Changed);
