using System.Net;
using Calico.Dataplane.Linux.Dhcp;
using Calico.Dataplane.Linux.Processes;
using Calico.Dataplane.Linux.Tests.Kernel;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Resources;
using static Calico.Dataplane.Linux.Tests.Dhcp.DhcpConfigurationTests;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Dhcp;

/// <summary>
/// DHCP for real: the Linux dataplane in a host namespace of the test's own starts dnsmasq there, and dhclient in a
/// VM namespace behind the tap gets its lease from it. See <see cref="DhcpLab"/> for what keeps the machine safe.
/// </summary>
public sealed class DhcpKernelTests : IDisposable
{
    private const string Tap = "tap12345678-9a";
    private const string Mac = "fa:16:3e:00:00:03";
    private const string Port = "port-" + Tap;
    private const string SubnetId = "5f0c1d2e-aaaa-bbbb-cccc-000000000001";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly DhcpLab _lab;

    public DhcpKernelTests(Xunit.Abstractions.ITestOutputHelper output) => _lab = new DhcpLab(output);

    public void Dispose() => _lab.Dispose();

    /// <summary>The seed's VM 10.65.0.3 behind its tap, on a DHCP subnet with DNS servers, a host route and MTU 1450.</summary>
    private static Dictionary<DesiredKey, DesiredItem> Seed(string[]? dns = null, params DesiredItem[] more) => State(
    [
        Interface(Tap, Mac, "10.65.0.3"),
        Local("10.65.0.3/32", Tap),
        Subnet(SubnetId, "10.65.0.0/24", "10.65.0.1", dns ?? ["192.0.2.53", "192.0.2.54"], [("169.254.169.254/32", "10.65.0.1")], 1450),
        Lease(Tap, Mac, "10.65.0.3", SubnetId),
        .. more,
    ]);

    private static Dictionary<DesiredKey, DesiredItem> WithoutDhcp() => State(Interface(Tap, Mac, "10.65.0.3"), Local("10.65.0.3/32", Tap));

    private int RunningDnsmasq() => _lab.DnsmasqPid() ?? throw new InvalidOperationException("no dnsmasq runs");

