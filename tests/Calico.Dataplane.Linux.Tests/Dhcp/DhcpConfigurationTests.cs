using System.Net;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Dhcp;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Processes;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Dataplane.Linux.Tests.Dhcp;

/// <summary>What dnsmasq is told, as golden text: command line, static leases, per-subnet options.</summary>
public sealed class DhcpConfigurationTests
{
    private static readonly DnsmasqFiles Files = new("/var/lib/calico/dhcp");

    public static DhcpSubnetItem Subnet(string id, string cidr, string? gateway, string[]? dns = null,
        (string Destination, string NextHop)[]? routes = null, int mtu = 1500, string? ipv6Mode = null) =>
        new(id, IpPrefix.Parse(cidr), gateway is null ? null : IPAddress.Parse(gateway),
            (dns ?? []).Select(IPAddress.Parse).ToValueList(),
            (routes ?? []).Select(r => new HostRoute(IpPrefix.Parse(r.Destination), IPAddress.Parse(r.NextHop))).ToValueList(), mtu, ipv6Mode);

    public static DhcpHostItem Host(string port, string mac, string address, string subnet, string? hostname = null) =>
        new(port, mac, IPAddress.Parse(address), subnet, hostname ?? DhcpHostItem.HostnameFor(IPAddress.Parse(address)),
            "tap" + port[..Math.Min(11, port.Length)]);

    /// <summary>The static lease of the port behind <paramref name="tap"/> (port id "port-" + tap), as the calculator names it.</summary>
    public static DhcpHostItem Lease(string tap, string mac, string address, string subnet) =>
        new("port-" + tap, mac, IPAddress.Parse(address), subnet, DhcpHostItem.HostnameFor(IPAddress.Parse(address)), tap);

    private static DhcpConfiguration Compute(DhcpSubnetItem[] subnets, DhcpHostItem[] hosts) =>
        DhcpConfiguration.Compute(subnets, hosts, Files, TimeSpan.FromDays(1));

    [Fact]
    public void The_seed_subnet_renders_to_the_expected_command_line_and_files()
    {
        var config = Compute(
            [Subnet("5f0c1d2e-aaaa-bbbb-cccc-000000000001", "10.65.0.0/24", "10.65.0.1", ["192.0.2.53", "192.0.2.54"],
                [("169.254.169.254/32", "10.65.0.1"), ("10.99.0.0/16", "10.65.0.254")], mtu: 1450)],
            [Host("12345678-9abc", "FA-16-3E-00-00-03", "10.65.0.3", "5f0c1d2e-aaaa-bbbb-cccc-000000000001"),
             Host("22345678-9abc", "fa:16:3e:00:00:02", "10.65.0.2", "5f0c1d2e-aaaa-bbbb-cccc-000000000001")]);

        Assert.Equal(
            """
            --conf-file=/dev/null
            --keep-in-foreground
            --no-hosts
            --no-resolv
            --port=0
            --bind-dynamic
            --interface=ns-dhcp
            --interface=tap*
            --bridge-interface=ns-dhcp,tap*
            --pid-file=/var/lib/calico/dhcp/dnsmasq.pid
            --dhcp-leasefile=/var/lib/calico/dhcp/dnsmasq.leases
            --dhcp-hostsfile=/var/lib/calico/dhcp/hosts
            --dhcp-optsfile=/var/lib/calico/dhcp/opts
            --log-facility=-
            --dhcp-range=set:s-5f0c1d2e-aaaa-bbbb-cccc-000000000001,10.65.0.0,static,255.255.255.0,86400
            """, string.Join('\n', config.Arguments));
        Assert.Equal(
            """
            # Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.
            fa:16:3e:00:00:02,10.65.0.2,host-10-65-0-2
            fa:16:3e:00:00:03,10.65.0.3,host-10-65-0-3

            """, config.HostsFile);
        Assert.Equal(
            """
            # Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.
            tag:s-5f0c1d2e-aaaa-bbbb-cccc-000000000001,option:router,10.65.0.1
            tag:s-5f0c1d2e-aaaa-bbbb-cccc-000000000001,option:dns-server,192.0.2.53,192.0.2.54
            tag:s-5f0c1d2e-aaaa-bbbb-cccc-000000000001,option:classless-static-route,169.254.169.254/32,10.65.0.1,10.99.0.0/16,10.65.0.254,0.0.0.0/0,10.65.0.1
            tag:s-5f0c1d2e-aaaa-bbbb-cccc-000000000001,249,169.254.169.254/32,10.65.0.1,10.99.0.0/16,10.65.0.254,0.0.0.0/0,10.65.0.1
            tag:s-5f0c1d2e-aaaa-bbbb-cccc-000000000001,option:mtu,1450

            """, config.OptionsFile);
        Assert.Empty(config.EndpointProblems);
        Assert.Equal(["12345678-9abc", "22345678-9abc"], config.EndpointsBySubnet["5f0c1d2e-aaaa-bbbb-cccc-000000000001"].Order());
    }

