using Calico.Dataplane.Linux.Kernel;
using System.Diagnostics;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Interfaces;
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
                if (changes.IsEmpty) return Statuses();
                using var activity = CalicoTelemetry.Source.StartActivity("dataplane.link_reconcile");
                activity?.SetTag("calico.interfaces", changes.Interfaces.Count);
                var sw = Stopwatch.StartNew();
                var result = await Task.Run(() => ReconcileLinks(changes.Interfaces), cancellationToken);
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
    /// Each component reconciles what the noticed links concern, in order: the interfaces component checks the named
    /// interfaces (and any other whose state the link listing shows changed), the routes component their local routes;
    /// policy and DHCP do not depend on links. Cost: one link dump, and per affected interface its sysctls, neighbours
    /// and one filtered route dump — never a read of every route.
    /// </summary>
    private DataplaneResult ReconcileLinks(IReadOnlySet<string> noticed)
    {
        var pass = new LinkChangePass(noticed);
        foreach (var component in _components) component.ReconcileLinks(pass);
        return Statuses();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot watch links ({Reason}): workload interfaces that appear after their port is bound are found by the next resync (Dataplane:RouteResyncInterval) only")]
    private static partial void LogNoLinkWatch(ILogger logger, string reason);
}
