using Calico.Dataplane.Linux.Kernel;
using Calico.Netlink;
using Microsoft.Extensions.Logging;

namespace Calico.Dataplane.Linux.Interfaces;

/// <summary>What changed under the desired state since it was last taken: workload interfaces to check again, or everything.</summary>
/// <param name="Interfaces">Names of workload interfaces that appeared, disappeared, were renamed, or went up or down.</param>
/// <param name="ResyncNeeded">Notices were lost: only a full read-back of the kernel can tell what changed.</param>
public sealed record WorkloadLinkChanges(IReadOnlySet<string> Interfaces, bool ResyncNeeded)
{
    public static readonly WorkloadLinkChanges None = new(new HashSet<string>(), false);

    public bool IsEmpty => Interfaces.Count == 0 && !ResyncNeeded;
}

/// <summary>
/// Turns the kernel's link notices into "the kernel changed under the desired state": a link whose name starts with
/// the workload prefix appeared, disappeared, was renamed, or went up or down (IFF_UP); and, for the interfaces named
/// by <see cref="WatchCarrierOf"/> (a live migration's target, waiting for its VM), went live or stopped being live
/// (<see cref="IsLive"/>: up, carrier, and a frame received from the VM). A tap has carrier as soon as a process holds
/// it open — libvirt opens the target's tap for the incoming QEMU when the migration starts — so carrier alone does not
/// say the VM runs there; its first frame does (QEMU's announcement after it resumes the VM, or the guest's own
/// gratuitous ARP). No notice comes when a counter moves, so while a watched tap has carrier but no frame yet,
/// <see cref="WaitAsync"/> reads that tap every poll interval (one RTM_GETLINK each). Notices that change none of that
/// (carrier of other taps, MTU, statistics, other links) are ignored. Changes accumulate until <see cref="Take"/>, so a burst of
/// notices costs one reconcile, and one that arrives while a reconcile runs makes <see cref="WaitAsync"/> complete
/// again at once: the reconcile after it takes all that came meanwhile. Lost notices ask for a full resync.
/// Owns nothing in the kernel: it only listens. Thread-safe (notices arrive on the notifier's thread).
/// </summary>
public sealed partial class WorkloadLinkWatch
{
    private readonly Lock _lock = new();
    private readonly string _prefix;
    private readonly ILogger _logger;
    private readonly Func<string, Link?>? _probe;
    private readonly TimeSpan _pollInterval;
    // What the notices (and polls) said last about each workload link (by ifindex), to tell a change of state from a repeat.
    private readonly Dictionary<int, (string Name, bool Up, bool Live)> _links = [];
    private IReadOnlySet<string> _carrierWatched = new HashSet<string>();
    private HashSet<string> _pending = new(StringComparer.Ordinal);
    private bool _resyncNeeded;
    private TaskCompletionSource _signal = NewSignal();
    // Completed when the watched set changes, so that a wait started before can begin (or stop) polling.
    private TaskCompletionSource _watchChanged = NewSignal();

    /// <summary>Subscribes to <paramref name="notifications"/>; the caller starts them.</summary>
    /// <param name="probe">Reads one link by name (for watched taps waiting for their VM's first frame); none: notices only.</param>
    /// <param name="pollInterval">How often <paramref name="probe"/> is called while a watched tap waits for a frame.</param>
    public WorkloadLinkWatch(ILinkNotifications notifications, string workloadInterfacePrefix, ILogger logger,
        Func<string, Link?>? probe = null, TimeSpan? pollInterval = null)
    {
        ArgumentNullException.ThrowIfNull(notifications);
        ArgumentException.ThrowIfNullOrEmpty(workloadInterfacePrefix);
        _prefix = workloadInterfacePrefix;
        _logger = logger;
        _probe = probe;
        _pollInterval = pollInterval ?? TimeSpan.FromMilliseconds(10);
        notifications.LinkChanged += (_, change) => OnLinkChanged(change);
        notifications.NotificationsLost += (_, lost) => OnLost(lost);
    }

    /// <summary>
    /// A workload interface a live migration's VM runs behind: up, with carrier, and having received a frame from it.
    /// </summary>
    public static bool IsLive(Link link) => link.IsUp && link.IsLowerUp && link.RxPackets > 0;

