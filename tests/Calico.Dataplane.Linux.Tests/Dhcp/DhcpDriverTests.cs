using System.Net;
using System.Net.Sockets;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Dhcp;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Tests.Kernel;
using Calico.Dataplane.Linux.Tests.Processes;
using Calico.Dataplane.Linux.Tests.Reconcilers;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Netlink;
using static Calico.Dataplane.Linux.Tests.Dhcp.DhcpConfigurationTests;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Dhcp;

/// <summary>
/// DHCP in the unit tests' driver, as in production's: ns-dhcp and its gateway addresses in the fake rtnetlink kernel
/// (the one the netlink contract suite checks against the real kernel), dnsmasq in the fake process table, its files
/// in a directory of the test's own. The same with the real kernel and a real dnsmasq is in DhcpKernelTests.
/// </summary>
public sealed class DhcpDriverTests : IDisposable
{
    private const string Tap = "tap12345678-9a";
    private const string Mac = "fa:16:3e:00:00:03";
    private const string Port = "port-" + Tap;
    private const string OtherTap = "tap87654321-0b";
    private const string SubnetId = "5f0c1d2e-aaaa-bbbb-cccc-000000000001";
    private const string OtherSubnetId = "5f0c1d2e-aaaa-bbbb-cccc-000000000002";

