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
}

/// <summary>How each local endpoint (by port id) stands after an apply.</summary>
public sealed record DataplaneResult(IReadOnlyDictionary<string, EndpointProgramming> Endpoints)
{
    public static readonly DataplaneResult Empty = new(new Dictionary<string, EndpointProgramming>());
}

/// <summary>Active: programmed. Down: waiting (interface not there yet, administratively down). Error: could not be programmed.</summary>
public sealed record EndpointProgramming(EndpointStatusKind Status, string? Message);
