using Calico.Datastore;
using Calico.Grains.Resources;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calico.Grains.Hosts;

/// <summary>
/// A compute host. Owns its registration (persisted, like any resource) and its liveness (in memory: the last
/// report of its compute silo; after a reactivation the host counts as dead until its next report, at most one
/// report interval later). Registration changes tell the calculator, since other hosts route via this host.
/// </summary>
[GrainType(GrainTypes.Host)]
public sealed class HostGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<HostSpec>> state,
    TimeProvider time,
    IOptions<HostLivenessOptions> options,
    ILogger<HostGrain> logger)
    : ResourceGrain<HostSpec>(state, time, logger), IHostGrain
{
    private HostReport? _lastReport;
    private DateTimeOffset? _lastReportReceived;
    private DateTimeOffset? _firstSeen;

    protected override ResourceKind Kind => ResourceKind.Host;

    protected override string IdOf(HostSpec value) => value.Name;

    public Task<Versioned<HostSpec>> RegisterAsync(HostSpec spec) => PutAsync(spec);

    public Task ReportAsync(HostReport report)
    {
        // Liveness is judged by the controller's clock, not the reporter's.
        _lastReportReceived = Time.GetUtcNow();
        _firstSeen ??= _lastReportReceived;
        _lastReport = report;
        return Task.CompletedTask;
    }

    public Task<HostStatus> GetStatusAsync()
    {
        var alive = _lastReportReceived is { } received && Time.GetUtcNow() - received < options.Value.DeadAfter;
        return Task.FromResult(new HostStatus(Current, _lastReport, alive, _firstSeen));
    }
}