    [Fact]
    public void A_ports_own_options_follow_its_subnets_under_its_own_tag_and_only_ipv4_ones_are_served()
    {
        const string subnet = "5f0c1d2e-aaaa-bbbb-cccc-000000000001";
        var pxe = Host("12345678-9abc", "fa:16:3e:00:00:03", "10.65.0.3", subnet, hostname: "vm-one") with
        {
            Options = ValueList.Create(new ExtraDhcpOption("bootfile-name", "pxelinux.0"), new ExtraDhcpOption("150", "192.0.2.7"),
                new ExtraDhcpOption("dns-server", "2001:db8::53", 6), new ExtraDhcpOption("bad name", "x")),
        };
        var config = Compute([Subnet(subnet, "10.65.0.0/24", "10.65.0.1")], [pxe, Host("22345678-9abc", "fa:16:3e:00:00:02", "10.65.0.2", subnet)]);

        Assert.Equal(
            """
            # Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.
            fa:16:3e:00:00:02,10.65.0.2,host-10-65-0-2
            fa:16:3e:00:00:03,set:p-12345678-9abc,10.65.0.3,vm-one

            """, config.HostsFile);
        Assert.EndsWith(
            """
            tag:s-5f0c1d2e-aaaa-bbbb-cccc-000000000001,option:mtu,1500
            tag:p-12345678-9abc,option:bootfile-name,pxelinux.0
            tag:p-12345678-9abc,150,192.0.2.7

            """, config.OptionsFile, StringComparison.Ordinal);
        // An option dnsmasq cannot take is left out and said on the port; the rest is served.
        Assert.Contains("opt_name 'bad name' must be a DHCP option name or number", config.EndpointProblems["12345678-9abc"], StringComparison.Ordinal);
    }

    [Fact]
    public void Several_subnets_are_ordered_by_id_each_with_its_own_tag_range_and_options()
    {
        var config = Compute(
            [Subnet("sub-b", "10.66.0.0/26", "10.66.0.62"), Subnet("sub-a", "10.65.0.0/24", "10.65.0.1", ["10.0.0.2"], mtu: 0)],
            [Host("p1", "fa:16:3e:00:00:01", "10.66.0.10", "sub-b", "web-1"), Host("p2", "fa:16:3e:00:00:02", "10.65.0.9", "sub-a", "db")]);

        Assert.Equal(
            [
                "--dhcp-range=set:s-sub-a,10.65.0.0,static,255.255.255.0,86400",
                "--dhcp-range=set:s-sub-b,10.66.0.0,static,255.255.255.192,86400",
            ], config.Arguments.Where(a => a.StartsWith("--dhcp-range", StringComparison.Ordinal)));
        Assert.Equal(
            """
            # Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.
            fa:16:3e:00:00:02,10.65.0.9,db
            fa:16:3e:00:00:01,10.66.0.10,web-1

            """, config.HostsFile);
        // No host routes: the router option alone; MTU 0 means none is sent; no DNS servers, none sent (no DNS of our own).
        Assert.Equal(
            """
            # Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.
            tag:s-sub-a,option:router,10.65.0.1
            tag:s-sub-a,option:dns-server,10.0.0.2
            tag:s-sub-b,option:router,10.66.0.62
            tag:s-sub-b,option:mtu,1500

            """, config.OptionsFile);
    }

