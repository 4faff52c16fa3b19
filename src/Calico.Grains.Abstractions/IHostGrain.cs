using Calico.Model.Resources;

namespace Calico.Grains;

/// <summary>
/// What a compute silo says each time it reports in; in BGP mode also its BIRD's sessions as read just before (null:
/// no BIRD, or it could not be asked). <see cref="Agent"/>: the agent itself, for requests only the host can answer
/// (<c>calicoctl plan</c>); sent with every report, so a reactivated host grain has it again after one interval.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record HostReport(
    [property: Id(0)] string SiloName,
    [property: Id(1)] DesiredStateCursor? Applied,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string AgentVersion,
    [property: Id(4)] IReadOnlyList<BgpSession>? BgpSessions = null,
    [property: Id(5)] IHostAgent? Agent = null);

/// <summary>
/// How a compute host's endpoints stand after programming (its dataplane's statuses). <see cref="Complete"/>: these
/// are all its endpoints (any other it reported before is gone); otherwise a change: these changed, <see cref="Gone"/>
/// are no longer on the host.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record EndpointStatusReport(
    [property: Id(0)] IReadOnlyDictionary<string, EndpointStatus> Statuses,
    [property: Id(1)] IReadOnlyList<string> Gone,
    [property: Id(2)] bool Complete);

/// <summary>A host as the API shows it: registration and liveness.</summary>
[GenerateSerializer, Immutable]
public sealed record HostStatus(
    [property: Id(0)] Versioned<HostSpec>? Registration,
    [property: Id(1)] HostReport? LastReport,
    [property: Id(2)] bool Alive,
    [property: Id(3)] DateTimeOffset? FirstSeen);

/// <summary>
/// A compute host: its registration (persisted; where other hosts route its workloads), its liveness (in memory: the
/// last report of its compute silo; a host that has not reported within the dead-after time is dead) and the status
/// of each endpoint it programs (in memory, re-reported in full at every dataplane resync).
/// </summary>
public interface IHostGrain : IResourceGrain<HostSpec>
{
    /// <summary>Registers or updates the host as its compute silo configures it; a no-op when nothing changed.</summary>
    Task<Versioned<HostSpec>> RegisterAsync(HostSpec spec);

    Task ReportAsync(HostReport report);

    Task<HostStatus> GetStatusAsync();

    /// <summary>Records how the host's endpoints stand, in one call per dataplane apply or resync.</summary>
    Task ReportEndpointStatusesAsync(EndpointStatusReport report);

    /// <summary>What the host last reported about the endpoint (null: nothing, or it is no longer on the host).</summary>
    Task<EndpointStatus?> GetEndpointStatusAsync(string endpointId);

    /// <summary>Every endpoint status the host last reported, by port id (read-only; <c>calicoctl endpoint list</c>).</summary>
    Task<IReadOnlyDictionary<string, EndpointStatus>> GetEndpointStatusesAsync();

    /// <summary>
    /// Asks the host's agent what its dataplane would change now (<see cref="IHostAgent.PlanAsync"/>). Refused with
    /// <see cref="HostUnreachableException"/> when the host is dead or its agent did not say how to reach it. Interleaves,
    /// so reports are not held up while the host plans.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<HostPlan> PlanAsync();
}

/// <summary>The host's agent cannot be asked: dead, never reported, or it did not answer; the message says which.</summary>
[GenerateSerializer]
public sealed class HostUnreachableException(string message) : Exception(message);
