using Calico.Model.Resources;

namespace Calico.Model.Desired;

/// <summary>
/// What a compute silo hands its host's desired state to. An implementation makes the dataplane hold exactly
/// <c>desired</c>: <c>changes</c> (every item, for a snapshot) says what moved since the previous call and is a
/// hint for doing less work, never a substitute for comparing against what the dataplane really holds.
/// Throwing leaves the watcher's cursor where it was, so the same state is offered again; a failure that concerns
/// one endpoint is not thrown but reported in that endpoint's status.
/// </summary>
public interface IDataplane
{
    Task<DataplaneResult> ApplyAsync(
        IReadOnlyDictionary<DesiredKey, DesiredItem> desired,
        IReadOnlyList<DesiredChange> changes,
        bool isSnapshot,
        CancellationToken cancellationToken);

    /// <summary>Reads back what the dataplane holds and repairs any drift from the last applied state.</summary>
    Task<DataplaneResult> ResyncAsync(CancellationToken cancellationToken);

    /// <summary>How often the agent should call <see cref="ResyncAsync"/>.</summary>
    TimeSpan ResyncInterval { get; }

    /// <summary>
    /// Completes when the dataplane has noticed the kernel change in a way that concerns the desired state (a
    /// workload interface appeared, disappeared, or went up or down), so that <see cref="ReconcileKernelChangesAsync"/>
    /// has work. Completes at once while such work is pending. A dataplane that does not watch the kernel never
    /// completes it (its periodic resync is all there is).
    /// </summary>
    Task WaitForKernelChangeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Reconciles, against the last applied desired state, everything noticed since the previous call (however many
    /// notices: they are taken together), serialised with <see cref="ApplyAsync"/> and <see cref="ResyncAsync"/>.
    /// Cheaper than a resync: only what the notices concern is read back, unless notices were lost. The result
    /// covers every endpoint.
    /// </summary>
    Task<DataplaneResult> ReconcileKernelChangesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The host's BGP sessions as its BIRD reports them, or null when it runs none or cannot be asked now (a dataplane
    /// without BGP: always null). Safe to call beside the other methods; it changes nothing.
    /// </summary>
    IReadOnlyList<BgpSession>? ReadBgpSessions() => null;

    /// <summary>
    /// What applying <paramref name="desired"/> would change now, one line each ("add route ..."), read from what the
    /// dataplane holds; nothing is written. Serialised with the other calls. A dataplane that cannot tell throws
    /// <see cref="NotSupportedException"/>.
    /// </summary>
    Task<IReadOnlyList<string>> PlanAsync(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} cannot plan");
}

/// <summary>How each local endpoint (by port id) stands after an apply.</summary>
public sealed record DataplaneResult(IReadOnlyDictionary<string, EndpointProgramming> Endpoints)
{
    public static readonly DataplaneResult Empty = new(new Dictionary<string, EndpointProgramming>());

    /// <summary>
    /// Numbers the results of one dataplane in the order they were computed (0: not numbered). Calls from different
    /// loops may return in another order; a result numbered below one already reported is stale and is not reported.
    /// </summary>
    public long Sequence { get; init; }
}

/// <summary>
/// Active: programmed. Down: waiting (interface not there yet, administratively down). Error: could not be programmed.
/// <see cref="Arrived"/>: the endpoint is a live migration's here (this host its target) and its VM has arrived: its
/// tap is live and this host has taken its routes over.
/// </summary>
public sealed record EndpointProgramming(EndpointStatusKind Status, string? Message, bool Arrived = false);