    [Fact]
    public void An_explicit_default_host_route_replaces_the_one_via_the_gateway()
    {
        var config = Compute([Subnet("s", "10.65.0.0/24", "10.65.0.1", routes: [("0.0.0.0/0", "10.65.0.254")])], []);
        Assert.Contains("tag:s-s,option:classless-static-route,0.0.0.0/0,10.65.0.254\n", config.OptionsFile, StringComparison.Ordinal);
    }

    [Fact]
    public void Subnets_that_cannot_be_served_are_reported_on_their_ports_and_ipv6_ones_without_a_mode_left_aside()
    {
        var config = Compute(
            [
                Subnet("no-gw", "10.70.0.0/24", null),
                Subnet("v6", "fd00:65::/64", "fd00:65::1"),
                Subnet("a", "10.65.0.0/24", "10.65.0.1"),
                Subnet("b-overlaps", "10.65.0.0/25", "10.65.0.126"),
            ],
            [
                Host("p-nogw", "fa:16:3e:00:00:01", "10.70.0.5", "no-gw"),
                Host("p-v6", "fa:16:3e:00:00:02", "fd00:65::5", "v6"),
                Host("p-overlap", "fa:16:3e:00:00:03", "10.65.0.5", "b-overlaps"),
                Host("p-unknown", "fa:16:3e:00:00:04", "10.80.0.5", "not-desired"),
                Host("p-ok", "fa:16:3e:00:00:05", "10.65.0.6", "a"),
            ]);

        Assert.Equal(["a"], config.Subnets.Select(s => s.SubnetId));
        Assert.Single(config.Arguments, a => a.StartsWith("--dhcp-range", StringComparison.Ordinal));
        Assert.Contains("subnet no-gw (10.70.0.0/24) has no gateway address", config.EndpointProblems["p-nogw"], StringComparison.Ordinal);
        Assert.Equal(["v6"], config.Ipv6Subnets);
        Assert.False(config.EndpointProblems.ContainsKey("p-v6"));
        Assert.Contains("overlaps subnet a (10.65.0.0/24), which is served", config.EndpointProblems["p-overlap"], StringComparison.Ordinal);
        Assert.Contains("subnet not-desired is not a DHCP subnet of this host", config.EndpointProblems["p-unknown"], StringComparison.Ordinal);
        Assert.False(config.EndpointProblems.ContainsKey("p-ok"));
        Assert.Equal(
            """
            # Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.
            fa:16:3e:00:00:05,10.65.0.6,host-10-65-0-6

            """, config.HostsFile);
    }

    [Fact]
    public void Values_from_the_control_plane_cannot_inject_lines_or_options()
    {
        var config = Compute(
            [Subnet("evil,id:x\nline", "10.65.0.0/24", "10.65.0.1")],
            [
                Host("p1", "fa:16:3e:00:00:01", "10.65.0.2", "evil,id:x\nline", "name,ignore\nfa:16:3e:00:00:09"),
                Host("p2", "fa:16:3e:00:00:02\n", "10.65.0.3", "evil,id:x\nline"),
                Host("p3", "not-a-mac", "10.65.0.4", "evil,id:x\nline"),
                Host("p4", "fa:16:3e:00:00:04", "10.66.0.4", "evil,id:x\nline"),
                Host("p5", "fa:16:3e:00:00:05", "10.65.0.2", "evil,id:x\nline"),
            ]);

        var tag = config.Subnets.Single().Tag;
        Assert.Matches("^s-[0-9a-f]{16}$", tag);
        Assert.Equal(
            """
            # Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.
            fa:16:3e:00:00:01,10.65.0.2
            fa:16:3e:00:00:02,10.65.0.3,host-10-65-0-3

            """, config.HostsFile);
        Assert.Contains("'not-a-mac' is not an Ethernet MAC address", config.EndpointProblems["p3"], StringComparison.Ordinal);
        Assert.Contains("10.66.0.4 is not served: it is outside subnet", config.EndpointProblems["p4"], StringComparison.Ordinal);
        Assert.Contains("port p1 has a static lease for it", config.EndpointProblems["p5"], StringComparison.Ordinal);
        Assert.All(config.OptionsFile.Split('\n').Skip(1).Where(l => l.Length > 0), line => Assert.StartsWith($"tag:{tag},", line, StringComparison.Ordinal));
    }