    [Fact]
    public async Task A_vm_gets_its_address_gateway_dns_routes_and_mtu_and_a_dns_change_on_renewal()
    {
        var vm = _lab.AddVm(Tap, Mac);
        using var dataplane = _lab.Dataplane();

        var result = await dataplane.ApplyAsync(Seed());

        Assert.Equal(new EndpointProgramming(EndpointStatusKind.Active, null), result.Endpoints[Port]);
        // ns-dhcp holds the gateway without the subnet's route (the /32 on the tap stays in charge); its peer is down.
        var address = _lab.Host.Ip("-o", "addr", "show", "dev", "ns-dhcp");
        Assert.Contains("inet 10.65.0.1/24", address, StringComparison.Ordinal);
        Assert.Contains("noprefixroute", address, StringComparison.Ordinal);
        Assert.DoesNotContain("10.65.0.0/24", _lab.Host.Ip("route", "show"), StringComparison.Ordinal);
        Assert.Contains("state DOWN", _lab.Host.Ip("link", "show", "dev", "ns-dhcp-peer"), StringComparison.Ordinal);
        // dnsmasq runs inside the host namespace, with the files in our state directory.
        var pid = RunningDnsmasq();
        Assert.Equal(_lab.NamespaceId(_lab.Host), DhcpLab.NamespaceOf(pid));
        Assert.Equal(["dnsmasq.leases", "dnsmasq.pid", "hosts", "opts"], Directory.GetFiles(_lab.DnsmasqDirectory).Select(Path.GetFileName).Order());

        var lease = vm.StartDhcpClient();
        Assert.Equal("10.65.0.3", lease["new_ip_address"]);
        Assert.Equal("255.255.255.0", lease["new_subnet_mask"]);
        Assert.Equal("10.65.0.1", lease["new_routers"]);
        Assert.Equal("192.0.2.53 192.0.2.54", lease["new_domain_name_servers"]);
        Assert.Equal("32 169 254 169 254 10 65 0 1 0 10 65 0 1", lease["new_rfc3442_classless_static_routes"]);
        Assert.Equal("1450", lease["new_interface_mtu"]);
        Assert.Equal("host-10-65-0-3", lease["new_host_name"]);

        // Configured as the lease says, the VM sees an on-link subnet and resolves its gateway on the host (ARP is
        // answered on the tap). Policy (on by default) lets a VM reach only DHCP, DNS and metadata on its host: the
        // lease above came through it, while an echo request to the gateway is dropped.
        vm.Configure(lease);
        Assert.Contains("10.65.0.0/24 dev eth0", vm.Ns.Ip("route", "show"), StringComparison.Ordinal);
        var echo = Assert.Throws<InvalidOperationException>(() => vm.Ns.Exec("ping", "-c", "1", "-W", "1", "10.65.0.1"));
        Assert.Contains("exited with 1", echo.Message, StringComparison.Ordinal);
        Assert.Matches(@"10\.65\.0\.1 dev eth0 lladdr [0-9a-f:]{17} (REACHABLE|STALE|DELAY)", vm.Ns.Ip("neigh", "show"));

        // Other DNS servers: a new options file and a SIGHUP; the VM has them at its next renewal.
        Assert.Equal(EndpointStatusKind.Active, (await dataplane.ApplyAsync(Seed(["192.0.2.99"]))).Endpoints[Port].Status);
        await DhcpLab.WaitUntil(() => vm.Leases().Any(l => l.Reason == "RENEW" && l["new_domain_name_servers"] == "192.0.2.99"),
            Patience, "a renewal that brings the new DNS server");
        Assert.Equal(pid, RunningDnsmasq());

        // The port's dns_name and an option of its own (extra_dhcp_opts), also by number: at the next renewal.
        var named = State([.. Seed(["192.0.2.99"]).Values.Where(i => i is not DhcpHostItem),
            Lease(Tap, Mac, "10.65.0.3", SubnetId) with
            {
                Hostname = "vm-one",
                Options = ValueList.Create(new ExtraDhcpOption("ntp-server", "192.0.2.123"), new ExtraDhcpOption("26", "1400"), new ExtraDhcpOption("ntp-server", "2001:db8::123", 6)),
            }]);
        Assert.Equal(EndpointStatusKind.Active, (await dataplane.ApplyAsync(named)).Endpoints[Port].Status);
        await DhcpLab.WaitUntil(() => vm.Leases().Any(l => l.Reason == "RENEW" && l["new_host_name"] == "vm-one" && l["new_ntp_servers"] == "192.0.2.123"),
            Patience, "a renewal that brings the port's host name and NTP server");
        // Option 26 (the MTU) given to the port wins over its subnet's 1450.
        Assert.Equal("1400", vm.Leases().Last(l => l.Reason == "RENEW")["new_interface_mtu"]);
        Assert.Equal(pid, RunningDnsmasq());
    }

    [Fact]
    public async Task A_dnsmasq_killed_with_SIGKILL_is_restarted_and_serves_again()
    {
        var vm = _lab.AddVm(Tap, Mac);
        using var dataplane = _lab.Dataplane();
        await dataplane.ApplyAsync(Seed());
        var first = RunningDnsmasq();

        TestNamespace.Run("kill", "-KILL", first.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // Noticed through its pidfd, restarted after the restart delay: no apply or resync needed.
        await DhcpLab.WaitUntil(() => _lab.DnsmasqPid() is { } pid && pid != first, Patience, "dnsmasq to be restarted");
        Assert.Equal("10.65.0.3", vm.StartDhcpClient()["new_ip_address"]);
        Assert.Equal(EndpointStatusKind.Active, (await dataplane.ResyncAsync(CancellationToken.None)).Endpoints[Port].Status);
    }

    [Fact]
    public async Task With_no_dhcp_subnet_left_dnsmasq_is_stopped_and_ns_dhcp_and_our_files_are_removed()
    {
        _lab.AddVm(Tap, Mac);
        using var dataplane = _lab.Dataplane();
        await dataplane.ApplyAsync(Seed());
        var pid = RunningDnsmasq();

        var result = await dataplane.ApplyAsync(WithoutDhcp());

        Assert.Equal(EndpointStatusKind.Active, result.Endpoints[Port].Status);
        Assert.False(DhcpLab.IsAlive(pid));
        Assert.DoesNotContain("ns-dhcp", _lab.Host.Ip("link", "show"), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_lab.DnsmasqDirectory));
        // And back again.
        Assert.Equal(EndpointStatusKind.Active, (await dataplane.ApplyAsync(Seed())).Endpoints[Port].Status);
        Assert.NotEqual(pid, RunningDnsmasq());
    }

