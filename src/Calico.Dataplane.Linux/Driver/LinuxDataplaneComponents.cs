using Calico.Dataplane.Linux.Bgp;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Dhcp;
using Calico.Dataplane.Linux.Interfaces;
using Calico.Dataplane.Linux.Policy;
using Calico.Dataplane.Linux.Qos;
using Calico.Dataplane.Linux.Routes;

namespace Calico.Dataplane.Linux.Driver;

/// <summary>
/// The dataplane's components in apply order: interfaces first (local routes need their index), then policy (a
/// workload is policed before a route makes it reachable), QoS (limited before it is reachable too), then routes, DHCP (dnsmasq answers on the taps), BGP last
/// (BIRD announces blocks and addresses whose routes are in place).
/// Adding a kernel feature is a folder with its component and one line here.
/// </summary>
public static class LinuxDataplaneComponents
{
    public static IReadOnlyList<DataplaneComponentRegistration> All { get; } =
    [
        InterfacesComponent.Registration,
        PolicyComponent.Registration,
        QosComponent.Registration,
        RoutesComponent.Registration,
        DhcpComponent.Registration,
        BgpComponent.Registration,
    ];
}
