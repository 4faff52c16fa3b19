using Calico.Dataplane.Linux.Tests.Dhcp;
using System.Net;
using Calico.Model.Desired;
using Xunit.Abstractions;

namespace Calico.Dataplane.Linux.Tests.Bgp;

/// <summary>
/// Real BIRD (Debian's bird2) run by each host's agent, two hosts on one segment in BGP routing mode: a VM on one
/// reaches a VM on the other through routes learned over BGP only; a port deleted is withdrawn; a BIRD killed is
/// restarted by its supervisor while the routes stay in both kernels (graceful restart, persist); four hosts in full
/// mesh, then one of them their route reflector; and two racks behind a router, as an external route reflector (an
/// operator's global peer, mesh off) or as each rack's eBGP top-of-rack router (peers selected by label, with a
/// password). The sessions each agent reads from its BIRD are checked too. The waits are for
/// convergence (BGP's connect delay is 2 s), with generous deadlines; nothing is timed.
/// </summary>
public sealed class BgpKernelTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(60);
    private readonly BgpLab _lab = new(output);

    public void Dispose() => _lab.Dispose();

    [Fact]
    public async Task A_vm_reaches_a_vm_on_another_host_through_routes_learned_over_bgp_only()
    {
        var (a, b) = _lab.TwoHostsOnOneSegment();
        _lab.Block("10.65.0.0/26", a.Name);
        _lab.Block("10.65.0.64/26", b.Name);
        var vmA = _lab.AddVm(a, "port-a-0001", "10.65.0.2");
        var vmB = _lab.AddVm(b, "port-b-0001", "10.65.0.66");
        // An address outside its host's blocks (borrowed): announced as a /32.
        var borrowed = _lab.AddVm(a, "port-a-0002", "10.65.1.7");
        await _lab.ApplyAsync(a, b);

        // The control plane sent no route via another host; each agent holds only its own routes (proto 80).
        foreach (var host in new[] { a, b })
        {
            Assert.DoesNotContain(_lab.Engine.Snapshot(host.Name).Values, i => i is RouteItem { Kind: RouteKind.ViaHost });
            Assert.DoesNotContain("via", host.Ns.Ip("route", "show", "proto", "80"));
        }

        await DhcpLab.WaitUntil(() => BgpLab.Route(b, "10.65.0.0/26").Contains("proto bird") && BgpLab.Route(a, "10.65.0.64/26").Contains("proto bird")
            && BgpLab.Route(b, "10.65.1.7").Contains("proto bird"), Converge, "each host to learn the other's block over BGP");
        Assert.Contains("via 172.18.203.31", BgpLab.Route(b, "10.65.0.0/26"));
        Assert.Contains("via 172.18.203.44", BgpLab.Route(a, "10.65.0.64/26"));
        Assert.Contains("Established", BgpLab.Birdc(a, "show", "protocols", "Mesh_172_18_203_44"));
        // The status the agent reports: read from this BIRD's `show protocols all`, the peer's block and address received.
        var session = Assert.Single(a.Dataplane.ReadBgpSessions()!);
        Assert.Equal(("172.18.203.44", "Established", "Mesh_172_18_203_44"), (session.Peer.ToString(), session.State, session.Protocol));
        Assert.True(session.RoutesReceived >= 1, $"routes received: {session.RoutesReceived}");
        Assert.True(session.Since is { } since && since <= DateTimeOffset.Now && since > DateTimeOffset.Now.AddMinutes(-5), $"since {session.Since}");

        await DhcpLab.WaitUntil(() => BgpLab.Pings(vmA, vmB.Address) && BgpLab.Pings(vmB, vmA.Address) && BgpLab.Pings(vmB, borrowed.Address),
            Converge, "the VMs to reach each other");

        // The borrowed address's port is deleted: its /32 is withdrawn from the other host; the block stays.
        _lab.DeletePort("port-a-0002");
        await _lab.ApplyAsync(a);
        await DhcpLab.WaitUntil(() => BgpLab.Route(b, "10.65.1.7").Length == 0, Converge, "10.65.1.7/32 to be withdrawn from h44");
        Assert.Contains("proto bird", BgpLab.Route(b, "10.65.0.0/26"));
        Assert.True(BgpLab.Pings(vmB, vmA.Address));
    }

    [Fact]
    public async Task Dual_stack_hosts_in_full_mesh_hold_an_ipv6_session_beside_the_ipv4_one_and_route_ipv6_over_it()
    {
        var (a, b) = _lab.TwoHostsOnOneSegment(ipv6: true);
        _lab.Block("10.65.0.0/26", a.Name);
        _lab.Block("10.65.0.64/26", b.Name);
        _lab.Block("2001:db8:1::/122", a.Name);
        _lab.Block("2001:db8:1::40/122", b.Name);
        var vmA = _lab.AddVm(a, "port-a-0001", "10.65.0.2", "2001:db8:1::2");
        var vmB = _lab.AddVm(b, "port-b-0001", "10.65.0.66", "2001:db8:1::42");
        await _lab.ApplyAsync(a, b);

        // Each host's one mesh peer item gives two sessions: Mesh_172_18_203_44 and Mesh_2001_db8_ff__44.
        await DhcpLab.WaitUntil(() => a.Dataplane.ReadBgpSessions() is { Count: 2 } s && s.All(x => x.IsEstablished)
                && BgpLab.Route6(a, "2001:db8:1::40/122").Contains("proto bird") && BgpLab.Route6(b, "2001:db8:1::/122").Contains("proto bird"),
            Converge, "both mesh sessions established and the IPv6 blocks learned");
        Assert.Equal([("172.18.203.44", "Mesh_172_18_203_44"), ("2001:db8:ff::44", "Mesh_2001_db8_ff__44")],
            a.Dataplane.ReadBgpSessions()!.Select(x => (x.Peer.ToString(), x.Protocol)).Order());
        // The next hop is the other host's IPv6 address, on the segment.
        Assert.Contains("via 2001:db8:ff::44 dev eth0 proto bird", BgpLab.Route6(a, "2001:db8:1::40/122"));
        Assert.Contains("via 2001:db8:ff::31 dev eth0 proto bird", BgpLab.Route6(b, "2001:db8:1::/122"));
        await DhcpLab.WaitUntil(() => BgpLab.Pings(vmA, vmB.Ipv6Address!) && BgpLab.Pings(vmB, vmA.Ipv6Address!), Converge, "the VMs to reach each other over IPv6");
    }

    [Fact]
    public async Task A_killed_bird_is_restarted_and_no_route_is_withdrawn_meanwhile()
    {
        var (a, b) = _lab.TwoHostsOnOneSegment();
        _lab.Block("10.65.0.0/26", a.Name);
        _lab.Block("10.65.0.64/26", b.Name);
        var vmA = _lab.AddVm(a, "port-a-0001", "10.65.0.2");
        var vmB = _lab.AddVm(b, "port-b-0001", "10.65.0.66");
        await _lab.ApplyAsync(a, b);
        await DhcpLab.WaitUntil(() => BgpLab.Route(b, "10.65.0.0/26").Contains("proto bird") && BgpLab.Route(a, "10.65.0.64/26").Contains("proto bird"),
            Converge, "each host to learn the other's block over BGP");
        var before = BgpLab.BirdPid(a)!.Value;

        TestNamespace.Run("kill", "-KILL", before.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // Until A's new BIRD is back in session with B, both kernels keep the routes: B holds A's as stale (graceful
        // restart), A's kernel keeps what its BIRD put there (persist).
        var samples = 0;
        await DhcpLab.WaitUntil(() =>
        {
            samples++;
            Assert.Contains("proto bird", BgpLab.Route(b, "10.65.0.0/26"));
            Assert.Contains("proto bird", BgpLab.Route(a, "10.65.0.64/26"));
            return BgpLab.BirdPid(a) is { } now && now != before
                && BgpLab.Birdc(a, "show", "protocols", "Mesh_172_18_203_44").Contains("Established");
        }, Converge, "h31's BIRD to be restarted by its supervisor and back in session");
        Assert.True(samples > 1);
        // The restart is the supervisor's: one BIRD of ours, with our socket; and B's routes are A's again.
        Assert.Single(DhcpLab.Processes(a.Files.PidFile));
        await DhcpLab.WaitUntil(() => BgpLab.Pings(vmA, vmB.Address), Converge, "the VMs to reach each other after the restart");
        Assert.Contains("proto bird", BgpLab.Route(b, "10.65.0.0/26"));
    }

    [Fact]
    public async Task A_host_that_goes_away_is_withdrawn_by_its_peers_when_the_hold_time_ends()
    {
        _lab.HoldTime = TimeSpan.FromSeconds(3);
        _lab.GracefulRestartTime = TimeSpan.FromSeconds(30);
        var (a, b) = _lab.TwoHostsOnOneSegment();
        _lab.Block("10.65.0.0/26", a.Name);
        _lab.Block("10.65.0.64/26", b.Name);
        await _lab.ApplyAsync(a, b);
        await DhcpLab.WaitUntil(() => BgpLab.Route(b, "10.65.0.0/26").Contains("proto bird"), Converge, "h44 to learn h31's block");
        Assert.Contains("hold time 3;", File.ReadAllText(a.Files.ConfigFile));

        // h31 goes away as a machine that hangs or loses power does: its agent gone, its BIRD frozen (SIGSTOP), so
        // nothing closes the session and no keepalive comes. h44's link stays up: only BGP can tell it.
        var pid = BgpLab.BirdPid(a)!.Value;
        a.Dataplane.Dispose();
        TestNamespace.Run("kill", "-STOP", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

        await DhcpLab.WaitUntil(() => BgpLab.Route(b, "10.65.0.0/26").Length == 0, Converge,
            "h44 to withdraw h31's block when the hold time ends (a hold timer that expires is no restart: no stale routes are kept)");
        Assert.DoesNotContain("Established", BgpLab.Birdc(b, "show", "protocols", "Mesh_172_18_203_31"));
        // h44's own block is untouched.
        Assert.Contains("blackhole", BgpLab.Route(b, "10.65.0.64/26"));
    }

    [Fact]
    public async Task A_restarted_agent_adopts_its_bird_and_direct_mode_stops_it_and_removes_its_routes()
    {
        var (a, b) = _lab.TwoHostsOnOneSegment();
        _lab.Block("10.65.0.0/26", a.Name);
        _lab.Block("10.65.0.64/26", b.Name);
        await _lab.ApplyAsync(a, b);
        await DhcpLab.WaitUntil(() => BgpLab.Route(a, "10.65.0.64/26").Contains("proto bird"), Converge, "h31 to learn h44's block");
        var pid = BgpLab.BirdPid(a)!.Value;

        // A new agent on h31 (the old one disposed: BIRD goes on) adopts the running BIRD: same pid.
        var restarted = _lab.Restart(a);
        await _lab.ApplyAsync(restarted);
        Assert.Equal(pid, BgpLab.BirdPid(restarted));
        Assert.Contains("proto bird", BgpLab.Route(restarted, "10.65.0.64/26"));

        // In direct mode the same agent runs no BIRD and leaves no BIRD route behind.
        var direct = _lab.Engine.Snapshot(restarted.Name).Where(kv => kv.Value is not (BgpNodeItem or BgpPeerItem)).ToDictionary();
        await restarted.Dataplane.ApplyAsync(direct, [.. direct.Values.Select(i => new DesiredChange(i.Key, i))], true, CancellationToken.None);
        Assert.False(DhcpLab.IsAlive(pid));
        Assert.Empty(restarted.Ns.Ip("route", "show", "proto", "bird").Trim());
        Assert.False(File.Exists(restarted.Files.ConfigFile));
        // h44's BIRD, in another namespace, is left alone.
        Assert.NotNull(BgpLab.BirdPid(b));
    }

    [Fact]
    public async Task A_vm_in_one_rack_reaches_a_vm_in_the_other_through_a_route_reflector()
    {
        var (a, b, router) = _lab.TwoRacksWithRouteReflector();
        _lab.Block("10.65.0.0/26", a.Name);
        _lab.Block("10.65.0.64/26", b.Name);
        var vmA = _lab.AddVm(a, "port-a-0001", "10.65.0.2");
        var vmB = _lab.AddVm(b, "port-b-0001", "10.65.0.66");
        await _lab.ApplyAsync(a, b);

        try
        {
            await DhcpLab.WaitUntil(() => BgpLab.Route(b, "10.65.0.0/26").Contains("proto bird") && BgpLab.Route(a, "10.65.0.64/26").Contains("proto bird")
                && router.Ip("route", "show", "10.65.0.0/26").Contains("proto bird") && router.Ip("route", "show", "10.65.0.64/26").Contains("proto bird"),
                Converge, "the racks' routes to reach the other rack and the router over BGP");
        }
        catch (TimeoutException)
        {
            output.WriteLine(BgpLab.Birdc(a, "show", "protocols") + BgpLab.Birdc(a, "show", "route", "all") + a.Ns.Ip("route") + router.Ip("route")
                + new Calico.Dataplane.Linux.Bgp.BirdControl("/usr/sbin/birdc", Path.Combine(_lab.Root, "tor.ctl")).Run("show", "protocols", "all"));
            throw;
        }
        // Another rack's block is reached through the rack's router: the next hop resolved recursively via the default route.
        Assert.Contains("via 10.0.1.1", BgpLab.Route(a, "10.65.0.64/26"));
        Assert.Contains("via 10.0.2.1", BgpLab.Route(b, "10.65.0.0/26"));
        Assert.DoesNotContain(_lab.Engine.Snapshot(a.Name).Values, i => i is RouteItem { Kind: RouteKind.ViaHost });
        await DhcpLab.WaitUntil(() => BgpLab.Pings(vmA, vmB.Address) && BgpLab.Pings(vmB, vmA.Address), Converge, "the VMs to reach each other across the racks");
        // Mesh off: each host's only session is the reflector (an operator's global peer), established.
        Assert.Equal([("10.0.1.1", "Global_10_0_1_1", "Established")], a.Dataplane.ReadBgpSessions()!.Select(s => (s.Peer.ToString(), s.Protocol, s.State)));
    }

    [Fact]
    public async Task A_dual_stack_vm_in_one_rack_reaches_one_in_the_other_over_ipv6_through_routes_learned_over_bgp_only()
    {
        var (a, b, router) = _lab.TwoRacksWithRouteReflector(ipv6: true);
        _lab.Block("10.65.0.0/26", a.Name);
        _lab.Block("10.65.0.64/26", b.Name);
        _lab.Block("2001:db8:1::/122", a.Name);
        _lab.Block("2001:db8:1::40/122", b.Name);
        var vmA = _lab.AddVm(a, "port-a-0001", "10.65.0.2", "2001:db8:1::2");
        var vmB = _lab.AddVm(b, "port-b-0001", "10.65.0.66", "2001:db8:1::42");
        // A SLAAC-style address, in no block: announced as a /128, and withdrawn with its port.
        var outside = _lab.AddVm(a, "port-a-0002", "10.65.0.3", "2001:db8:1:0:f816:3eff:fe00:7");
        await _lab.ApplyAsync(a, b);

        // The control plane sent no route via another host, IPv6 included: only BGP can teach the other rack's.
        foreach (var host in new[] { a, b })
        {
            Assert.DoesNotContain(_lab.Engine.Snapshot(host.Name).Values, i => i is RouteItem { Kind: RouteKind.ViaHost });
            Assert.DoesNotContain("via", host.Ns.Ip("-6", "route", "show", "proto", "80"));
        }
        // Each host's BIRD has its IPv6 session to the reflector's IPv6 address, from the host's own.
        var configA = File.ReadAllText(a.Files.ConfigFile);
        Assert.Contains("local 2001:db8:a::2 as 64512;", configA);
        Assert.Contains("protocol bgp Global_2001_db8_a__1 from calico_peer6", configA);
        Assert.Contains("route 2001:db8:1:0:f816:3eff:fe00:7/128 blackhole;", configA);
        try
        {
            await DhcpLab.WaitUntil(() => BgpLab.Route6(b, "2001:db8:1::/122").Contains("proto bird") && BgpLab.Route6(a, "2001:db8:1::40/122").Contains("proto bird")
                && BgpLab.Route6(b, "2001:db8:1:0:f816:3eff:fe00:7").Contains("proto bird")
                && router.Ip("-6", "route", "show", "2001:db8:1::/122").Contains("proto bird"),
                Converge, "the racks' IPv6 blocks to reach the other rack and the router over BGP");
        }
        catch (TimeoutException)
        {
            output.WriteLine(BgpLab.Birdc(a, "show", "protocols", "all") + BgpLab.Birdc(a, "show", "route", "all") + a.Ns.Ip("-6", "route") + router.Ip("-6", "route")
                + new Calico.Dataplane.Linux.Bgp.BirdControl("/usr/sbin/birdc", Path.Combine(_lab.Root, "tor.ctl")).Run("show", "protocols", "all"));
            throw;
        }
        // Next hop: the other rack's host reached through this rack's router (the reflector keeps the next hop, the host's IPv6 address).
        Assert.Contains("via 2001:db8:a::1", BgpLab.Route6(a, "2001:db8:1::40/122"));
        Assert.Contains("via 2001:db8:b::1", BgpLab.Route6(b, "2001:db8:1::/122"));
        Assert.Contains("via 2001:db8:a::2", router.Ip("-6", "route", "show", "2001:db8:1::/122"));

        await DhcpLab.WaitUntil(() => BgpLab.Pings(vmA, vmB.Ipv6Address!) && BgpLab.Pings(vmB, vmA.Ipv6Address!) && BgpLab.Pings(vmB, outside.Ipv6Address!),
            Converge, "the VMs to reach each other over IPv6 across the racks");
        using (var listener = Calico.Dataplane.Linux.Tests.Policy.PolicyLab.Listener.Tcp(vmB.Ns, vmB.Ipv6Address!, 8080))
        {
            Assert.True(await Calico.Dataplane.Linux.Tests.Policy.PolicyLab.ConnectsAsync(vmA.Ns, vmB.Ipv6Address!, 8080), "TCP over IPv6 from rack A's VM to rack B's");
            Assert.True(await listener.SawAsync(vmA.Ipv6Address!), "rack B's VM saw rack A's VM's own IPv6 address");
        }
        // IPv4 still goes as before, over its own sessions.
        Assert.True(BgpLab.Pings(vmA, vmB.Address));

        // The sessions the agent reports: the reflector at its IPv4 and at its IPv6 address, both established.
        await DhcpLab.WaitUntil(() => a.Dataplane.ReadBgpSessions() is { Count: 2 } s && s.All(x => x.IsEstablished), Converge, "both sessions established");
        Assert.Equal([("10.0.1.1", "Global_10_0_1_1"), ("2001:db8:a::1", "Global_2001_db8_a__1")],
            a.Dataplane.ReadBgpSessions()!.Select(x => (x.Peer.ToString(), x.Protocol)).Order());
        Assert.True(a.Dataplane.ReadBgpSessions()!.Single(x => x.Peer.Equals(IPAddress.Parse("2001:db8:a::1"))).RoutesReceived >= 1);

        // The SLAAC-style address's port is deleted: its /128 is withdrawn from the other rack; the block stays.
        _lab.DeletePort("port-a-0002");
        await _lab.ApplyAsync(a);
        await DhcpLab.WaitUntil(() => BgpLab.Route6(b, "2001:db8:1:0:f816:3eff:fe00:7").Length == 0, Converge, "the /128 to be withdrawn from rack B");
        Assert.Contains("proto bird", BgpLab.Route6(b, "2001:db8:1::/122"));
        Assert.True(BgpLab.Pings(vmB, vmA.Ipv6Address!));
    }

    [Fact]
    public async Task Each_rack_peers_over_ebgp_with_its_top_of_rack_router_selected_by_label_with_a_password()
    {
        var (a, b, router) = _lab.TwoRacksWithTopOfRackRouters("rack-a-s3cret");
        _lab.Block("10.65.0.0/26", a.Name);
        _lab.Block("10.65.0.64/26", b.Name);
        var vmA = _lab.AddVm(a, "port-a-0001", "10.65.0.2");
        var vmB = _lab.AddVm(b, "port-b-0001", "10.65.0.66");
        await _lab.ApplyAsync(a, b);

        // Each host holds its own rack's router only, eBGP (its rack's AS against 65001), rack A's with its password.
        var configA = File.ReadAllText(a.Files.ConfigFile);
        Assert.Contains("protocol bgp Node_10_0_1_1 from calico_peer", configA);
        Assert.Contains("password \"rack-a-s3cret\";", configA);
        Assert.DoesNotContain("10.0.2.1", configA);
        Assert.DoesNotContain("password", File.ReadAllText(b.Files.ConfigFile));
        try
        {
            await DhcpLab.WaitUntil(() => BgpLab.Route(b, "10.65.0.0/26").Contains("proto bird") && BgpLab.Route(a, "10.65.0.64/26").Contains("proto bird"),
                Converge, "each rack's block to reach the other rack over eBGP");
        }
        catch (TimeoutException)
        {
            output.WriteLine(BgpLab.Birdc(a, "show", "protocols", "all") + BgpLab.Birdc(b, "show", "protocols", "all") + router.Ip("route"));
            throw;
        }
        // The router is the next hop (eBGP: next hop self), reached directly on the rack's segment.
        Assert.Contains("via 10.0.1.1", BgpLab.Route(a, "10.65.0.64/26"));
        Assert.Contains("via 10.0.2.1", BgpLab.Route(b, "10.65.0.0/26"));
        await DhcpLab.WaitUntil(() => BgpLab.Pings(vmA, vmB.Address) && BgpLab.Pings(vmB, vmA.Address), Converge, "the VMs to reach each other across the racks");
        var session = Assert.Single(a.Dataplane.ReadBgpSessions()!);
        Assert.Equal(("10.0.1.1", "Established"), (session.Peer.ToString(), session.State));
        Assert.True(session.RoutesReceived >= 1);
    }

    [Fact]
    public async Task Four_hosts_in_full_mesh_then_one_of_them_the_route_reflector_of_the_others()
    {
        var hosts = _lab.FourHostsOnOneSegment();
        var vms = hosts.Select((h, i) =>
        {
            _lab.Block($"10.65.{i}.0/26", h.Name);
            return _lab.AddVm(h, $"port-{h.Name}-0001", $"10.65.{i}.2");
        }).ToList();
        await _lab.ApplyAsync(hosts);

        bool AllRoutes() => hosts.Select((h, i) => (h, i)).All(x => hosts.Select((_, j) => j).Where(j => j != x.i)
            .All(j => BgpLab.Route(x.h, $"10.65.{j}.0/26").Contains($"via {hosts[j].Address} dev eth0 proto bird")));
        await DhcpLab.WaitUntil(() => AllRoutes() && hosts.All(h => h.Dataplane.ReadBgpSessions() is { Count: 3 } s && s.All(x => x.IsEstablished)),
            Converge, "every host to learn the three other blocks from its three established mesh sessions");
        await DhcpLab.WaitUntil(() => BgpLab.Pings(vms[0], vms[3].Address) && BgpLab.Pings(vms[2], vms[1].Address), Converge, "the VMs to reach each other");

        // h44 becomes a route reflector: the others keep one session, to it; it reflects their routes (next hops kept).
        var reflector = hosts[3];
        _lab.Store(new Calico.Model.Resources.HostSpec(reflector.Name, reflector.Address, null, null, Calico.Model.Collections.ValueMap.Empty,
            System.Net.IPAddress.Parse("224.0.0.1")), reflector.Name);
        await _lab.ApplyAsync(hosts);
        var reflectorConfig = File.ReadAllText(reflector.Files.ConfigFile);
        Assert.Equal(3, reflectorConfig.Split("rr client;").Length - 1);
        Assert.Contains("rr cluster id 224.0.0.1;", reflectorConfig);
        try
        {
            await DhcpLab.WaitUntil(() => AllRoutes()
                    && hosts[..3].All(h => h.Dataplane.ReadBgpSessions() is [{ IsEstablished: true } only] && only.Peer.Equals(reflector.Address)),
                Converge, "the clients to hold one session, to the reflector, and still every block");
        }
        catch (TimeoutException)
        {
            foreach (var h in hosts) output.WriteLine($"--- {h.Name}\n" + BgpLab.Birdc(h, "show", "protocols") + h.Ns.Ip("route"));
            throw;
        }
        Assert.True(BgpLab.Pings(vms[0], vms[2].Address));
    }
}
