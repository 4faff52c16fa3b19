using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Policy;
using Calico.Dataplane.Linux.Routes;
using Calico.Model.Resources;
using Calico.Netlink;
using Microsoft.Extensions.Logging.Abstractions;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Reconcilers;

/// <summary>
/// The Linux dataplane against the real kernel, inside namespaces these tests create: the seed's destination host
/// (172.18.203.44 on its fabric interface) with VM 10.65.0.3 behind tap12345678-9a.
/// </summary>
public sealed partial class KernelDataplaneTests : IDisposable
{
    private const string Tap = "tap12345678-9a";
    private const string Mac = "fa:16:3e:00:00:03";
    private readonly TestNamespace _host = TestNamespace.Create("cal-host");
    private readonly TestNamespace _vm = TestNamespace.Create("cal-vm");

    public KernelDataplaneTests()
    {
        // Fabric: fab0 holds the host's address; its peer stays in the host namespace, just to give it carrier.
        _host.AddVethPair("fab0", "fab0-peer");
        _host.Ip("addr", "add", "172.18.203.44/24", "dev", "fab0");
        // The VM's eth0 and the host's tap are two ends of a veth pair.
        _host.AddVethPair(Tap, "eth0", _vm);
        _vm.Ip("addr", "add", "10.65.0.3/24", "dev", "eth0");
        _vm.Ip("link", "set", "eth0", "address", Mac);
        _vm.Ip("route", "add", "default", "dev", "eth0");
    }

    public void Dispose()
    {
        _vm.Dispose();
        _host.Dispose();
    }

    private LinuxDataplane Dataplane(PolicyOptions? policy = null) =>
        new(Microsoft.Extensions.Options.Options.Create(Options(_host.Name)), NullLoggerFactory.Instance,
            policy is null ? null : FeatureOptions.Defaults.With(policy));

    private static Dictionary<Calico.Model.Desired.DesiredKey, Calico.Model.Desired.DesiredItem> Seed() => State(
        Interface(Tap, Mac, "10.65.0.3"),
        Local("10.65.0.3/32", Tap),
        Via("10.65.0.64/26", "172.18.203.31"),
        Blackhole("10.65.0.0/26"));

    private string OurRoutes() => _host.Ip("route", "show", "proto", "80");

    [Fact]
    public async Task Programs_routes_sysctls_and_neighbours_and_the_vm_reaches_its_host()
    {
        // Policy is on (the default) and lets workloads reach only DHCP, DNS and metadata on their host; this host
        // lets them reach it all, as Dataplane:WorkloadToHostAction=Accept does (PolicyTrafficTests show the default).
        using var dataplane = Dataplane(new PolicyOptions { WorkloadToHostAction = "Accept" });
        var result = await dataplane.ApplyAsync(Seed());

        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        Assert.Contains("table inet calico", _host.Exec("nft", "list", "tables"), StringComparison.Ordinal);
        var routes = OurRoutes();
        Assert.Contains($"10.65.0.3 dev {Tap} scope link", routes, StringComparison.Ordinal);
        Assert.Contains("10.65.0.64/26 via 172.18.203.31 dev fab0", routes, StringComparison.Ordinal);
        Assert.Contains("blackhole 10.65.0.0/26", routes, StringComparison.Ordinal);
        Assert.Equal("1", _host.Exec("sysctl", "-n", $"net.ipv4.conf.{Tap}.proxy_arp").Trim());
        Assert.Equal("0", _host.Exec("sysctl", "-n", $"net.ipv4.neigh.{Tap}.proxy_delay").Trim());
        Assert.Equal("1", _host.Exec("sysctl", "-n", "net.ipv4.ip_forward").Trim());
        Assert.Contains($"10.65.0.3 lladdr {Mac} PERMANENT", _host.Ip("neigh", "show", "dev", Tap), StringComparison.Ordinal);
        // The VM sees an on-link world; the host answers for its own address and routes back on the tap.
        _vm.Exec("ping", "-c", "1", "-W", "2", "172.18.203.44");
    }

    [Fact]
    public async Task Routes_and_addresses_of_others_survive_every_operation()
    {
        _host.Ip("route", "add", "10.99.0.0/24", "via", "172.18.203.1", "proto", "static");
        _host.Ip("route", "add", "blackhole", "10.65.0.64/26", "proto", "bird");
        _host.Ip("addr", "add", "192.0.2.7/32", "dev", "fab0");
        var before = _host.Ip("route", "show", "proto", "static") + _host.Ip("route", "show", "proto", "bird");

        using var dataplane = Dataplane();
        var result = await dataplane.ApplyAsync(Seed());
        // Our via route wants 10.65.0.64/26, which bird holds: reported, not taken over.
        Assert.DoesNotContain("10.65.0.64/26", OurRoutes(), StringComparison.Ordinal);
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        await dataplane.ResyncAsync(CancellationToken.None);
        await dataplane.ApplyAsync(State());
        await dataplane.ResyncAsync(CancellationToken.None);

        Assert.Equal(before, _host.Ip("route", "show", "proto", "static") + _host.Ip("route", "show", "proto", "bird"));
        Assert.Contains("192.0.2.7/32", _host.Ip("addr", "show", "dev", "fab0"), StringComparison.Ordinal);
        Assert.Equal("", OurRoutes().Trim());
    }

