using Orleans.Concurrency;
using Calico.Model.Desired;

namespace Calico.Grains;

/// <summary>Where a watcher is: the epoch of the host grain activation it read from, and the version it has applied.</summary>
[GenerateSerializer, Immutable]
public sealed record DesiredStateCursor([property: Id(0)] Guid Epoch, [property: Id(1)] long Version)
{
    public override string ToString() => $"{Epoch:N}@{Version}";
}

/// <summary>
/// An answer to a watch: either a full snapshot (all items as additions; the watcher drops everything else
/// it holds) or the changes since the watcher's cursor. Empty changes with the same cursor mean "nothing new".
/// <see cref="Causes"/> are the W3C trace contexts of the resource changes that led here, so the host's apply
/// span can link to them.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record DesiredStateUpdate(
    [property: Id(0)] DesiredStateCursor Cursor,
    [property: Id(1)] bool IsSnapshot,
    [property: Id(2)] IReadOnlyList<DesiredChange> Changes,
    [property: Id(3)] IReadOnlyList<string>? Causes = null)
{
    /// <summary>At most this many causes travel with one update; the rest are dropped (the spans still exist).</summary>
    public const int MaxCauses = 16;

    /// <summary>
    /// When the oldest resource write among the changes was stored (null for a snapshot, or when not known): the host
    /// counts its convergence time (calico.agent.convergence) from it.
    /// </summary>
    [Id(4)]
    public DateTimeOffset? WrittenSince { get; init; }
}

/// <summary>
/// What a calculator shard sends a host grain: the changes numbered <see cref="Sequence"/> for that host, or (Full)
/// "this shard (re)started": earlier numbers are void and watchers take a snapshot. As the answer to
/// <see cref="IDesiredStateCalculatorGrain.GetHostStateAsync"/>, the host's complete state at that sequence.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record HostPush(
    [property: Id(0)] Guid CalculatorEpoch,
    [property: Id(1)] long Sequence,
    [property: Id(2)] bool Full,
    [property: Id(3)] IReadOnlyList<DesiredChange> Changes,
    [property: Id(4)] string? Cause = null)
{
    /// <summary>
    /// The first sequence number this push covers (0: only <see cref="Sequence"/>): changes numbered while an earlier
    /// push to the host was on its way travel together, merged by key.
    /// </summary>
    [Id(5)]
    public long FirstSequence { get; init; }

    public long From => FirstSequence > 0 ? FirstSequence : Sequence;

    /// <summary>When the oldest resource write among the changes was stored, when known (see <see cref="DesiredStateUpdate.WrittenSince"/>).</summary>
    [Id(6)]
    public DateTimeOffset? WrittenSince { get; init; }
}

/// <summary>
/// One per host, on a controller silo: the host's recent desired-state changes, served by long poll. Fed by the
/// host's calculator shard; watched by the host's compute silo. Holds no copy of the state (snapshots come from the
/// shard) and nothing persisted: a new activation starts a new epoch.
/// </summary>
public interface IHostDesiredStateGrain : IGrainWithStringKey
{
    /// <summary>
    /// Long poll: returns as soon as there is something newer than <paramref name="cursor"/> (a snapshot when
    /// the cursor is null, from another epoch, or older than the change log reaches), or after
    /// <paramref name="maxWait"/> with no changes, or as soon as the caller cancels (the answer is then empty too).
    /// </summary>
    Task<DesiredStateUpdate> WatchAsync(DesiredStateCursor? cursor, TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>Called by the host's calculator shard.</summary>
    Task PushAsync(HostPush push);

    Task<DesiredStateCursor> GetCursorAsync();
}

/// <summary>
/// One shard of the cluster's desired-state calculation (key: the shard number, 0..Calculator:Shards-1, on a
/// controller silo): holds the intent in memory, rebuilt from the store at activation and re-read periodically, and
/// pushes each of its hosts only the changes that concern it. Every resource change is told to every shard.
/// </summary>
public interface IDesiredStateCalculatorGrain : IGrainWithIntegerKey
{
    /// <summary>A resource grain stored a change.</summary>
    Task NotifyAsync(ResourceChange change);

    /// <summary>The host's complete desired state, for a host grain that starts or missed a push.</summary>
    [AlwaysInterleave]
    Task<HostPush> GetHostStateAsync(string host);

    /// <summary>
    /// Re-reads every resource from the store and pushes what differs. Interleaves: the store is read outside the
    /// grain's turns and applied in chunks, so notifications are not held up meanwhile.
    /// </summary>
    [AlwaysInterleave]
    Task ResyncAsync();
}
