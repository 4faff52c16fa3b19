using Calico.Model.Resources;

namespace Calico.Grains;

/// <summary>
/// What a compute silo says each time it reports in; in BGP mode also its BIRD's sessions as read just before (null:
/// no BIRD, or it could not be asked).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record HostReport(
    [property: Id(0)] string SiloName,
    [property: Id(1)] DesiredStateCursor? Applied,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string AgentVersion,
    [property: Id(4)] IReadOnlyList<BgpSession>? BgpSessions = null);

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
}