    [Fact]
    public async Task Drift_made_by_hand_is_repaired_by_the_resync()
    {
        using var dataplane = Dataplane();
        await dataplane.ApplyAsync(Seed());
        var programmed = OurRoutes();

        _host.Ip("route", "del", "10.65.0.3/32", "dev", Tap, "proto", "80");
        _host.Ip("route", "replace", "10.65.0.64/26", "via", "172.18.203.99", "proto", "80");
        _host.Exec("sysctl", "-w", $"net.ipv4.conf.{Tap}.proxy_arp=0");
        _host.Ip("neigh", "del", "10.65.0.3", "dev", Tap);

        await dataplane.ResyncAsync(CancellationToken.None);

        Assert.Equal(programmed, OurRoutes());
        Assert.Equal("1", _host.Exec("sysctl", "-n", $"net.ipv4.conf.{Tap}.proxy_arp").Trim());
        Assert.Contains($"10.65.0.3 lladdr {Mac} PERMANENT", _host.Ip("neigh", "show", "dev", Tap), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restarted_agent_adopts_what_it_finds_without_a_single_route_write()
    {
        using (var first = Dataplane()) await first.ApplyAsync(Seed());

        using var client = _host.OpenRouteClient();
        var routes = new RouteReconciler(new NetlinkKernel(client), new RouteOptions(), Options(_host.Name).Retry(), NullLogger.Instance);
        var desired = new[]
        {
            routes.OnDevice(FakeKernel.Net("10.65.0.3/32"), _host.IndexOf(Tap)),
            routes.Via(FakeKernel.Net("10.65.0.64/26"), System.Net.IPAddress.Parse("172.18.203.31")),
            routes.Blackhole(FakeKernel.Net("10.65.0.0/26")),
        }.ToDictionary(r => r.Key);
        var result = routes.Reconcile(desired);
        Assert.Equal((0, 0, 3), (result.Written, result.Deleted, result.Unchanged));
        Assert.Empty(result.Failures);
    }

    [Fact]
    public async Task Ipv6_routes_are_programmed_too()
    {
        _host.Ip("addr", "add", "fd00:18::44/64", "dev", "fab0", "nodad");
        using var dataplane = Dataplane();
        var result = await dataplane.ApplyAsync(State(
            Interface(Tap, Mac, "10.65.0.3", "fd00:65::3"),
            Local("10.65.0.3/32", Tap),
            Local("fd00:65::3/128", Tap),
            Via("fd00:65::40/122", "fd00:18::31"),
            Blackhole("fd00:65::/122")));
        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        var routes6 = _host.Ip("-6", "route", "show", "proto", "80");
        Assert.Contains($"fd00:65::3 dev {Tap}", routes6, StringComparison.Ordinal);
        Assert.Contains("fd00:65::40/122 via fd00:18::31 dev fab0", routes6, StringComparison.Ordinal);
        Assert.Contains("blackhole fd00:65::/122", routes6, StringComparison.Ordinal);
        Assert.Equal("1", _host.Exec("sysctl", "-n", $"net.ipv6.conf.{Tap}.proxy_ndp").Trim());
        Assert.Equal("0", _host.Exec("sysctl", "-n", $"net.ipv6.conf.{Tap}.accept_ra").Trim());
        // A second apply of the same state writes nothing: IPv6 keys (metric 1024) match what the kernel lists.
        using var client = _host.OpenRouteClient();
        var reconciler = new RouteReconciler(new NetlinkKernel(client), new RouteOptions(), Options(_host.Name).Retry(), NullLogger.Instance);
        var again = reconciler.Reconcile(new[]
        {
            reconciler.OnDevice(FakeKernel.Net("10.65.0.3/32"), _host.IndexOf(Tap)),
            reconciler.OnDevice(FakeKernel.Net("fd00:65::3/128"), _host.IndexOf(Tap)),
            reconciler.Via(FakeKernel.Net("fd00:65::40/122"), System.Net.IPAddress.Parse("fd00:18::31")),
            reconciler.Blackhole(FakeKernel.Net("fd00:65::/122")),
        }.ToDictionary(r => r.Key));
        Assert.Equal((0, 0), (again.Written, again.Deleted));
    }
}