    /// <summary>
    /// Completes once there is something to <see cref="Take"/> (at once if there is already). Meanwhile polls the
    /// watched taps that are not live yet, if there is a probe.
    /// </summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task signal, watchChanged;
            List<string> waiting;
            lock (_lock)
            {
                signal = _signal.Task;
                watchChanged = _watchChanged.Task;
                waiting = _probe is null || signal.IsCompleted ? [] : [.. _carrierWatched.Where(name => !KnownLive(name))];
            }
            if (signal.IsCompleted) return;
            if (waiting.Count == 0)
            {
                if (_probe is null) await signal.WaitAsync(cancellationToken);
                else if (await Task.WhenAny(signal, watchChanged).WaitAsync(cancellationToken) != signal) continue;
                return;
            }
            using (var pause = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var delay = Task.Delay(_pollInterval, pause.Token);
                if (await Task.WhenAny(signal, delay) == signal)
                {
                    await pause.CancelAsync();
                    return;
                }
                await delay;
            }
            foreach (var name in waiting)
            {
                if (_probe!(name) is not { } link || !IsLive(link)) continue;
                lock (_lock)
                {
                    if (!_carrierWatched.Contains(name) || KnownLive(name)) continue;
                    _links[link.Index] = (link.Name, link.IsUp, true);
                    Changed(name, "live");
                }
            }
        }
    }

    /// <summary>Called with the lock held.</summary>
    private bool KnownLive(string name) => _links.Values.Any(l => l.Live && l.Name == name);

    /// <summary>
    /// The interfaces whose carrier matters (replacing the previous set): a live migration's target takes the VM's
    /// routes over when its tap goes live.
    /// </summary>
    public void WatchCarrierOf(IReadOnlySet<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        lock (_lock)
        {
            if (_carrierWatched.SetEquals(names)) return;
            _carrierWatched = names;
            _watchChanged.TrySetResult();
            _watchChanged = NewSignal();
        }
    }

    /// <summary>Everything noticed since the last call, and forgets it.</summary>
    public WorkloadLinkChanges Take()
    {
        lock (_lock)
        {
            if (_pending.Count == 0 && !_resyncNeeded) return WorkloadLinkChanges.None;
            var taken = new WorkloadLinkChanges(_pending, _resyncNeeded);
            _pending = new HashSet<string>(StringComparer.Ordinal);
            _resyncNeeded = false;
            _signal = NewSignal();
            return taken;
        }
    }

    /// <summary>Puts back what a reconcile took but could not finish, so that the next one covers it too.</summary>
    public void PutBack(WorkloadLinkChanges changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.IsEmpty) return;
        lock (_lock)
        {
            _pending.UnionWith(changes.Interfaces);
            _resyncNeeded |= changes.ResyncNeeded;
            _signal.TrySetResult();
        }
    }

    private void OnLinkChanged(LinkEvent change)
    {
        var link = change.Link;
        lock (_lock)
        {
            var known = _links.TryGetValue(link.Index, out var before);
            var isWorkload = link.Name.StartsWith(_prefix, StringComparison.Ordinal);
            if (change.Kind == LinkEventKind.Deleted)
            {
                _links.Remove(link.Index);
                if (isWorkload || known) Changed(known ? before.Name : link.Name, "removed");
                return;
            }
            if (isWorkload) _links[link.Index] = (link.Name, link.IsUp, IsLive(link));
            else _links.Remove(link.Index);
            if (!known)
            {
                if (isWorkload) Changed(link.Name, "appeared");
            }
            else if (before.Name != link.Name)
            {
                // Renamed: the old name is gone, the new one may be a workload's.
                Changed(before.Name, "renamed");
                if (isWorkload) Changed(link.Name, "renamed");
            }
            else if (before.Up != link.IsUp) Changed(link.Name, link.IsUp ? "up" : "down");
            else if (before.Live != IsLive(link) && _carrierWatched.Contains(link.Name)) Changed(link.Name, IsLive(link) ? "live" : "not live");
        }
    }

    private void OnLost(LinkNotificationsLost lost)
    {
        lock (_lock)
        {
            // What we knew of the links may be stale: start afresh, and have everything read back.
            _links.Clear();
            _resyncNeeded = true;
            _signal.TrySetResult();
        }
        DataplaneTelemetry.WorkloadLinkEvents.Add(1, DataplaneTelemetry.Kind("lost"));
        if (lost.Stopped) LogStopped(_logger, lost.Reason);
        else LogLost(_logger, lost.Reason);
    }

    /// <summary>Called with the lock held.</summary>
    private void Changed(string name, string kind)
    {
        _pending.Add(name);
        _signal.TrySetResult();
        DataplaneTelemetry.WorkloadLinkEvents.Add(1, DataplaneTelemetry.Kind(kind));
        LogChanged(_logger, name, kind);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Workload interface {Interface} {Change}: reconciling it now")]
    private static partial void LogChanged(ILogger logger, string @interface, string change);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Link notifications lost ({Reason}): reading the kernel back")]
    private static partial void LogLost(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Link notifications stopped ({Reason}): new workload interfaces are now found only by the periodic resync (Dataplane:RouteResyncInterval) until the agent restarts")]
    private static partial void LogStopped(ILogger logger, string reason);
}
