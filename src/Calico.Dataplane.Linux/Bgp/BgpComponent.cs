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

    public void Apply(DataplanePass pass) => Failure = reconciler.Reconcile(Configuration(pass.Desired), pass.Drift);

    public void Invalidate() => reconciler.Invalidate();

    /// <summary>Nothing: BIRD learns device changes itself (its device protocol).</summary>
    public void ReconcileLinks(LinkChangePass pass)
    {
    }

    public IEnumerable<string> Plan(PlanPass pass) => reconciler.Plan(Configuration(pass.Desired));

    public void ReportStatuses(EndpointStatuses statuses)
    {
    }

    public void Dispose() => reconciler.Dispose();

    private BirdConfiguration? Configuration(IReadOnlyDictionary<DesiredKey, DesiredItem> desired) =>
        BirdConfiguration.Compute(desired, workloadInterfacePrefix, timers);
}
