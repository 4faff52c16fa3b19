using System.Diagnostics;
using System.Net;
using Calico.Dataplane.Linux.Bgp;
using Calico.Model.Desired;
using Calico.Model.Net;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Bgp;

/// <summary>BIRD's configuration as a pure function of the desired state: golden text, and BIRD itself parses it (`bird -p`).</summary>
public sealed class BirdConfigurationTests
{
    private static readonly BgpNodeItem Node = new(IPAddress.Parse("172.18.203.31"), 64512);

    /// <summary>The seed's source host: its block, a VM in it, an address borrowed outside it, a floating IP, two peers (one eBGP).</summary>
    private static Dictionary<DesiredKey, DesiredItem> Seed() => State(
        Node,
        new BgpPeerItem(IPAddress.Parse("172.18.203.44"), 64512, "h44"),
        new BgpPeerItem(IPAddress.Parse("172.18.204.2"), 65001, "tor-b"),
        Blackhole("10.65.0.0/26"),
        Local("10.65.0.2/32", "tap84637-ef"),
        Local("10.65.1.7/32", "tap12345-ab"),
        Local("fd00:65::2/128", "tap84637-ef"),
        new FloatingNatItem(IPAddress.Parse("172.24.4.10"), IPAddress.Parse("10.65.0.2"), "tap84637-ef", "fip-1"));

    private const string Golden = """
        # Written by the Calico compute agent from this host's desired state; rewritten on every change.
        router id 172.18.203.31;
        log stderr { info, remote, warning, error, auth, fatal, bug };
        # Full dates in `show protocols`, which the agent reads for the sessions' status.
        timeformat protocol iso long;
        graceful restart wait 120;

        # Into the kernel only what peers taught: the agent's own routes stay the agent's.
        filter calico_kernel_programming {
          if source = RTS_BGP then accept;
          reject;
        }

        # To peers only what this host announces.
        filter calico_export_to_bgp_peers {
          if proto = "calico_exports" then accept;
          reject;
        }

        protocol device {
          scan time 2;
        }

        # The host's own subnets (not its workloads), so that a peer's next hop on a shared segment resolves.
        protocol direct calico_direct {
          ipv4;
          interface -"tap*", -"ns-dhcp*", "*";
        }

        protocol kernel calico_kernel {
          learn;
          persist;
          scan time 2;
          graceful restart;
          merge paths on;
          ipv4 {
            import all;
            export filter calico_kernel_programming;
          };
        }

        # What this host announces: its blocks, its addresses outside them, its ports' floating IPs.
        protocol static calico_exports {
          ipv4;
          route 10.65.0.0/26 blackhole;
          route 10.65.1.7/32 blackhole;
          route 172.24.4.10/32 blackhole;
        }

        template bgp calico_peer {
          local 172.18.203.31 as 64512;
          multihop;
          graceful restart;
          connect delay time 2;
          connect retry time 5;
          error wait time 5,30;
          hold time 240;
          keepalive time 80;
          graceful restart time 120;
          ipv4 {
            import all;
            export filter calico_export_to_bgp_peers;
            gateway recursive;
            add paths on;
          };
        }

        protocol bgp Mesh_172_18_203_44 from calico_peer {
          description "host h44";
          neighbor 172.18.203.44 as 64512;
        }

        protocol bgp Mesh_172_18_204_2 from calico_peer {
          description "host tor-b";
          neighbor 172.18.204.2 as 65001;
        }

        """;

    [Fact]
    public void The_configuration_is_the_golden_text()
    {
        var config = BirdConfiguration.Compute(Seed(), "tap", new BgpOptions())!;
        Assert.Equal(Golden.ReplaceLineEndings("\n"), config.Text);
        // The block, the borrowed address (the VM inside the block is covered by it), the floating IP; IPv4 only.
        Assert.Equal(["10.65.0.0/26", "10.65.1.7/32", "172.24.4.10/32"], config.Exports.Select(p => p.ToString()));
        Assert.Equal(2, config.Peers.Count);
    }

    /// <summary>A route reflector with a client, a global eBGP peer with a password, a per-host eBGP peer asked to be multihop, an iBGP one.</summary>
    private static Dictionary<DesiredKey, DesiredItem> Peers() => State(
        Node with { RouteReflectorClusterId = IPAddress.Parse("224.0.0.1") },
        new BgpPeerItem(IPAddress.Parse("172.18.203.44"), 64512, "h44", RouteReflectorClient: true),
        new BgpPeerItem(IPAddress.Parse("172.18.203.1"), 65001, "", BgpPeerSource.Global, "s3cret"),
        new BgpPeerItem(IPAddress.Parse("10.9.0.1"), 65002, "", BgpPeerSource.Host, Multihop: true),
        new BgpPeerItem(IPAddress.Parse("10.9.0.2"), 64512, "", BgpPeerSource.Host));