    [Fact]
    public void A_port_with_two_addresses_in_one_subnet_gets_the_lowest_by_dhcp()
    {
        var config = Compute([Subnet("a", "10.65.0.0/24", "10.65.0.1")],
            [Host("p", "fa:16:3e:00:00:01", "10.65.0.9", "a"), Host("p", "fa:16:3e:00:00:01", "10.65.0.7", "a")]);
        Assert.Equal("fa:16:3e:00:00:01,10.65.0.7,host-10-65-0-7\n", config.HostsFile.Split('\n', 2)[1]);
        Assert.Empty(config.EndpointProblems);
    }

    [Fact]
    public void Files_live_in_a_directory_per_network_namespace()
    {
        Assert.Equal("/var/lib/calico/dhcp/dnsmasq.pid", DnsmasqFiles.For(new DhcpOptions(), networkNamespace: null).PidFile);
        Assert.Equal("/srv/dhcp/netns/cal-h1/hosts",
            DnsmasqFiles.For(new DhcpOptions { DhcpStateDirectory = "/srv/dhcp" }, networkNamespace: "cal-h1").HostsFile);
    }

    [Fact]
    public void Ipv6_subnets_get_router_advertisements_by_their_mode_and_stateful_ones_static_dhcpv6_leases()
    {
        var config = Compute(
            [Subnet("v4", "10.65.0.0/24", "10.65.0.1"),
             Subnet("v6-slaac", "2001:db8:1::/64", "2001:db8:1::1", ["2001:db8::53"], ipv6Mode: "slaac"),
             Subnet("v6-stateless", "2001:db8:2::/64", "2001:db8:2::1", ["2001:db8::53", "192.0.2.53"], mtu: 1450, ipv6Mode: "dhcpv6-stateless"),
             Subnet("v6-stateful", "2001:db8:3::/64", "2001:db8:3::1", ipv6Mode: "dhcpv6-stateful"),
             Subnet("v6-static", "2001:db8:4::/64", "2001:db8:4::1"),
             Subnet("v6-short", "2001:db8:5::/56", "2001:db8:5::1", ipv6Mode: "dhcpv6-stateful")],
            [Host("12345678-9abc", "fa:16:3e:00:00:03", "10.65.0.3", "v4"),
             Host("12345678-9abc", "fa:16:3e:00:00:03", "2001:db8:1:0:f816:3eff:fe00:3", "v6-slaac"),
             Host("12345678-9abc", "fa:16:3e:00:00:03", "2001:db8:3::5", "v6-stateful", "vm-3"),
             Host("22345678-9abc", "fa:16:3e:00:00:04", "2001:db8:4::5", "v6-static"),
             Host("32345678-9abc", "fa:16:3e:00:00:05", "2001:db8:5::5", "v6-short")]);

        Assert.Equal(
            """
            --dhcp-range=set:s-v4,10.65.0.0,static,255.255.255.0,86400
            --dhcp-range=set:s-v6-slaac,2001:db8:1::,ra-only,off-link,64,86400
            --dhcp-range=set:s-v6-stateful,2001:db8:3::,static,off-link,64,86400
            --dhcp-range=set:s-v6-stateless,2001:db8:2::,ra-stateless,off-link,64,86400
            --enable-ra
            --ra-param=ns-dhcp,mtu:1450,0
            """, string.Join('\n', config.Arguments.SkipWhile(a => !a.StartsWith("--dhcp-range", StringComparison.Ordinal))));
        // Only the stateful subnet's address is a lease; SLAAC's is formed by the workload itself.
        Assert.Equal(
            """
            # Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.
            fa:16:3e:00:00:03,10.65.0.3,host-10-65-0-3
            fa:16:3e:00:00:03,[2001:db8:3::5],vm-3

            """, config.HostsFile);
        Assert.Equal(
            """
            # Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.
            tag:s-v4,option:router,10.65.0.1
            tag:s-v4,option:mtu,1500
            tag:s-v6-slaac,option6:dns-server,[2001:db8::53]
            tag:s-v6-stateless,option6:dns-server,[2001:db8::53]

            """, config.OptionsFile);
        Assert.Equal(["v4", "v6-slaac", "v6-stateful", "v6-stateless"], config.Subnets.Select(s => s.SubnetId));
        Assert.Equal(["v6-static"], config.Ipv6Subnets);
        Assert.Equal("DHCP for 2001:db8:5::5 is not served: subnet v6-short (2001:db8:5::/56): router advertisements and DHCPv6 serve prefixes of /64 or longer",
            config.EndpointProblems["32345678-9abc"]);
        Assert.False(config.EndpointProblems.ContainsKey("22345678-9abc"));
        Assert.Equal(
            [
                "router advertisements on tap*: 2001:db8:1::/64 slaac (ra-only,off-link; default route via each tap's link-local address)",
                "router advertisements on tap*: 2001:db8:3::/64 dhcpv6-stateful (static,off-link; default route via each tap's link-local address)",
                "router advertisements on tap*: 2001:db8:2::/64 dhcpv6-stateless (ra-stateless,off-link; default route via each tap's link-local address)",
            ], config.RouterAdvertisements);
    }

