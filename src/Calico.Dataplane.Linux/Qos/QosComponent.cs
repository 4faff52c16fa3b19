using System.Globalization;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Policy;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging;

namespace Calico.Dataplane.Linux.Qos;

/// <summary>
/// Port QoS as a dataplane component (<see cref="QosReconciler"/> owns the tc objects): each ready workload
/// interface's limits (<see cref="WorkloadInterfaceItem.Qos"/>, translated by <see cref="TapShaping"/>) as tc on its
/// tap: the bandwidth limits (packet-rate limits are the policy component's, in nftables). Built only on a kernel
/// with traffic control and with <c>Dataplane:QosEnabled</c>. A limit that could not be programmed degrades the port
/// to ERROR with the reason, as a missing DHCP service does: the port forwards, but not as its policy says. So does a
/// packet-rate limit on a host whose policy component is off (<paramref name="packetRatesEnforced"/> false).
/// </summary>
public sealed class QosComponent(QosReconciler reconciler, QosOptions options, bool packetRatesEnforced = true) : IDataplaneComponent
{
    public static DataplaneComponentRegistration Registration { get; } = new("qos", c =>
        c.Kernel.TrafficControl is { } tc && c.Features.Get<QosOptions>() is { QosEnabled: true } options
            ? new QosComponent(new QosReconciler(c.Kernel.Netlink, tc, options, c.Options.WorkloadInterfacePrefix, c.Retry,
                c.Loggers.CreateLogger<QosReconciler>()), options,
                packetRatesEnforced: c.Kernel.Nftables is not null && c.Features.Get<PolicyOptions>().PolicyEnabled)
            : null)
    {
        Options = FeatureOptionsBinding.For<QosOptions, QosOptionsValidator>(DataplaneOptions.Section),
    };

    private static readonly IReadOnlySet<DesiredKind> Kinds = new HashSet<DesiredKind> { DesiredKind.Interface };

    private Dictionary<string, TapShaping> _desired = new(StringComparer.Ordinal);
    private Dictionary<string, int> _ready = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, string> _failures = new Dictionary<string, string>();

    public string Name => "qos";

    /// <summary>A service, like DHCP: the port forwards without it.</summary>
    public int StatusPrecedence => 3;

    public IReadOnlySet<DesiredKind> Consumes => Kinds;

    public QosReconciler Reconciler => reconciler;

    public void Apply(DataplanePass pass)
    {
        _desired = Desired(pass.Items<WorkloadInterfaceItem>());
        _ready = pass.Interfaces.Where(i => i.Value.State == InterfaceState.Ready)
            .ToDictionary(i => i.Key, i => i.Value.Index, StringComparer.Ordinal);
        _failures = reconciler.Reconcile(_desired, _ready, pass.Drift);
    }

    public void Invalidate() => reconciler.Invalidate();

    /// <summary>A tap that came back is a new link without qdiscs: the noticed taps are read again and programmed.</summary>
    public void ReconcileLinks(LinkChangePass pass)
    {
        reconciler.Forget(pass.Affected);
        _ready = pass.After.Where(i => i.Value.State == InterfaceState.Ready)
            .ToDictionary(i => i.Key, i => i.Value.Index, StringComparer.Ordinal);
        _failures = reconciler.Reconcile(_desired, _ready, drift: false);
    }

    public IEnumerable<string> Plan(PlanPass pass) =>
        reconciler.Plan(Desired(pass.Items<WorkloadInterfaceItem>())).Select(op => op.ToString()).ToList();

    public void ReportStatuses(EndpointStatuses statuses)
    {
        foreach (var item in statuses.Endpoints)
        {
            var reason = _failures.GetValueOrDefault(item.Name);
            if (!packetRatesEnforced && UnenforcedPacketRates(item) is { } rates) reason = reason is null ? rates : $"{reason}; {rates}";
            if (reason is not null) statuses.Degrade(item.EndpointId, reason);
        }
    }

    public void Dispose()
    {
    }

    private static string? UnenforcedPacketRates(WorkloadInterfaceItem item)
    {
        var rules = item.Qos?.Rules.Where(r => r.Type == QosRule.PacketRateLimit && r.Max > 0)
            .Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Type} {r.Direction} {r.Max} kpps")).ToList();
        return rules is not { Count: > 0 } ? null
            : $"QoS policy {item.Qos!.PolicyId}: {string.Join(", ", rules)} not enforced: packet rates are enforced in nftables by the policy component, which is off on this host (Dataplane:PolicyEnabled)";
    }

    private Dictionary<string, TapShaping> Desired(IEnumerable<WorkloadInterfaceItem> items) =>
        items.ToDictionary(i => i.Name, i => TapShaping.For(i, options.QosQueueLatency), StringComparer.Ordinal);
}