    private readonly FakeKernel _kernel = new();
    private readonly FakeProcessHost _processes = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "calico-unit-dhcp-" + Guid.NewGuid().ToString("N"));

    public DhcpDriverTests()
    {
        _kernel.AddLink(Tap, up: true);
        _kernel.AddLink(OtherTap, up: true);
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    private LinuxDataplane Dataplane(Action<DhcpOptions>? change = null, TimeProvider? time = null)
    {
        var dhcp = new DhcpOptions { DhcpStateDirectory = _directory, DhcpRestartDelay = TimeSpan.FromSeconds(1), DhcpMaxRestartDelay = TimeSpan.FromSeconds(8) };
        change?.Invoke(dhcp);
        return On(_kernel, processes: _processes, features: FeatureOptions.Defaults.With(dhcp), time: time);
    }

    private static DesiredItem[] Seed() =>
    [
        Interface(Tap, Mac, "10.65.0.3"),
        Local("10.65.0.3/32", Tap),
        Subnet(SubnetId, "10.65.0.0/24", "10.65.0.1", ["192.0.2.53"]),
        Lease(Tap, Mac, "10.65.0.3", SubnetId),
    ];

    private static DesiredItem[] SecondPort() =>
        [Interface(OtherTap, "fa:16:3e:00:00:04", "10.65.0.4"), Local("10.65.0.4/32", OtherTap), Lease(OtherTap, "fa:16:3e:00:00:04", "10.65.0.4", SubnetId)];

    private static DesiredItem[] SecondSubnet() =>
    [
        Interface(OtherTap, "fa:16:3e:00:00:04", "10.66.0.4"), Local("10.66.0.4/32", OtherTap),
        Subnet(OtherSubnetId, "10.66.0.0/24", "10.66.0.1"), Lease(OtherTap, "fa:16:3e:00:00:04", "10.66.0.4", OtherSubnetId),
    ];

    private Link NsDhcp() => Assert.IsType<Link>(_kernel.GetLink("ns-dhcp"));

    private List<string> Gateways() =>
        [.. _kernel.ListAddresses(AddressFamily.InterNetwork, NsDhcp().Index).Select(a => $"{a.Local}/{a.PrefixLength} {a.Flags}").Order()];

    private string HostsFile => File.ReadAllText(Path.Combine(_directory, "hosts"));

    [Fact]
    public async Task The_unit_test_driver_runs_dhcp_ns_dhcp_holds_the_gateway_the_hosts_file_lists_the_port_and_dnsmasq_serves_them()
    {
        using var dataplane = Dataplane();

        var result = await dataplane.ApplyAsync(State(Seed()));

        Assert.Equal(["interfaces", "routes", "dhcp", "bgp"], dataplane.Components);
        Assert.Equal(new EndpointProgramming(EndpointStatusKind.Active, null), result.Endpoints[Port]);
        // ns-dhcp up with its peer down, holding the gateway without a prefix route.
        Assert.True(NsDhcp().IsUp);
        Assert.False(_kernel.GetLink("ns-dhcp-peer")!.IsUp);
        Assert.Equal(NsDhcp().ParentIndex, _kernel.GetLink("ns-dhcp-peer")!.Index);
        Assert.Equal(["10.65.0.1/24 Permanent, NoPrefixRoute"], Gateways());
        Assert.Equal(
            """
            # Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.
            fa:16:3e:00:00:03,10.65.0.3,host-10-65-0-3

            """, HostsFile);
        var dnsmasq = Assert.Single(_processes.Running);
        Assert.Contains("--dhcp-hostsfile=" + Path.Combine(_directory, "hosts"), dnsmasq.Arguments);
        Assert.Contains("--dhcp-range=set:s-" + SubnetId + ",10.65.0.0,static,255.255.255.0,86400", dnsmasq.Arguments);
        Assert.Equal(0, dnsmasq.Reloads);
    }

    [Fact]
    public async Task An_ipv6_subnet_with_a_mode_puts_its_gateway_and_fe80_1_on_ns_dhcp_and_both_go_with_it()
    {
        using var dataplane = Dataplane();
        DesiredItem[] ipv6 =
        [
            Interface(OtherTap, "fa:16:3e:00:00:04", "2001:db8:1::4"), Local("2001:db8:1::4/128", OtherTap),
            Subnet(OtherSubnetId, "2001:db8:1::/64", "2001:db8:1::1", ipv6Mode: "dhcpv6-stateful"),
            Lease(OtherTap, "fa:16:3e:00:00:04", "2001:db8:1::4", OtherSubnetId),
        ];

        var result = await dataplane.ApplyAsync(State([.. Seed(), .. ipv6]));

        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + OtherTap].Status);
        Assert.Equal(["2001:db8:1::1/64 NoDad, Permanent, NoPrefixRoute", "fe80::1/64 NoDad, Permanent, NoPrefixRoute"],
            [.. _kernel.ListAddresses(AddressFamily.InterNetworkV6, NsDhcp().Index).Select(a => $"{a.Local}/{a.PrefixLength} {a.Flags}").Order()]);
        var dnsmasq = Assert.Single(_processes.Running);
        Assert.Contains("--enable-ra", dnsmasq.Arguments);
        Assert.Contains("--dhcp-range=set:s-" + OtherSubnetId + ",2001:db8:1::,static,off-link,64,86400", dnsmasq.Arguments);
        Assert.Contains("fa:16:3e:00:00:04,[2001:db8:1::4],host-2001-db8-1--4", HostsFile, StringComparison.Ordinal);

        // The IPv6 subnet gone: its gateway and our link-local address leave ns-dhcp, dnsmasq restarts without RA.
        await dataplane.ApplyAsync(State(Seed()));

        Assert.Empty(_kernel.ListAddresses(AddressFamily.InterNetworkV6, NsDhcp().Index));
        Assert.Equal(["10.65.0.1/24 Permanent, NoPrefixRoute"], Gateways());
        Assert.DoesNotContain("--enable-ra", Assert.Single(_processes.Running).Arguments);
    }

    [Fact]
    public async Task A_new_port_rewrites_the_hosts_file_and_reloads_dnsmasq_and_a_new_subnet_restarts_it()
    {
        using var dataplane = Dataplane();
        await dataplane.ApplyAsync(State(Seed()));
        var first = Assert.Single(_processes.Started);

        var withPort = await dataplane.ApplyAsync(State([.. Seed(), .. SecondPort()]));

        Assert.Equal(EndpointStatusKind.Active, withPort.Endpoints["port-" + OtherTap].Status);
        Assert.Equal(
            """
            # Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.
            fa:16:3e:00:00:03,10.65.0.3,host-10-65-0-3
            fa:16:3e:00:00:04,10.65.0.4,host-10-65-0-4

            """, HostsFile);
        Assert.Same(first, Assert.Single(_processes.Started));
        Assert.Equal(1, first.Reloads);

        // The same state again changes nothing.
        await dataplane.ApplyAsync(State([.. Seed(), .. SecondPort()]));
        Assert.Equal(1, first.Reloads);

        // A second subnet is a new --dhcp-range: dnsmasq is restarted, ns-dhcp holds both gateways.
        var withSubnet = await dataplane.ApplyAsync(State([.. Seed(), .. SecondSubnet()]));

        Assert.Equal(EndpointStatusKind.Active, withSubnet.Endpoints["port-" + OtherTap].Status);
        Assert.True(first.Stopped);
        var second = Assert.Single(_processes.Running);
        Assert.Equal(2, _processes.Started.Count);
        Assert.Contains("--dhcp-range=set:s-" + OtherSubnetId + ",10.66.0.0,static,255.255.255.0,86400", second.Arguments);
        Assert.Equal(["10.65.0.1/24 Permanent, NoPrefixRoute", "10.66.0.1/24 Permanent, NoPrefixRoute"], Gateways());
    }

    [Fact]
    public async Task A_dnsmasq_that_dies_is_restarted_after_the_pause_on_the_fake_clock_and_a_failed_start_errs_the_endpoints()
    {
        var clock = new StepClock();
        using var dataplane = Dataplane(time: clock);
        await dataplane.ApplyAsync(State(Seed()));
        var first = Assert.Single(_processes.Running);

        first.Kill();
        Assert.Empty(_processes.Running);
        Assert.True(await clock.PassNextPauseAsync());

        var second = Assert.Single(_processes.Running);
        Assert.NotEqual(first.Pid, second.Pid);
        Assert.Equal(first.Arguments, second.Arguments);
        Assert.Equal([TimeSpan.FromSeconds(1)], clock.Pauses);

        // It dies again and cannot start: the endpoints say why, in dnsmasq's words, until it can.
        _processes.FailStartsWith = "dnsmasq: failed to create listening socket";
        second.Kill();
        Assert.True(await clock.PassNextPauseAsync());
        var failed = await dataplane.ResyncAsync(CancellationToken.None);
        Assert.Equal(EndpointStatusKind.Error, failed.Endpoints[Port].Status);
        Assert.Contains("DHCP: /usr/sbin/dnsmasq exited during start-up with code 1: dnsmasq: failed to create listening socket", failed.Endpoints[Port].Message,
            StringComparison.Ordinal);

        _processes.FailStartsWith = null;
        Assert.True(await clock.PassNextPauseAsync());
        Assert.Single(_processes.Running);
        Assert.Equal(EndpointStatusKind.Active, (await dataplane.ResyncAsync(CancellationToken.None)).Endpoints[Port].Status);
    }

    [Fact]
    public async Task Without_dnsmasq_the_endpoints_say_so_and_nothing_of_dhcp_is_set_up_while_routes_are()
    {
        _processes.Installed = false;
        using var dataplane = Dataplane();

        var result = await dataplane.ApplyAsync(State(Seed()));

        Assert.Equal(EndpointStatusKind.Error, result.Endpoints[Port].Status);
        Assert.Contains("DHCP: dnsmasq is not installed", result.Endpoints[Port].Message, StringComparison.Ordinal);
        Assert.Null(_kernel.GetLink("ns-dhcp"));
        Assert.Empty(_processes.Started);
        Assert.Contains(_kernel.Routes.Values, r => r.Destination.Equals(IPNetwork.Parse("10.65.0.3/32")));
    }

    [Fact]
    public async Task With_no_dhcp_subnet_left_dnsmasq_is_stopped_ns_dhcp_deleted_and_our_files_removed()
    {
        using var dataplane = Dataplane();
        await dataplane.ApplyAsync(State(Seed()));
        var dnsmasq = Assert.Single(_processes.Running);

        var result = await dataplane.ApplyAsync(State(Interface(Tap, Mac, "10.65.0.3"), Local("10.65.0.3/32", Tap)));

        Assert.Equal(EndpointStatusKind.Active, result.Endpoints[Port].Status);
        Assert.True(dnsmasq.Stopped);
        Assert.Null(_kernel.GetLink("ns-dhcp"));
        Assert.Null(_kernel.GetLink("ns-dhcp-peer"));
        Assert.Empty(Directory.GetFiles(_directory));
    }

    [Fact]
    public async Task A_restarted_agent_adopts_the_running_dnsmasq_with_one_reload()
    {
        using (var first = Dataplane()) await first.ApplyAsync(State(Seed()));
        var dnsmasq = Assert.Single(_processes.Running);
        using var dataplane = Dataplane();

        var result = await dataplane.ApplyAsync(State(Seed()));

        Assert.Equal(EndpointStatusKind.Active, result.Endpoints[Port].Status);
        Assert.Same(dnsmasq, Assert.Single(_processes.Running));
        Assert.True(dnsmasq.Adopted);
        Assert.Equal(1, dnsmasq.Reloads);
        Assert.Single(_processes.Started);
    }

    [Fact]
    public async Task A_gateway_removed_by_hand_is_planned_and_repaired_by_the_resync_without_touching_dnsmasq()
    {
        using var dataplane = Dataplane();
        await dataplane.ApplyAsync(State(Seed()));
        var dnsmasq = Assert.Single(_processes.Running);
        Assert.Empty(await dataplane.PlanAsync(State(Seed()), CancellationToken.None));

        _kernel.DeleteAddress(_kernel.ListAddresses(AddressFamily.InterNetwork, NsDhcp().Index)[0]);

        Assert.Equal(["add    address 10.65.0.1/24 dev ns-dhcp noprefixroute"], await dataplane.PlanAsync(State(Seed()), CancellationToken.None));
        var repaired = await dataplane.ResyncAsync(CancellationToken.None);
        Assert.Equal(EndpointStatusKind.Active, repaired.Endpoints[Port].Status);
        Assert.Equal(["10.65.0.1/24 Permanent, NoPrefixRoute"], Gateways());
        Assert.Same(dnsmasq, Assert.Single(_processes.Running));
        Assert.Equal(0, dnsmasq.Reloads);
        Assert.Empty(await dataplane.PlanAsync(State(Seed()), CancellationToken.None));
    }
}
