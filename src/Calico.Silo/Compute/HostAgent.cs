using System.Diagnostics;
using System.Net;
using System.Reflection;
using Calico.Grains;
using Calico.Model;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Grains.Hosts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calico.Silo.Compute;

/// <summary>
/// The compute role's control loop: registers this host, reports in every report interval, and watches the
/// host's desired state from the cursor it last applied, handing each update to the <see cref="IDataplane"/>.
/// Between updates it has the dataplane resync every resync interval, and reconcile at once whatever the kernel
/// says changed under the desired state (a tap plugged after its port was bound). Owns nothing in the kernel itself.
/// Fail-static: while the control plane cannot be reached it keeps what it applied and retries with capped
/// exponential backoff and jitter; it never clears the dataplane for lack of news.
/// </summary>
public sealed partial class HostAgent(
    IGrainFactory grains,
    IDataplane dataplane,
    IOptions<ComputeOptions> options,
    IOptions<HostLivenessOptions> liveness,
    ILocalSiloDetails silo,
    TimeProvider time,
    ILogger<HostAgent> logger) : BackgroundService, IHostAgent
{
    private static readonly string AgentVersion =
        typeof(HostAgent).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    private readonly Dictionary<DesiredKey, DesiredItem> _desired = [];
    private readonly Dictionary<string, EndpointProgramming> _reported = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _statusGate = new(1, 1);
    private long _reportedSequence;
    private readonly TaskCompletionSource _firstApplied = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // The state last applied, replaced whole after each apply (never changed after), for plan requests from other threads.
    private volatile IReadOnlyDictionary<DesiredKey, DesiredItem> _held = new Dictionary<DesiredKey, DesiredItem>();
    private IHostAgent? _self;

    /// <summary>The cursor of the last state handed to the dataplane successfully.</summary>
    public DesiredStateCursor? Applied { get; private set; }

    public string HostName => options.Value.HostName;

    /// <summary>Completes once the first desired state has been applied (readiness).</summary>
    public Task FirstApplied => _firstApplied.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        AgentTelemetry.Started();
        // Reachable by the host grain for requests only this host can answer (calicoctl plan); sent with every report.
        _self = grains.CreateObjectReference<IHostAgent>(this);
        await RetryAsync("register host", RegisterAsync, stoppingToken);
        await Task.WhenAll(ReportLoopAsync(stoppingToken), WatchLoopAsync(stoppingToken), ResyncLoopAsync(stoppingToken),
            KernelChangeLoopAsync(stoppingToken));
    }

    private async Task RegisterAsync(CancellationToken _)
    {
        var o = options.Value;
        var spec = new HostSpec(o.HostName, o.ResolveIpv4(), o.ResolveIpv6(), o.AsNumber, new ValueMap(o.Labels),
            o.RouteReflectorClusterId is { Length: > 0 } clusterId ? IPAddress.Parse(clusterId) : null).EnsureValidForRegistration();
        var stored = await grains.GetGrain<IHostGrain>(o.HostName).RegisterAsync(spec);
        LogRegistered(logger, o.HostName, spec.Ipv4Address?.ToString() ?? "-", spec.Ipv6Address?.ToString() ?? "-", stored.Revision);
    }

    private async Task ReportLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(liveness.Value.ReportInterval, time);
        do
        {
            try
            {
                // BIRD is asked through birdc (a process): off the timer's thread, and never failing the report.
                var sessions = await Task.Run(ReadBgpSessions, stoppingToken);
                BgpSessionTelemetry.Record(HostName, sessions);
                await grains.GetGrain<IHostGrain>(HostName)
                    .ReportAsync(new HostReport(silo.Name, Applied, time.GetUtcNow(), AgentVersion, sessions, _self));
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogReportFailed(logger, ex.Message);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private IReadOnlyList<BgpSession>? ReadBgpSessions()
    {
        try
        {
            return dataplane.ReadBgpSessions();
        }
        catch (Exception ex)
        {
            LogBgpStatusFailed(logger, ex.Message);
            return null;
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken token)
    {
        try { return await timer.WaitForNextTickAsync(token); }
        catch (OperationCanceledException) { return false; }
    }

    private async Task WatchLoopAsync(CancellationToken stoppingToken)
    {
        var grain = grains.GetGrain<IHostDesiredStateGrain>(HostName);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var update = await grain.WatchAsync(Applied, options.Value.WatchTimeout, stoppingToken);
                await ApplyAsync(update, stoppingToken);
                failures = 0;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                failures++;
                LogWatchFailed(logger, failures, ex.Message);
                await DelayAsync(Backoff(failures), stoppingToken);
            }
        }
    }

    private async Task ApplyAsync(DesiredStateUpdate update, CancellationToken cancellationToken)
    {
        AgentTelemetry.Seen(HostName, update.Cursor);
        if (!update.IsSnapshot && update.Changes.Count == 0 && Applied is not null) return;
        // Linked, not parented: one apply may carry the changes of several API calls.
        var links = (update.Causes ?? [])
            .Select(c => ActivityContext.TryParse(c, null, out var context) ? new ActivityLink(context) : default)
            .Where(l => l.Context != default).ToList();
        using var activity = CalicoTelemetry.Source.StartActivity("agent.apply", ActivityKind.Internal, parentContext: default, links: links);
        activity?.SetTag("calico.host", HostName);
        activity?.SetTag("calico.desired.version", update.Cursor.Version);
        activity?.SetTag("calico.desired.snapshot", update.IsSnapshot);
        var next = update.IsSnapshot
            ? update.Changes.Where(c => c.Item is not null).ToDictionary(c => c.Key, c => c.Item!)
            : new Dictionary<DesiredKey, DesiredItem>(_desired);
        if (!update.IsSnapshot) DesiredDiff.ApplyTo(next, update.Changes);
        DataplaneResult result;
        try
        {
            result = await dataplane.ApplyAsync(next, update.Changes, update.IsSnapshot, cancellationToken);
        }
        catch
        {
            AgentTelemetry.Failed();
            throw;
        }
        // Only now does the cursor move: a failed apply is offered again.
        _desired.Clear();
        foreach (var (k, v) in next) _desired[k] = v;
        _held = next;
        Applied = update.Cursor;
        AgentTelemetry.Applied(HostName, update.Cursor.Version);
        if (update.WrittenSince is { } written) AgentTelemetry.Converged(HostName, written, time.GetUtcNow());
        _firstApplied.TrySetResult();
        LogApplied(logger, update.Cursor.ToString(), update.IsSnapshot, update.Changes.Count);
        await ReportStatusesAsync(result, onlyChanged: true);
    }

    /// <summary>
    /// What the dataplane would change now to hold the state last applied: the kernel read back and compared, as
    /// <c>calico-silo dataplane plan</c> does with a file; nothing is written.
    /// </summary>
    public async Task<HostPlan> PlanAsync()
    {
        var (held, applied) = (_held, Applied);
        var changes = await dataplane.PlanAsync(held, CancellationToken.None);
        return new HostPlan(HostName, silo.Name, applied, held.Count, changes, time.GetUtcNow());
    }

    /// <summary>Reads the dataplane back every resync interval; repairs are the dataplane's, statuses are reported.</summary>
    private async Task ResyncLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(dataplane.ResyncInterval, time);
        while (await WaitAsync(timer, stoppingToken))
        {
            if (Applied is null) continue;
            try
            {
                var result = await dataplane.ResyncAsync(stoppingToken);
                // Also re-sends every status: a restarted controller keeps them in memory only.
                await ReportStatusesAsync(result, onlyChanged: false);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogResyncFailed(logger, ex.Message);
            }
        }
    }

    /// <summary>
    /// Reconciles what the kernel says changed under the desired state as soon as it says so, rather than at the next
    /// resync: Nova binds a port, then plugs its tap, and the port must turn ACTIVE then. Notices are coalesced by the
    /// dataplane: all that arrive before a reconcile starts are part of it, and those that arrive during one make the
    /// next wait end at once, so a burst costs one or two reconciles, never one each. Serialised with applies and
    /// resyncs by the dataplane; nothing is done before the first desired state is applied (that apply sees every link).
    /// </summary>
    private async Task KernelChangeLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            await FirstApplied.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await dataplane.WaitForKernelChangeAsync(stoppingToken);
                var result = await dataplane.ReconcileKernelChangesAsync(stoppingToken);
                AgentTelemetry.KernelChangeReconciled();
                await ReportStatusesAsync(result, onlyChanged: true);
                failures = 0;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The dataplane keeps what it could not reconcile for the next try.
                failures++;
                LogKernelChangeFailed(logger, failures, ex.Message);
                await DelayAsync(Backoff(failures), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Tells the host's grain how its endpoints stand (DOWN / ACTIVE / ERROR), in one call: those whose status changed
    /// and those no longer here, or (<paramref name="onlyChanged"/> false) all of them.
    /// </summary>
    private async Task ReportStatusesAsync(DataplaneResult result, bool onlyChanged)
    {
        await _statusGate.WaitAsync();
        try
        {
            // Applies, resyncs and kernel-change reconciles run in different loops: a result computed before one
            // already reported says less than it, and would put back a status that is no longer true.
            if (result.Sequence < _reportedSequence) return;
            _reportedSequence = result.Sequence;
            var version = Applied?.Version ?? 0;
            var now = time.GetUtcNow();
            var statuses = new Dictionary<string, EndpointStatus>(StringComparer.Ordinal);
            foreach (var (endpointId, programming) in result.Endpoints)
            {
                if (onlyChanged && _reported.TryGetValue(endpointId, out var last) && last == programming) continue;
                _reported[endpointId] = programming;
                statuses[endpointId] = new EndpointStatus(programming.Status, programming.Message, HostName, version, now, programming.Arrived);
            }
            var gone = _reported.Keys.Where(k => !result.Endpoints.ContainsKey(k)).ToList();
            foreach (var endpointId in gone) _reported.Remove(endpointId);
            if (onlyChanged && statuses.Count == 0 && gone.Count == 0) return;
            try
            {
                await grains.GetGrain<IHostGrain>(HostName).ReportEndpointStatusesAsync(new EndpointStatusReport(statuses, gone, !onlyChanged));
            }
            catch (Exception ex)
            {
                // Sent again at the next resync.
                _reported.Clear();
                LogReportFailed(logger, "endpoint status: " + ex.Message);
            }
        }
        finally
        {
            _statusGate.Release();
        }
    }

    private async Task RetryAsync(string what, Func<CancellationToken, Task> action, CancellationToken stoppingToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await action(stoppingToken);
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not Calico.Model.Validation.InvalidInputException)
            {
                LogRetry(logger, what, attempt, ex.Message);
                await DelayAsync(Backoff(attempt), stoppingToken);
            }
        }
    }

    /// <summary>Exponential from 200 ms, capped, with full jitter so that many hosts do not retry in step.</summary>
    private TimeSpan Backoff(int attempt)
    {
        var cap = options.Value.MaxRetryDelay.TotalMilliseconds;
        var exp = Math.Min(cap, 200 * Math.Pow(2, Math.Min(attempt - 1, 16)));
        return TimeSpan.FromMilliseconds(exp / 2 + Random.Shared.NextDouble() * exp / 2);
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken token)
    {
        try { await Task.Delay(delay, time, token); }
        catch (OperationCanceledException) { }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered host {Host} (IPv4 {Ipv4}, IPv6 {Ipv6}) at revision {Revision}")]
    private static partial void LogRegistered(ILogger logger, string host, string ipv4, string ipv6, long revision);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Applied desired state {Cursor} (snapshot {Snapshot}, {Changes} changes)")]
    private static partial void LogApplied(ILogger logger, string cursor, bool snapshot, int changes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching the desired state failed ({Failures} in a row), keeping the dataplane as it is: {Reason}")]
    private static partial void LogWatchFailed(ILogger logger, int failures, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciling a kernel change failed ({Failures} in a row), the next change or resync covers it: {Reason}")]
    private static partial void LogKernelChangeFailed(ILogger logger, int failures, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dataplane resync failed, trying again next interval: {Reason}")]
    private static partial void LogResyncFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the BGP sessions from BIRD, reported as not known: {Reason}")]
    private static partial void LogBgpStatusFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not report in: {Reason}")]
    private static partial void LogReportFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not {What} (attempt {Attempt}), retrying: {Reason}")]
    private static partial void LogRetry(ILogger logger, string what, int attempt, string reason);
}

internal static class HostSpecRegistration
{
    /// <summary>A host that cannot be registered is a configuration error: say which setting to fix, and stop.</summary>
    public static HostSpec EnsureValidForRegistration(this HostSpec spec)
    {
        var errors = spec.Validate();
        if (errors.Count == 0) return spec;
        throw new Calico.Model.Validation.InvalidInputException(
            [.. errors.Select(e => e with { Reason = e.Reason + " (set Compute:" + SettingFor(e.Field) + ")" })]);
    }

    private static string SettingFor(string field) => field switch
    {
        "name" => "HostName",
        "ipv4_address" => "Ipv4Address",
        "ipv6_address" => "Ipv6Address",
        "as_number" => "AsNumber",
        "route_reflector_cluster_id" => "RouteReflectorClusterId",
        _ => "Labels",
    };
}