    [Fact]
    public async Task A_restarted_agent_adopts_its_running_dnsmasq_reloads_it_and_restarts_it_only_for_a_new_range()
    {
        var vm = _lab.AddVm(Tap, Mac);
        using (var first = _lab.Dataplane()) await first.ApplyAsync(Seed());
        var pid = RunningDnsmasq();

        using var second = _lab.Dataplane();
        var result = await second.ApplyAsync(Seed());

        Assert.Equal(EndpointStatusKind.Active, result.Endpoints[Port].Status);
        Assert.Equal(pid, RunningDnsmasq());
        // It still serves, although the agent that read its output is gone; and the new agent can reload it.
        vm.Configure(vm.StartDhcpClient());
        await second.ApplyAsync(Seed(["192.0.2.77"]));
        await DhcpLab.WaitUntil(() => vm.Leases().Any(l => l.Reason == "RENEW" && l["new_domain_name_servers"] == "192.0.2.77"),
            Patience, "a renewal from the adopted dnsmasq with the new DNS server");
        Assert.Equal(pid, RunningDnsmasq());

        // A second subnet is a new --dhcp-range: that needs a restart.
        await second.ApplyAsync(Seed(["192.0.2.77"], Subnet("second-subnet", "10.66.0.0/24", "10.66.0.1")));
        var restarted = RunningDnsmasq();
        Assert.NotEqual(pid, restarted);
        Assert.False(DhcpLab.IsAlive(pid));
        Assert.Contains("inet 10.66.0.1/24", _lab.Host.Ip("-o", "addr", "show", "dev", "ns-dhcp"), StringComparison.Ordinal);
        Assert.Equal("10.65.0.3", vm.StartDhcpClient()["new_ip_address"]);
    }

    [Fact]
    public async Task Drift_made_by_hand_is_repaired_by_the_resync_without_restarting_dnsmasq()
    {
        _lab.AddVm(Tap, Mac);
        using var dataplane = _lab.Dataplane();
        await dataplane.ApplyAsync(Seed());
        var pid = RunningDnsmasq();
        var hosts = Path.Combine(_lab.DnsmasqDirectory, "hosts");
        var written = File.ReadAllText(hosts);

        _lab.Host.Ip("addr", "del", "10.65.0.1/24", "dev", "ns-dhcp");
        _lab.Host.Ip("addr", "add", "10.65.0.1/24", "dev", "ns-dhcp"); // back, but with its subnet route
        _lab.Host.Ip("addr", "add", "192.0.2.1/24", "dev", "ns-dhcp");
        _lab.Host.Ip("link", "set", "ns-dhcp-peer", "up");
        File.WriteAllText(hosts, "# edited by hand\n");

        var result = await dataplane.ResyncAsync(CancellationToken.None);

        Assert.Equal(EndpointStatusKind.Active, result.Endpoints[Port].Status);
        var addresses = _lab.Host.Ip("-o", "addr", "show", "dev", "ns-dhcp");
        Assert.Contains("inet 10.65.0.1/24", addresses, StringComparison.Ordinal);
        Assert.Contains("noprefixroute", addresses, StringComparison.Ordinal);
        Assert.DoesNotContain("192.0.2.1", addresses, StringComparison.Ordinal);
        Assert.DoesNotContain("10.65.0.0/24", _lab.Host.Ip("route", "show"), StringComparison.Ordinal);
        Assert.Contains("state DOWN", _lab.Host.Ip("link", "show", "dev", "ns-dhcp-peer"), StringComparison.Ordinal);
        Assert.Equal(written, File.ReadAllText(hosts));
        Assert.Equal(pid, RunningDnsmasq());
    }

