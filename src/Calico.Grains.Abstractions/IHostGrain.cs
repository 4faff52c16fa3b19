using Calico.Model.Resources;

namespace Calico.Grains;

/// <summary>What a compute silo says each time it reports in.</summary>
[GenerateSerializer, Immutable]
public sealed record HostReport(
    [property: Id(0)] string SiloName,
    [property: Id(1)] DesiredStateCursor? Applied,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string AgentVersion);

/// <summary>A host as the API shows it: registration and liveness.</summary>
[GenerateSerializer, Immutable]
public sealed record HostStatus(
    [property: Id(0)] Versioned<HostSpec>? Registration,
    [property: Id(1)] HostReport? LastReport,
    [property: Id(2)] bool Alive,
    [property: Id(3)] DateTimeOffset? FirstSeen);

/// <summary>
/// A compute host: its registration (persisted; where other hosts route its workloads) and its liveness
/// (in memory: the last report of its compute silo; a host that has not reported within the dead-after time is dead).
/// </summary>
public interface IHostGrain : IResourceGrain<HostSpec>
{
    /// <summary>Registers or updates the host as its compute silo configures it; a no-op when nothing changed.</summary>
    Task<Versioned<HostSpec>> RegisterAsync(HostSpec spec);

    Task ReportAsync(HostReport report);

    Task<HostStatus> GetStatusAsync();
}
