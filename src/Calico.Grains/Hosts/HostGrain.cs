using Calico.Datastore;
using Calico.Grains.Resources;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calico.Grains.Hosts;

/// <summary>
/// A compute host. Owns its registration (persisted, like any resource), its liveness (in memory: the last
/// report of its compute silo; after a reactivation the host counts as dead until its next report, at most one
/// report interval later) and its endpoints' statuses (in memory: one report per dataplane apply, complete at each
/// resync; after a reactivation its ports show DOWN until the next resync). Holding statuses per host rather than
/// per port keeps port grains idle between API calls (100,000 ports need not be 100,000 activations) and makes a
/// host's report one call. Registration changes tell the calculator, since other hosts route via this host. Status
/// transitions (a port became ACTIVE, or stopped being ACTIVE) are told to the silo's
/// <see cref="IEndpointTransitionListener"/>s, such as the Nova notifier.
/// </summary>
[GrainType(GrainTypes.Host)]
public sealed partial class HostGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<HostSpec>> state,
    TimeProvider time,
    IOptions<HostLivenessOptions> options,
    IEnumerable<IEndpointTransitionListener> listeners,
    ILogger<HostGrain> logger)
    : ResourceGrain<HostSpec>(state, time, logger), IHostGrain
{
    private HostReport? _lastReport;
    private DateTimeOffset? _lastReportReceived;
    private DateTimeOffset? _firstSeen;
    private readonly Dictionary<string, EndpointStatus> _endpoints = new(StringComparer.Ordinal);
    private readonly IEndpointTransitionListener[] _listeners = [.. listeners];
    private bool _statusesReported;

    protected override ResourceKind Kind => ResourceKind.Host;

    protected override string IdOf(HostSpec value) => value.Name;

    /// <summary>A deleted host (an agent removed through the API) is no longer reported as silent.</summary>
    protected override Task OnStoredAsync(HostSpec? previous, HostSpec? current)
    {
        if (current is null) Telemetry.HostDeleted(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public Task<Versioned<HostSpec>> RegisterAsync(HostSpec spec) => PutAsync(spec);

    public Task ReportAsync(HostReport report)
    {
        // Liveness is judged by the controller's clock, not the reporter's.
        _lastReportReceived = Time.GetUtcNow();
        _firstSeen ??= _lastReportReceived;
        _lastReport = report;
        Telemetry.HostReported(this.GetPrimaryKeyString(), _lastReportReceived.Value);
        return Task.CompletedTask;
    }

    public Task<HostStatus> GetStatusAsync()
    {
        var alive = _lastReportReceived is { } received && Time.GetUtcNow() - received < options.Value.DeadAfter;
        return Task.FromResult(new HostStatus(Current, _lastReport, alive, _firstSeen));
    }

    public async Task ReportEndpointStatusesAsync(EndpointStatusReport report)
    {
        var host = this.GetPrimaryKeyString();
        var transitions = _listeners.Length > 0
            ? EndpointTransitions.Of(host, _endpoints, report, firstReport: !_statusesReported)
            : [];
        var arrivals = EndpointTransitions.Arrivals(host, _endpoints, report);
        _statusesReported = true;
        if (report.Complete) _endpoints.Clear();
        foreach (var gone in report.Gone) _endpoints.Remove(gone);
        // A status names the host that programmed it; one naming another host is not this host's to keep.
        foreach (var (endpoint, status) in report.Statuses)
            if (status.Host == host) _endpoints[endpoint] = status;
        // A live migration's VM arrived here: stored before anyone is told, so that a listener reading the port (the
        // Nova notifier) finds it bound here.
        if (arrivals.Count > 0) await Task.WhenAll(arrivals.Select(id => TakeOverAsync(id, host)));
        if (transitions.Count > 0)
            foreach (var listener in _listeners) listener.OnTransitions(transitions);
    }

    private async Task TakeOverAsync(string portId, string host)
    {
        try
        {
            if (await GrainFactory.GetGrain<IEndpointGrain>(portId).TakeOverAsync(host)) LogTookOver(Logger, portId, host);
        }
        catch (Exception ex)
        {
            // Forgotten, so that the agent's next complete report (every resync) is an arrival again.
            _endpoints.Remove(portId);
            LogTakeOverFailed(Logger, ex, portId, host);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Port {Port}'s VM arrived on {Host} (live migration): every host now routes it there")]
    private static partial void LogTookOver(ILogger logger, string port, string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Port {Port}'s VM arrived on {Host} (live migration) but that could not be stored; tried again at the host's next complete report")]
    private static partial void LogTakeOverFailed(ILogger logger, Exception ex, string port, string host);

    public Task<EndpointStatus?> GetEndpointStatusAsync(string endpointId) =>
        Task.FromResult(_endpoints.GetValueOrDefault(endpointId));

    public Task<IReadOnlyDictionary<string, EndpointStatus>> GetEndpointStatusesAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, EndpointStatus>>(new Dictionary<string, EndpointStatus>(_endpoints, StringComparer.Ordinal));

    /// <summary>How long the host's agent may take to plan before the request is given up (a dead silo never answers).</summary>
    private static readonly TimeSpan PlanTimeout = TimeSpan.FromSeconds(60);

    public async Task<HostPlan> PlanAsync()
    {
        var host = this.GetPrimaryKeyString();
        var status = await GetStatusAsync();
        if (status.LastReport is not { } report)
            throw new HostUnreachableException($"host {host} has not reported since this controller started (or ever): its agent cannot be asked");
        if (!status.Alive)
            throw new HostUnreachableException($"host {host} is dead: its agent last reported at {report.At.UtcDateTime:u}");
        if (report.Agent is not { } agent)
            throw new HostUnreachableException($"host {host}'s agent ({report.AgentVersion}, silo {report.SiloName}) does not answer plan requests");
        try
        {
            return await agent.PlanAsync().WaitAsync(PlanTimeout);
        }
        catch (TimeoutException)
        {
            throw new HostUnreachableException($"host {host}'s agent (silo {report.SiloName}) did not answer within {PlanTimeout.TotalSeconds:0} s");
        }
    }
}