    [Fact]
    public void Dhcp_options_are_validated_with_messages_that_say_how_to_fix_them()
    {
        var result = new DhcpOptionsValidator().Validate(null, new DhcpOptions
        {
            DhcpStateDirectory = "relative/dir",
            DnsmasqPath = " ",
            DhcpLeaseTime = TimeSpan.FromSeconds(30),
            DhcpRestartDelay = TimeSpan.Zero,
            DhcpMaxRestartDelay = TimeSpan.FromSeconds(-1),
        });
        Assert.True(result.Failed);
        var message = result.FailureMessage;
        Assert.Contains("Dataplane:DhcpStateDirectory 'relative/dir' must be an absolute path", message, StringComparison.Ordinal);
        Assert.Contains("Dataplane:DnsmasqPath", message, StringComparison.Ordinal);
        Assert.Contains("Dataplane:DhcpLeaseTime 00:00:30 must be at least 00:02:00", message, StringComparison.Ordinal);
        Assert.Contains("Dataplane:DhcpRestartDelay must be positive", message, StringComparison.Ordinal);
        Assert.Contains("Dataplane:DhcpMaxRestartDelay", message, StringComparison.Ordinal);
        Assert.True(new DhcpOptionsValidator().Validate(null, new DhcpOptions()).Succeeded);
        Assert.True(new DhcpOptionsValidator().Validate(null, new DhcpOptions { DhcpStateDirectory = "/" }).Failed);
    }

    [Fact]
    public void Restart_backoff_doubles_is_capped_and_starts_over_after_a_healthy_run()
    {
        var backoff = new RestartBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        var delays = Enumerable.Range(0, 6).Select(_ => backoff.Next(TimeSpan.Zero).TotalSeconds).ToList();
        Assert.Equal([1, 2, 4, 8, 10, 10], delays);
        Assert.Equal(1, backoff.Next(TimeSpan.FromSeconds(10)).TotalSeconds);
        Assert.Equal(2, backoff.Next(TimeSpan.FromSeconds(3)).TotalSeconds);
        var huge = new RestartBackoff(TimeSpan.FromDays(1), TimeSpan.FromDays(2));
        for (var i = 0; i < 100; i++) Assert.True(huge.Next(TimeSpan.Zero) <= TimeSpan.FromDays(2));
    }
}
