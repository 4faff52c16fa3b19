using System.Diagnostics;
using Calico.Dataplane.Linux.Interfaces;
using Calico.Dataplane.Linux.Netlink;
using Calico.Model;
using Calico.Model.Desired;
using Microsoft.Extensions.Logging;

namespace Calico.Dataplane.Linux.Driver;

// Workload interfaces that appear, disappear, or go up or down between applies (Nova binds a port, then plugs its
// tap): reconciled as soon as the kernel says so, not at the next resync. Only what the notices concern is read back.
public sealed partial class LinuxDataplane
{
    public Task WaitForKernelChangeAsync(CancellationToken cancellationToken) =>
        _linkWatch?.WaitAsync(cancellationToken) ?? Task.Delay(Timeout.Infinite, cancellationToken);

    public async Task<DataplaneResult> ReconcileKernelChangesAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            // Taken inside the gate: notices that came while an apply held it are part of this reconcile.
            var changes = _linkWatch?.Take() ?? WorkloadLinkChanges.None;
            try
            {
                if (changes.ResyncNeeded) return await ResyncLockedAsync(cancellationToken);
                if (changes.IsEmpty) return Statuses(_programmed);
                using var activity = CalicoTelemetry.Source.StartActivity("dataplane.link_reconcile");
                activity?.SetTag("calico.interfaces", changes.Interfaces.Count);
                var sw = Stopwatch.StartNew();
                var result = await Task.Run(() => ReconcileInterfaces(changes.Interfaces), cancellationToken);
                DataplaneTelemetry.LinkReconcileDuration.Record(sw.Elapsed.TotalMilliseconds);
                return result;
            }
            catch
            {
                _linkWatch?.PutBack(changes);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Reconciles the workload interfaces named by notices, and any other whose state the link listing shows changed,
    /// with their local routes, against what the kernel holds on their devices. Policy and DHCP do not depend on links
    /// (nftables matches interface names; dnsmasq listens on the tap wildcard), and no other route does: they are
    /// left as the last apply or resync made them. Cost: one link dump, and per affected interface its sysctls,
    /// neighbours and one filtered route dump — never a read of every route.
    /// </summary>
    private DataplaneResult ReconcileInterfaces(IReadOnlySet<string> noticed)
    {
        var before = _programmed;
        _interfaces.Recheck(noticed);
        var states = _interfaces.Reconcile(before.Interfaces);
        var affected = states.Keys
            .Where(name => noticed.Contains(name) || before.InterfaceStates.GetValueOrDefault(name) is not { } was
                || was.State != states[name].State || was.Index != states[name].Index)
            .ToHashSet(StringComparer.Ordinal);

        var desired = new Dictionary<RouteKey, Route>();
        var owners = new Dictionary<RouteKey, string>();
        var devices = new HashSet<int>();
        foreach (var name in affected)
        {
            var now = states[name];
            if (before.InterfaceStates.GetValueOrDefault(name) is { Index: > 0 } was) devices.Add(was.Index);
            if (now.Index > 0) devices.Add(now.Index);
            foreach (var item in before.LocalRoutes.GetValueOrDefault(name) ?? [])
            {
                var key = _routes.KeyOf(Destination(item));
                owners[key] = name;
                if (now.State == InterfaceState.Ready) desired[key] = _routes.OnDevice(Destination(item), now.Index);
            }
        }
        var routeResult = _routes.ReconcileDevices(desired, owners.Keys.ToHashSet(), devices);

        var routeFailures = before.RouteFailures.Where(f => !affected.Contains(f.Key)).ToDictionary(StringComparer.Ordinal);
        foreach (var (name, reason) in FailuresByInterface(routeResult.Failures, owners)) routeFailures[name] = reason;
        _programmed = before with { InterfaceStates = states, RouteFailures = routeFailures };
        LogInterfacesReconciled(_logger, affected.Count, routeResult.Written, routeResult.Deleted, routeResult.Failures.Count);
        return Statuses(_programmed);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dataplane link change: {Interfaces} workload interfaces reconciled, {Written} routes written, {Deleted} removed, {Failed} failing")]
    private static partial void LogInterfacesReconciled(ILogger logger, int interfaces, int written, int deleted, int failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot watch links ({Reason}): workload interfaces that appear after their port is bound are found by the next resync (Dataplane:RouteResyncInterval) only")]
    private static partial void LogNoLinkWatch(ILogger logger, string reason);
}
