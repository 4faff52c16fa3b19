using Calico.Dataplane.Linux.Components;
using Calico.Model.Desired;
using Microsoft.Extensions.Logging;

namespace Calico.Dataplane.Linux.Dhcp;

/// <summary>
/// DHCP as a dataplane component (<see cref="DhcpReconciler"/> owns dnsmasq, ns-dhcp and our files), on every kernel:
/// ns-dhcp through the kernel's rtnetlink, dnsmasq through its process host (fakes of both in unit tests). A port whose DHCP is not served is in ERROR, unless it is already DOWN or in ERROR for another reason (then
/// the DHCP reason is added). Disposing stops watching dnsmasq; dnsmasq keeps serving (fail-static), the next agent
/// adopts it.
/// </summary>
public sealed class DhcpComponent(DhcpReconciler reconciler) : IDataplaneComponent
{
    public static DataplaneComponentRegistration Registration { get; } = new("dhcp", c =>
        new DhcpComponent(new DhcpReconciler(c.Kernel.Netlink, c.Kernel.Processes, c.Features.Get<DhcpOptions>(), c.Options.NetworkNamespace, c.Retry,
            c.Loggers.CreateLogger<DhcpReconciler>(), c.Time)))
    {
        Options = FeatureOptionsBinding.For<DhcpOptions, DhcpOptionsValidator>(DataplaneOptions.Section),
    };

    private static readonly IReadOnlySet<DesiredKind> Kinds = new HashSet<DesiredKind> { DesiredKind.DhcpSubnet, DesiredKind.DhcpHost };

    private DhcpResult _result = DhcpResult.None;

    public string Name => "dhcp";

    public int StatusPrecedence => 3;

    public IReadOnlySet<DesiredKind> Consumes => Kinds;

    public void Apply(DataplanePass pass) =>
        _result = reconciler.Reconcile(pass.Items<DhcpSubnetItem>(), pass.Items<DhcpHostItem>(), pass.Drift);

    public void Invalidate() => reconciler.Invalidate();

    /// <summary>Nothing: dnsmasq listens on the tap wildcard, so taps coming and going change nothing here.</summary>
    public void ReconcileLinks(LinkChangePass pass)
    {
    }

    public IEnumerable<string> Plan(PlanPass pass) => reconciler.Plan(pass.Items<DhcpSubnetItem>(), pass.Items<DhcpHostItem>());

    public void ReportStatuses(EndpointStatuses statuses)
    {
        foreach (var (endpoint, reason) in _result.Failures) statuses.Degrade(endpoint, "DHCP: " + reason);
    }

    public void Dispose() => reconciler.Dispose();
}