    private const string PeersGolden = """

        protocol bgp Node_10_9_0_1 from calico_peer {
          description "peer of selected hosts";
          neighbor 10.9.0.1 as 65002;
        }

        protocol bgp Node_10_9_0_2 from calico_peer {
          description "peer of selected hosts";
          neighbor 10.9.0.2 as 64512;
        }

        protocol bgp Global_172_18_203_1 from calico_peer {
          description "global peer";
          neighbor 172.18.203.1 as 65001;
          direct;
          password "s3cret";
        }

        protocol bgp Mesh_172_18_203_44 from calico_peer {
          description "route reflector client h44";
          neighbor 172.18.203.44 as 64512;
          rr client;
          rr cluster id 224.0.0.1;
        }

        """;

    /// <summary>
    /// A live migration to this host: the VM's address (outside the host's block) is not announced while its route to
    /// the tap is on standby, and is once the agent has seen the VM arrive on the tap, before the control plane knows.
    /// </summary>
    [Fact]
    public void A_migrating_vms_address_is_announced_once_it_arrived_on_its_tap()
    {
        var state = Seed();
        var standby = RouteItem.Local(IpPrefix.Parse("10.65.2.9/32"), "tapmigr-01", standby: true);
        state[standby.Key] = standby;

        Assert.DoesNotContain(IpPrefix.Parse("10.65.2.9/32"), BirdConfiguration.Compute(state, "tap", new BgpOptions())!.Exports);
        var arrived = BirdConfiguration.Compute(state, "tap", new BgpOptions(), new HashSet<string> { "tapmigr-01" })!;
        Assert.Contains(IpPrefix.Parse("10.65.2.9/32"), arrived.Exports);
        Assert.Contains("10.65.2.9/32", arrived.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Operators_peers_and_route_reflector_clients_are_rendered_as_calico_does()
    {
        var config = BirdConfiguration.Compute(Peers(), "tap", new BgpOptions())!;
        var peers = config.Text[config.Text.IndexOf("\nprotocol bgp ", StringComparison.Ordinal)..];
        Assert.Equal(PeersGolden.ReplaceLineEndings("\n"), "\n" + peers[1..]);
        Assert.Equal(IPAddress.Parse("172.18.203.1"), BirdConfiguration.AddressOfProtocol("Global_172_18_203_1"));
        Assert.Null(BirdConfiguration.AddressOfProtocol("calico_kernel"));
        // A reflector passes its clients' routes on; another host only its own.
        Assert.Contains("  if proto = \"calico_exports\" then accept;\n  if source = RTS_BGP then accept;\n  reject;", config.Text);
        Assert.DoesNotContain("RTS_BGP then accept;\n  reject;\n}\n\nprotocol device", BirdConfiguration.Compute(Seed(), "tap", new BgpOptions())!.Text);
    }

    [Fact]
    public void Direct_mode_has_no_configuration_and_a_host_never_peers_with_itself()
    {
        var direct = Seed();
        direct.Remove(BgpNodeItem.NodeKey);
        Assert.Null(BirdConfiguration.Compute(direct, "tap", new BgpOptions()));

        var self = Seed();
        var own = new BgpPeerItem(Node.RouterId, 64512, "h31");
        self[own.Key] = own;
        Assert.DoesNotContain(BirdConfiguration.Compute(self, "tap", new BgpOptions())!.Peers, p => p.Address.Equals(Node.RouterId));
    }

    /// <summary>
    /// The seed's source host, dual stack: its IPv6 address, an IPv6 block with a VM in it, a SLAAC address outside it
    /// (/128), an IPv6 floating IP; peers: a dual-stack host, an IPv4-only host, an operator's IPv6 top-of-rack router
    /// (eBGP, with a password) and its IPv4 one.
    /// </summary>
    private static Dictionary<DesiredKey, DesiredItem> DualStack() => State(
        Node with { Ipv6Address = IPAddress.Parse("2001:db8:ff::31") },
        new BgpPeerItem(IPAddress.Parse("172.18.203.44"), 64512, "h44", Ipv6Address: IPAddress.Parse("2001:db8:ff::44")),
        new BgpPeerItem(IPAddress.Parse("172.18.203.45"), 64512, "h45"),
        new BgpPeerItem(IPAddress.Parse("2001:db8:ff::1"), 65001, "", BgpPeerSource.Global, "s3cret"),
        new BgpPeerItem(IPAddress.Parse("172.18.203.1"), 65001, "", BgpPeerSource.Global),
        Blackhole("10.65.0.0/26"),
        Blackhole("2001:db8:1::/122"),
        Local("10.65.0.2/32", "tap84637-ef"),
        Local("2001:db8:1::2/128", "tap84637-ef"),
        Local("2001:db8:1:0:f816:3eff:fe00:7/128", "tap12345-ab"),
        new FloatingNatItem(IPAddress.Parse("2001:db8:f::10"), IPAddress.Parse("2001:db8:1::2"), "tap84637-ef", "fip-6"));

    /// <summary>What only a dual-stack host has (the filter's line, its IPv6 announcements, its sessions), golden.</summary>
    private const string DualStackGolden = """
        filter calico_export_to_bgp_peers {
          if proto = "calico_exports" then accept;
          if proto = "calico_exports6" then accept;
          reject;
        }
        ---
        protocol static calico_exports6 {
          ipv6;
          route 2001:db8:1::/122 blackhole;
          route 2001:db8:1:0:f816:3eff:fe00:7/128 blackhole;
          route 2001:db8:f::10/128 blackhole;
        }
        ---
        protocol bgp Global_172_18_203_1 from calico_peer {
          description "global peer";
          neighbor 172.18.203.1 as 65001;
          direct;
        }

        protocol bgp Mesh_172_18_203_44 from calico_peer {
          description "host h44";
          neighbor 172.18.203.44 as 64512;
        }

        protocol bgp Mesh_172_18_203_45 from calico_peer {
          description "host h45";
          neighbor 172.18.203.45 as 64512;
        }

        # IPv6 sessions, from this host's IPv6 address: the next hop of the IPv6 routes it announces.
        ---
        protocol bgp Global_2001_db8_ff__1 from calico_peer6 {
          description "global peer";
          neighbor 2001:db8:ff::1 as 65001;
          direct;
          password "s3cret";
        }

        protocol bgp Mesh_2001_db8_ff__44 from calico_peer6 {
          description "host h44";
          neighbor 2001:db8:ff::44 as 64512;
        }

        """;

    [Fact]
    public void A_host_with_an_ipv6_address_announces_its_ipv6_routes_over_ipv6_sessions()
    {
        var config = BirdConfiguration.Compute(DualStack(), "tap", new BgpOptions())!;
        var text = config.Text;
        string Section(string from, string to)
        {
            var at = text.IndexOf(from, StringComparison.Ordinal);
            Assert.True(at >= 0, $"no '{from}' in:\n{text}");
            return text[at..text.IndexOf(to, at + from.Length, StringComparison.Ordinal)];
        }
        // The golden parts, in the file's order: the export filter, the IPv6 announcements, the IPv4 sessions, the IPv6 sessions.
        Assert.Equal(DualStackGolden.ReplaceLineEndings("\n").Replace("---\n", ""),
            Section("filter calico_export_to_bgp_peers", "protocol device").TrimEnd() + "\n"
            + Section("protocol static calico_exports6", "template bgp calico_peer {").TrimEnd() + "\n"
            + Section("protocol bgp Global_172_18_203_1", "template bgp calico_peer6")
            + text[text.IndexOf("protocol bgp Global_2001_db8_ff__1", StringComparison.Ordinal)..]);
        // The IPv6 table's kernel and direct protocols, and the IPv6 sessions' template, are the IPv4 ones for IPv6:
        // the same settings, the IPv6 channel, and the sessions start from the host's IPv6 address.
        Assert.Equal(Section("protocol direct calico_direct {", "# What this host announces").Replace("calico_direct {", "calico_direct6 {")
                .Replace("calico_kernel {", "calico_kernel6 {").Replace("ipv4", "ipv6"),
            Section("protocol direct calico_direct6 {", "# What this host announces"));
        Assert.Equal(Section("template bgp calico_peer {", "\nprotocol bgp").Replace("calico_peer {", "calico_peer6 {")
                .Replace("local 172.18.203.31", "local 2001:db8:ff::31").Replace("ipv4", "ipv6"),
            Section("template bgp calico_peer6 {", "\nprotocol bgp"));

        // The IPv6 block, the SLAAC address outside it (the VM's /128 inside the block is covered), the IPv6 floating IP.
        Assert.Equal(["2001:db8:1::/122", "2001:db8:1:0:f816:3eff:fe00:7/128", "2001:db8:f::10/128"], config.Exports6.Select(p => p.ToString()));
        Assert.Equal(["10.65.0.0/26"], config.Exports.Select(p => p.ToString()));
        // IPv6 sessions' names are Calico's, and read back to their address (the status falls back on them).
        Assert.Equal(IPAddress.Parse("2001:db8:ff::44"), BirdConfiguration.AddressOfProtocol("Mesh_2001_db8_ff__44"));
        Assert.Equal(IPAddress.Parse("2001:db8:0:0:1:2:3:4"), BirdConfiguration.AddressOfProtocol("Node_2001_db8_0_0_1_2_3_4"));
        Assert.Equal(IPAddress.Parse("10.0.0.1"), BirdConfiguration.AddressOfProtocol("Node_10_0_0_1"));
        Assert.Null(BirdConfiguration.AddressOfProtocol("Node_10_1"));
    }

    [Fact]
    public void A_host_without_an_ipv6_address_has_no_ipv6_table_nor_session_and_says_why()
    {
        var state = DualStack();
        state[BgpNodeItem.NodeKey] = Node;
        var config = BirdConfiguration.Compute(state, "tap", new BgpOptions())!;
        Assert.DoesNotContain("ipv6", config.Text);
        Assert.DoesNotContain("calico_exports6", config.Text);
        Assert.Empty(config.Exports6);
        Assert.Contains("# No IPv6 session with 2001:db8:ff::1: this host has no IPv6 address (Compute:Ipv6Address).", config.Text);
        // The IPv4 part is as for a host that never had one.
        Assert.Contains("protocol bgp Mesh_172_18_203_44 from calico_peer {\n  description \"host h44\";\n  neighbor 172.18.203.44 as 64512;\n}", config.Text);

        // A peer at the host's own IPv6 address is no session.
        var self = DualStack();
        var own = new BgpPeerItem(IPAddress.Parse("2001:db8:ff::31"), 64512, "", BgpPeerSource.Global);
        self[own.Key] = own;
        Assert.DoesNotContain("neighbor 2001:db8:ff::31", BirdConfiguration.Compute(self, "tap", new BgpOptions())!.Text);
    }

    [Fact]
    public void Bird_itself_parses_the_configuration()
    {
        if (!File.Exists("/usr/sbin/bird")) throw new InvalidOperationException("BIRD 2 is not installed: apt-get install bird2");
        var directory = Directory.CreateTempSubdirectory("cal-bird-parse-");
        try
        {
            var empty = State(Node);
            var alone6 = State(Node with { Ipv6Address = IPAddress.Parse("2001:db8:ff::31") });
            foreach (var (name, state) in new[] { ("seed", Seed()), ("alone", empty), ("peers", Peers()), ("dual-stack", DualStack()), ("alone6", alone6) })
            {
                var file = Path.Combine(directory.FullName, name + ".conf");
                File.WriteAllText(file, BirdConfiguration.Compute(state, "tap", new BgpOptions())!.Text);
                var start = new ProcessStartInfo("/usr/sbin/bird") { RedirectStandardError = true, RedirectStandardOutput = true };
                foreach (var a in new[] { "-p", "-c", file }) start.ArgumentList.Add(a);
                using var bird = Process.Start(start)!;
                var words = bird.StandardError.ReadToEnd() + bird.StandardOutput.ReadToEnd();
                bird.WaitForExit();
                Assert.True(bird.ExitCode == 0, $"bird -p -c {name}.conf: {words}");
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Options_that_cannot_work_are_refused_by_name()
    {
        var validator = new BgpOptionsValidator();
        Assert.Contains("Dataplane:BirdStateDirectory '/etc/bird'", validator.Validate(null, new BgpOptions { BirdStateDirectory = "/etc/bird" }).FailureMessage);
        Assert.Contains("unix socket", validator.Validate(null, new BgpOptions { BirdStateDirectory = "/" + new string('d', 70) }).FailureMessage);
        Assert.Contains("Dataplane:BgpHoldTime 00:00:02", validator.Validate(null, new BgpOptions { BgpHoldTime = TimeSpan.FromSeconds(2) }).FailureMessage);
        Assert.Contains("Dataplane:BirdGracefulRestartTime 01:10:00", validator.Validate(null, new BgpOptions { BirdGracefulRestartTime = TimeSpan.FromMinutes(70) }).FailureMessage);
        Assert.True(validator.Validate(null, new BgpOptions()).Succeeded);
        Assert.Equal("/srv/bird/netns/cal-h1/bird.ctl", BirdFiles.For(new BgpOptions { BirdStateDirectory = "/srv/bird" }, "cal-h1").Socket);
    }
}
