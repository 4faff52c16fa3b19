using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Routes;
using Calico.Model.Desired;
using Microsoft.Extensions.Logging;

namespace Calico.Dataplane.Linux.Bgp;

/// <summary>
/// BGP as a dataplane component (<see cref="BgpReconciler"/> owns BIRD and its files): in BGP routing mode the host's
/// desired state carries its identity and peers, and BIRD announces what the host's routes, blocks and floating IPs
/// say. It runs after routes, so the blocks' blackholes and the local routes are in the kernel before they are
/// announced. A BGP failure concerns no one endpoint: it is logged (once per reason), not put on the ports.
/// A live migration to this host: the VM's address is announced as soon as the VM is seen on its tap (the interface
/// live: carrier and a frame from the VM), at the apply or link reconcile that sees it, without waiting for the control
/// plane to hear of the arrival — across racks that announcement is what brings the VM's traffic here.
/// Disposing stops watching BIRD; BIRD keeps routing (fail-static), the next agent adopts it.
/// </summary>
public sealed class BgpComponent(BgpReconciler reconciler, string workloadInterfacePrefix, BgpOptions timers) : IDataplaneComponent
{
    public static DataplaneComponentRegistration Registration { get; } = new("bgp", c =>
    {
        var options = c.Features.Get<BgpOptions>();
        return new BgpComponent(new BgpReconciler(c.Kernel.Netlink, c.Kernel.Processes, options, c.Options.NetworkNamespace,
                c.Features.Get<RouteOptions>().RouteTable, c.Retry, c.Loggers.CreateLogger<BgpReconciler>(), c.Time),
            c.Options.WorkloadInterfacePrefix, options);
    })
    {
        Options = FeatureOptionsBinding.For<BgpOptions, BgpOptionsValidator>(DataplaneOptions.Section),
    };

    // What the configuration is made of: identity and peers, and what the host announces (blocks, local and floating addresses).
    private static readonly IReadOnlySet<DesiredKind> Kinds = new HashSet<DesiredKind>
    {
        DesiredKind.BgpNode, DesiredKind.BgpPeer, DesiredKind.Route, DesiredKind.FloatingNat,
    };

    public BgpReconciler Reconciler => reconciler;

    /// <summary>Why BGP was not served at the last apply, or null.</summary>
    public string? Failure { get; private set; }

    public string Name => "bgp";

    public int StatusPrecedence => 3;

    public IReadOnlySet<DesiredKind> Consumes => Kinds;

    private IReadOnlyDictionary<DesiredKey, DesiredItem> _desired = new Dictionary<DesiredKey, DesiredItem>();
    private IReadOnlySet<string> _arrived = new HashSet<string>();

    public void Apply(DataplanePass pass)
    {
        _desired = pass.Desired;
        _arrived = Arrived(pass.Desired, name => pass.Interfaces.GetValueOrDefault(name) is { State: InterfaceState.Ready, Live: true });
        Failure = reconciler.Reconcile(Configuration(pass.Desired, _arrived), pass.Drift);
    }

    public void Invalidate() => reconciler.Invalidate();

    /// <summary>
    /// BIRD learns device changes itself (its device protocol); only a migration's VM arriving (or leaving again)
    /// changes what this host announces.
    /// </summary>
    public void ReconcileLinks(LinkChangePass pass)
    {
        var arrived = Arrived(_desired, name => pass.After.TryGetValue(name, out var now)
            ? now is { State: InterfaceState.Ready, Live: true }
            : _arrived.Contains(name));
        if (arrived.SetEquals(_arrived)) return;
        _arrived = arrived;
        Failure = reconciler.Reconcile(Configuration(_desired, arrived), drift: false);
    }

    public IEnumerable<string> Plan(PlanPass pass) => reconciler.Plan(Configuration(pass.Desired, Arrived(pass.Desired, _arrived.Contains)));

    public void ReportStatuses(EndpointStatuses statuses)
    {
    }

    public void Dispose() => reconciler.Dispose();

    private BirdConfiguration? Configuration(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, IReadOnlySet<string> arrived) =>
        BirdConfiguration.Compute(desired, workloadInterfacePrefix, timers, arrived);

    /// <summary>The taps with a standby local route (a migration to this host) whose VM is here, by <paramref name="live"/>.</summary>
    private static HashSet<string> Arrived(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, Func<string, bool> live) =>
        desired.Values.OfType<RouteItem>().Where(r => r is { Kind: RouteKind.Local, Standby: true } && live(r.InterfaceName!))
            .Select(r => r.InterfaceName!).ToHashSet(StringComparer.Ordinal);
}