    [Fact]
    public async Task A_dnsmasq_left_with_another_command_line_is_replaced_not_adopted()
    {
        _lab.AddVm(Tap, Mac);
        using (var first = _lab.Dataplane()) await first.ApplyAsync(Seed());
        var stale = RunningDnsmasq();

        using var second = _lab.Dataplane(_lab.Dhcp(o => o.DhcpLeaseTime = TimeSpan.FromMinutes(5)));
        Assert.Equal(EndpointStatusKind.Active, (await second.ApplyAsync(Seed())).Endpoints[Port].Status);

        Assert.False(DhcpLab.IsAlive(stale));
        Assert.Single(DhcpLab.Processes("--pid-file=" + Path.Combine(_lab.DnsmasqDirectory, "dnsmasq.pid")));
        Assert.Contains(",300", File.ReadAllText($"/proc/{RunningDnsmasq()}/cmdline"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_dnsmasq_the_endpoints_say_so_and_nothing_is_set_up()
    {
        _lab.AddVm(Tap, Mac);
        using (var dataplane = _lab.Dataplane(_lab.Dhcp(o => o.DnsmasqPath = "/nonexistent/dnsmasq")))
        {
            var result = await dataplane.ApplyAsync(Seed());

            Assert.Equal(EndpointStatusKind.Error, result.Endpoints[Port].Status);
            Assert.Contains("DHCP: dnsmasq is not installed", result.Endpoints[Port].Message, StringComparison.Ordinal);
            Assert.DoesNotContain("ns-dhcp", _lab.Host.Ip("link", "show"), StringComparison.Ordinal);
            // Routes and interfaces are programmed all the same.
            Assert.Contains("10.65.0.3 dev " + Tap, _lab.Host.Ip("route", "show", "proto", "80"), StringComparison.Ordinal);
        }
        using var fixedUp = _lab.Dataplane();
        Assert.Equal(EndpointStatusKind.Active, (await fixedUp.ApplyAsync(Seed())).Endpoints[Port].Status);
    }

    [Fact]
    public async Task A_dnsmasq_that_keeps_failing_is_retried_with_a_capped_backoff()
    {
        _lab.AddVm(Tap, Mac);
        var starts = Path.Combine(_lab.Root, "starts");
        var failing = _lab.WriteScript("failing-dnsmasq", $"echo start >> '{starts}'\necho 'dnsmasq: bad option in this test' >&2\nexit 1\n");
        var clock = new StepClock();
        using var dataplane = _lab.Dataplane(_lab.Dhcp(o =>
        {
            o.DnsmasqPath = failing;
            o.DhcpRestartDelay = TimeSpan.FromMilliseconds(100);
            o.DhcpMaxRestartDelay = TimeSpan.FromMilliseconds(400);
        }), clock);

        var result = await dataplane.ApplyAsync(Seed());

        Assert.Equal(EndpointStatusKind.Error, result.Endpoints[Port].Status);
        Assert.Contains("exited during start-up with code 1: dnsmasq: bad option in this test", result.Endpoints[Port].Message, StringComparison.Ordinal);
        // Each failed start waits its pause on the fake clock: 100, 200, 400, 400 ms (capped), one start after each.
        for (var i = 0; i < 4; i++) Assert.True(await clock.PassNextPauseAsync());
        Assert.Equal([100, 200, 400, 400], clock.Pauses.Take(4).Select(p => (int)p.TotalMilliseconds));
        Assert.Equal(5, File.ReadAllLines(starts).Length);
        // Between attempts an apply does not start it either, and reports the same failure in the same words.
        Assert.Equal(result.Endpoints[Port], (await dataplane.ApplyAsync(Seed())).Endpoints[Port]);
        Assert.Equal(5, File.ReadAllLines(starts).Length);
    }

    [Fact]
    public async Task Other_dnsmasq_processes_and_other_interfaces_addresses_are_never_touched()
    {
        var vm = _lab.AddVm(Tap, Mac);
        _lab.Host.AddVethPair("fab0", "fab0-peer");
        _lab.Host.Ip("addr", "add", "172.18.203.44/24", "dev", "fab0");
        var foreignPidFile = Path.Combine(_lab.Root, "foreign.pid");
        _lab.Host.Exec("dnsmasq", "--conf-file=/dev/null", "--no-hosts", "--no-resolv", "--port=0", "--interface=lo",
            "--pid-file=" + foreignPidFile, "--dhcp-leasefile=" + Path.Combine(_lab.Root, "foreign.leases"));
        var foreign = int.Parse(File.ReadAllText(foreignPidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        // Even one with our very pid file on its command line is not ours when it runs in another namespace.
        var ourPidFile = Path.Combine(_lab.DnsmasqDirectory, "dnsmasq.pid");
        Directory.CreateDirectory(_lab.DnsmasqDirectory);
        vm.Ns.Exec("dnsmasq", "--conf-file=/dev/null", "--no-hosts", "--no-resolv", "--port=0", "--interface=lo",
            "--pid-file=" + ourPidFile, "--dhcp-leasefile=" + Path.Combine(_lab.Root, "impostor.leases"));
        var impostor = int.Parse(File.ReadAllText(ourPidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);

        using (var dataplane = _lab.Dataplane())
        {
            await dataplane.ApplyAsync(Seed());
            await dataplane.ResyncAsync(CancellationToken.None);
            await dataplane.ApplyAsync(WithoutDhcp());
        }
        using (var restarted = _lab.Dataplane()) await restarted.ApplyAsync(WithoutDhcp());

        Assert.True(DhcpLab.IsAlive(foreign));
        Assert.True(DhcpLab.IsAlive(impostor));
        Assert.Contains("inet 172.18.203.44/24", _lab.Host.Ip("-o", "addr", "show", "dev", "fab0"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_namespace_is_recognised_by_the_name_ip_netns_gives_it()
    {
        using var ns = _lab.Host.Open();
        var identity = NamespaceIdentity.Of(ns);
        Assert.Equal(_lab.NamespaceId(_lab.Host), identity);
        Assert.Equal(_lab.Host.Name, NamespaceIdentity.NameOf(identity));
        Assert.False(NamespaceIdentity.IsInitial(identity));
        Assert.Null(NamespaceIdentity.NameOf("net:[1]"));
    }

    [Fact]
    public async Task Plan_lists_the_dhcp_changes_and_nothing_once_applied()
    {
        _lab.AddVm(Tap, Mac);
        using var dataplane = _lab.Dataplane();

        var plan = await dataplane.PlanAsync(Seed(), CancellationToken.None);
        Assert.Contains("add    link ns-dhcp (veth; peer ns-dhcp-peer kept down)", plan);
        Assert.Contains("add    address 10.65.0.1/24 dev ns-dhcp noprefixroute", plan);
        Assert.Contains("start  dnsmasq serving 1 subnets", plan);
        Assert.Null(_lab.DnsmasqPid());

        await dataplane.ApplyAsync(Seed());
        plan = await dataplane.PlanAsync(Seed(), CancellationToken.None);
        Assert.DoesNotContain(plan, line => line.Contains("dnsmasq", StringComparison.Ordinal) || line.Contains("ns-dhcp", StringComparison.Ordinal));
        Assert.Contains($"stop   dnsmasq pid {RunningDnsmasq()} (no DHCP subnet left)", await dataplane.PlanAsync(WithoutDhcp(), CancellationToken.None));
    }
}
