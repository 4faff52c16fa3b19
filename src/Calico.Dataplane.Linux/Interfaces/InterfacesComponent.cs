using Calico.Dataplane.Linux.Components;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging;

namespace Calico.Dataplane.Linux.Interfaces;

/// <summary>
/// Workload interfaces as a dataplane component (<see cref="InterfaceReconciler"/> owns the kernel objects). Publishes
/// each interface's state for the components after it; a missing interface leaves its endpoint DOWN, a failed one ERROR.
/// </summary>
public sealed class InterfacesComponent(InterfaceReconciler reconciler) : IDataplaneComponent
{
    public static DataplaneComponentRegistration Registration { get; } = new("interfaces", c =>
        new InterfacesComponent(new InterfaceReconciler(c.Kernel.Netlink, c.Kernel.Sysctls, c.Features.Get<InterfaceOptions>(), c.Retry,
            c.Loggers.CreateLogger<InterfaceReconciler>())))
    {
        Options = FeatureOptionsBinding.For<InterfaceOptions, InterfaceOptionsValidator>(DataplaneOptions.Section),
    };

    private static readonly IReadOnlySet<DesiredKind> Kinds = new HashSet<DesiredKind> { DesiredKind.Interface };

    private List<WorkloadInterfaceItem> _interfaces = [];
    private IReadOnlySet<string> _migrating = new HashSet<string>();
    private IReadOnlyDictionary<string, InterfaceResult> _states = new Dictionary<string, InterfaceResult>();

    public string Name => "interfaces";

    public int StatusPrecedence => 0;

    public IReadOnlySet<DesiredKind> Consumes => Kinds;

    public void Apply(DataplanePass pass)
    {
        var interfaces = pass.Items<WorkloadInterfaceItem>();
        _migrating = Migrating(interfaces, pass.Items<RouteItem>());
        _states = pass.Interfaces = reconciler.Reconcile(interfaces, _migrating);
        _interfaces = interfaces;
    }

    public void Invalidate() => reconciler.Invalidate();

    /// <summary>
    /// Checks the noticed interfaces against the kernel again, with the link listing; also affected: those whose state
    /// or index changed (a notice still on its way).
    /// </summary>
    public void ReconcileLinks(LinkChangePass pass)
    {
        var before = _states;
        reconciler.Recheck(pass.Noticed);
        var states = reconciler.Reconcile(_interfaces, _migrating);
        pass.Affected = states.Keys
            .Where(name => pass.Noticed.Contains(name) || before.GetValueOrDefault(name) is not { } was
                || was.State != states[name].State || was.Index != states[name].Index || was.Live != states[name].Live)
            .ToHashSet(StringComparer.Ordinal);
        pass.Before = before;
        _states = pass.After = states;
    }

    public IEnumerable<string> Plan(PlanPass pass)
    {
        var interfaces = pass.Items<WorkloadInterfaceItem>();
        return reconciler.Plan(interfaces, Migrating(interfaces, pass.Items<RouteItem>()));
    }

    /// <summary>
    /// The taps of live migrations: on the target, those with a standby route to them; on the source, those whose
    /// addresses have a standby route via the target.
    /// </summary>
    private static HashSet<string> Migrating(List<WorkloadInterfaceItem> interfaces, List<RouteItem> routes)
    {
        var migrating = new HashSet<string>(StringComparer.Ordinal);
        var awayVia = new HashSet<Calico.Model.Net.IpPrefix>();
        foreach (var route in routes.Where(r => r.Standby))
        {
            if (route.Kind == RouteKind.Local) migrating.Add(route.InterfaceName!);
            else awayVia.Add(route.Destination);
        }
        if (awayVia.Count > 0)
            foreach (var item in interfaces)
                if (item.Addresses.Any(awayVia.Contains)) migrating.Add(item.Name);
        return migrating;
    }

    public void ReportStatuses(EndpointStatuses statuses)
    {
        foreach (var item in statuses.Endpoints)
        {
            if (!_states.TryGetValue(item.Name, out var state)) continue;
            if (state.State == InterfaceState.Missing) statuses.Fail(item.EndpointId, EndpointStatusKind.Down, state.Reason);
            else if (state.State == InterfaceState.Failed) statuses.Fail(item.EndpointId, EndpointStatusKind.Error, state.Reason);
        }
    }

    public void Dispose()
    {
    }
}
