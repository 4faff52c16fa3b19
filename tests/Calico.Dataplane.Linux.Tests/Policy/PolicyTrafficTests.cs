using System.Net;
using Calico.Dataplane.Linux.Policy;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using static Calico.Dataplane.Linux.Tests.Policy.PolicySamples;
using static Calico.Dataplane.Linux.Tests.Policy.PolicyLab;

namespace Calico.Dataplane.Linux.Tests.Policy;

/// <summary>
/// Real packets through the compiled table, between namespaces these tests create (<see cref="PolicyLab"/>): what
/// security groups allow passes and the rest is dropped, spoofed sources are dropped, member changes take effect,
/// floating IPs and outgoing NAT translate, and workloads reach on the host only what they may.
/// </summary>
public sealed class PolicyTrafficTests : IDisposable
{
    private readonly PolicyLab _lab = new();

    public void Dispose() => _lab.Dispose();

    /// <summary>"web" (vm-a) serves TCP 80, UDP 5353 and ping; "client" (vm-b) accepts nothing; both send anything.</summary>
    private static DesiredItem[] WebAndClient() =>
    [
        LabState.VmA("web"),
        LabState.VmB("client"),
        Group("web", Ingress("http", IpProtocols.Tcp, 80, 80), Ingress("mdns", IpProtocols.Udp, 5353, 5353), Ingress("ping", IpProtocols.Icmp, 8),
            Egress("out")),
        Group("client", Egress("out")),
        Pool("pool", "10.65.0.0/16", outgoingNat: false),
    ];

    [Fact]
    public async Task Allowed_tcp_udp_and_icmp_pass_and_everything_else_is_dropped()
    {
        foreach (var port in new[] { 80, 81 }) _lab.ListenTcp(_lab.VmA, IPAddress.Any, port);
        _lab.ListenTcp(_lab.VmB, IPAddress.Any, 80);
        foreach (var port in new[] { 5353, 5354 }) _lab.ListenUdp(_lab.VmA, IPAddress.Any, port);
        var before = await Task.WhenAll(ConnectsAsync(_lab.Outside, A, 81), PingsAsync(_lab.Outside, B), ConnectsAsync(_lab.Outside, B, 80));
        Assert.Equal([true, true, true], before); // no policy yet: the lab itself routes

        _lab.Policy().Apply(State(WebAndClient()));

        var probes = new (string What, Task<bool> Probe, bool Expected)[]
        {
            ("outside -> a tcp 80", ConnectsAsync(_lab.Outside, A, 80), true),
            ("outside -> a udp 5353", AnsweredAsync(_lab.Outside, A, 5353), true),
            ("outside -> a ping", PingsAsync(_lab.Outside, A), true),
            ("b -> a tcp 80 (same host)", ConnectsAsync(_lab.VmB, A, 80), true),
            ("a -> outside ping (egress, and its reply)", PingsAsync(_lab.VmA, OutsideAddress), true),
            ("outside -> a tcp 81", ConnectsAsync(_lab.Outside, A, 81), false),
            ("outside -> a udp 5354", AnsweredAsync(_lab.Outside, A, 5354), false),
            ("b -> a tcp 81", ConnectsAsync(_lab.VmB, A, 81), false),
            ("outside -> b ping", PingsAsync(_lab.Outside, B), false),
            ("outside -> b tcp 80", ConnectsAsync(_lab.Outside, B, 80), false),
            ("a -> b tcp 80 (b accepts nothing)", ConnectsAsync(_lab.VmA, B, 80), false),
        };
        await Task.WhenAll(probes.Select(p => p.Probe));

        Assert.Equal(probes.Select(p => $"{p.What}: {p.Expected}"), probes.Select(p => $"{p.What}: {p.Probe.Result}"));
    }

    [Fact]
    public async Task A_spoofed_source_address_or_mac_is_dropped_and_an_allowed_pair_passes()
    {
        // Datagrams to an outside server that records sources: what arrives there was not dropped on the way. The
        // host routes the VIP to a's tap, so only the policy stands between a spoofed packet and the outside.
        var seen = _lab.ListenUdp(_lab.Outside, IPAddress.Any, 9000);
        var items = State(WebAndClient());
        var policy = _lab.Policy();
        policy.Apply(items);
        var vip = IPAddress.Parse("10.65.0.99");
        _lab.Host.Ip("route", "add", "10.65.0.99/32", "dev", TapA);
        _lab.VmA.Ip("addr", "add", "10.65.0.99/32", "dev", "eth0");
        _lab.VmA.Ip("addr", "add", "10.65.0.4/32", "dev", "eth0");

        await SendAsync(_lab.VmA, OutsideAddress, 9000, from: A);
        await SendAsync(_lab.VmA, OutsideAddress, 9000, from: vip);
        await SendAsync(_lab.VmA, OutsideAddress, 9000, from: B);
        Assert.True(await seen.SawAsync(A));
        Assert.False(await seen.SawAsync(vip, waitMs: 300));
        Assert.False(await seen.SawAsync(B, waitMs: 300));

        // The VIP as an allowed address pair (with the port's MAC): now a may use it, also for connections.
        var withPair = LabState.VmA("web") with { AllowedAddressPairs = ValueList.Create(Pair("10.65.0.99/32")) };
        Apply(policy, items, Set(withPair));
        await SendAsync(_lab.VmA, OutsideAddress, 9000, from: vip);
        Assert.True(await seen.SawAsync(vip));
        var atOutside = _lab.ListenTcp(_lab.Outside, IPAddress.Any, 9001);
        Assert.True(await ConnectsAsync(_lab.VmA, OutsideAddress, 9001, from: vip));
        Assert.True(await atOutside.SawAsync(vip));

        // Another MAC on a's interface is spoofing, whatever the address.
        _lab.VmA.Ip("link", "set", "eth0", "address", "fa:16:3e:00:00:66");
        Assert.False(await ConnectsAsync(_lab.VmA, OutsideAddress, 9001, from: A));
        _lab.VmA.Ip("link", "set", "eth0", "address", MacA);
        Assert.True(await ConnectsAsync(_lab.VmA, OutsideAddress, 9001, from: A));
    }

    [Fact]
    public async Task Without_port_security_a_workload_sends_from_any_source_and_receives_anything_while_its_peers_keep_their_policy()
    {
        // vm-a without port security (Neutron's port_security_enabled false: no groups); vm-b "client" accepts nothing.
        var seen = _lab.ListenUdp(_lab.Outside, IPAddress.Any, 9000);
        _lab.ListenTcp(_lab.VmA, IPAddress.Any, 81);
        _lab.ListenTcp(_lab.VmB, IPAddress.Any, 80);
        var open = LabState.VmA() with { PortSecurityOff = true };
        var items = State([open, LabState.VmB("client"), Group("client", Egress("out")), Pool("pool", "10.65.0.0/16", outgoingNat: false)]);
        var policy = _lab.Policy();
        policy.Apply(items);
        var other = IPAddress.Parse("10.65.0.99");
        _lab.Host.Ip("route", "add", "10.65.0.99/32", "dev", TapA);
        _lab.VmA.Ip("addr", "add", "10.65.0.99/32", "dev", "eth0");

        await SendAsync(_lab.VmA, OutsideAddress, 9000, from: other);
        Assert.True(await seen.SawAsync(other));
        Assert.True(await ConnectsAsync(_lab.Outside, A, 81));
        Assert.True(await ConnectsAsync(_lab.VmB, A, 81));
        // b's own policy still holds against a.
        Assert.False(await ConnectsAsync(_lab.VmA, B, 80));

        // Port security back on (with a group that allows nothing in): spoofing and inbound are dropped again.
        Apply(policy, items, Set(LabState.VmA("client")));
        var seenAfter = _lab.ListenUdp(_lab.Outside, IPAddress.Any, 9002);
        await SendAsync(_lab.VmA, OutsideAddress, 9002, from: A);
        Assert.True(await seenAfter.SawAsync(A));
        await SendAsync(_lab.VmA, OutsideAddress, 9002, from: other);
        Assert.False(await seenAfter.SawAsync(other, waitMs: 300));
        Assert.False(await ConnectsAsync(_lab.Outside, A, 81));
    }

    [Fact]
    public async Task A_remote_group_membership_change_takes_effect()
    {
        // b ("db") accepts 5432 from members of "web"; a is in "web" but not yet a member the host knows of.
        _lab.ListenTcp(_lab.VmB, IPAddress.Any, 5432);
        var items = State(
        [
            LabState.VmA("web"), LabState.VmB("db"),
            Group("web", Egress("out")),
            Group("db", Ingress("pg", IpProtocols.Tcp, 5432, 5432, remoteGroup: "web"), Egress("out")),
        ]);
        var policy = _lab.Policy();
        policy.Apply(items);
        Assert.False(await ConnectsAsync(_lab.VmA, B, 5432));

        var member = Member("web", "10.65.0.3");
        var added = Apply(policy, items, Set(member));
        Assert.Equal(1, added.Operations);
        Assert.True(await ConnectsAsync(_lab.VmA, B, 5432));
        Assert.False(await ConnectsAsync(_lab.Outside, B, 5432));

        Apply(policy, items, Remove(member));
        Assert.False(await ConnectsAsync(_lab.VmA, B, 5432));
    }

    [Fact]
    public async Task The_floating_ip_is_reachable_from_outside_and_outbound_traffic_leaves_from_it()
    {
        var atVm = _lab.ListenTcp(_lab.VmA, IPAddress.Any, 80);
        var atOutside = _lab.ListenTcp(_lab.Outside, IPAddress.Any, 9000);
        var items = State([.. WebAndClient(), Floating("172.24.4.10", "10.65.0.3", TapA)]);
        _lab.Policy().Apply(items);

        Assert.True(await PingsAsync(_lab.Outside, FloatingA));
        Assert.True(await ConnectsAsync(_lab.Outside, FloatingA, 80));
        Assert.True(await atVm.SawAsync(OutsideAddress));
        Assert.False(await ConnectsAsync(_lab.Outside, FloatingA, 81));

        Assert.True(await ConnectsAsync(_lab.VmA, OutsideAddress, 9000));
        Assert.True(await atOutside.SawAsync(FloatingA));
        Assert.False(await atOutside.SawAsync(A, waitMs: 0));
        // b has no floating IP and its pool no outgoing NAT: it leaves from its own address; a and b between
        // themselves see each other's fixed addresses.
        Assert.True(await ConnectsAsync(_lab.VmB, OutsideAddress, 9000));
        Assert.True(await atOutside.SawAsync(B));
        Assert.True(await ConnectsAsync(_lab.VmB, A, 80));
        Assert.True(await atVm.SawAsync(B));
    }

    [Fact]
    public async Task An_outgoing_nat_pool_is_masqueraded_only_when_leaving_the_pools()
    {
        var atOutside = _lab.ListenTcp(_lab.Outside, IPAddress.Any, 9000);
        var atVm = _lab.ListenTcp(_lab.VmA, IPAddress.Any, 80);
        var items = State(WebAndClient());
        var policy = _lab.Policy();
        policy.Apply(items);
        Apply(policy, items, Set(Pool("pool", "10.65.0.0/16", outgoingNat: true)));

        Assert.True(await ConnectsAsync(_lab.VmB, OutsideAddress, 9000));
        Assert.True(await atOutside.SawAsync(HostAddress));
        Assert.False(await atOutside.SawAsync(B, waitMs: 0));
        Assert.True(await ConnectsAsync(_lab.VmB, A, 80));
        Assert.True(await atVm.SawAsync(B));
    }

    [Fact]
    public async Task Workloads_reach_dhcp_dns_and_metadata_on_the_host_and_nothing_else()
    {
        _lab.ListenUdp(_lab.Host, IPAddress.Any, 53);
        _lab.ListenUdp(_lab.Host, IPAddress.Any, 67);
        _lab.ListenTcp(_lab.Host, IPAddress.Any, 2222);
        _lab.ListenTcp(_lab.Host, IPAddress.Any, 22);
        var metadata = _lab.ListenTcp(_lab.Outside, OutsideAddress, 8775);
        _lab.Policy().Apply(State(WebAndClient()));

        var probes = new (string What, Task<bool> Probe, bool Expected)[]
        {
            ("a -> host udp 53 (DNS)", AnsweredAsync(_lab.VmA, HostAddress, 53), true),
            ("a -> metadata 169.254.169.254:80", ConnectsAsync(_lab.VmA, PolicySettings.MetadataServiceAddress, 80), true),
            ("a -> host tcp 2222", ConnectsAsync(_lab.VmA, HostAddress, 2222), false),
            ("a -> host tcp 22 (failsafe is for other interfaces)", ConnectsAsync(_lab.VmA, HostAddress, 22), false),
            ("a -> host ping", PingsAsync(_lab.VmA, HostAddress), false),
            ("outside -> host tcp 22 (failsafe)", ConnectsAsync(_lab.Outside, HostAddress, 22), true),
            ("outside -> host tcp 2222 (host traffic is not ours)", ConnectsAsync(_lab.Outside, HostAddress, 2222), true),
        };
        await Task.WhenAll(probes.Select(p => p.Probe));

        Assert.Equal(probes.Select(p => $"{p.What}: {p.Expected}"), probes.Select(p => $"{p.What}: {p.Probe.Result}"));
        Assert.True(await metadata.SawAsync(A));
    }

    [Fact]
    public async Task An_administratively_down_workload_passes_nothing()
    {
        _lab.ListenTcp(_lab.VmA, IPAddress.Any, 80);
        var items = State(WebAndClient());
        var policy = _lab.Policy();
        policy.Apply(items);
        Assert.True(await PingsAsync(_lab.Outside, A));

        Apply(policy, items, Set(LabState.VmA("web") with { AdminUp = false }));

        var probes = await Task.WhenAll(PingsAsync(_lab.Outside, A), ConnectsAsync(_lab.Outside, A, 80), PingsAsync(_lab.VmA, OutsideAddress),
            PingsAsync(_lab.Host, A), AnsweredAsync(_lab.VmA, HostAddress, 53));
        Assert.Equal([false, false, false, false, false], probes);
    }

    [Fact]
    public async Task Ipv6_rules_apply_to_ipv6_traffic_and_ipv6_sources_are_checked_too()
    {
        _lab.EnableIpv6();
        var atVm = _lab.ListenTcp(_lab.VmA, IPAddress.IPv6Any, 80);
        _lab.ListenTcp(_lab.VmA, IPAddress.IPv6Any, 81);
        var seen = _lab.ListenUdp(_lab.Outside, IPAddress.IPv6Any, 9000);
        _lab.Policy().Apply(State(
        [
            PolicySamples.Endpoint(TapA, MacA, ["10.65.0.3", "fd00:65::3"], ["web6"]),
            Group("web6", Ingress("http6", IpProtocols.Tcp, 80, 80, etherType: EtherType.IPv6), Ingress("http4", IpProtocols.Tcp, 81, 81),
                Egress("out6", etherType: EtherType.IPv6)),
        ]));

        Assert.True(await ConnectsAsync(_lab.Outside, A6, 80));
        Assert.True(await atVm.SawAsync(IPAddress.Parse("fd00:18::1")));
        // Port 81 is open to IPv4 only.
        Assert.False(await ConnectsAsync(_lab.Outside, A6, 81));
        var spoofed = IPAddress.Parse("fd00:65::99");
        _lab.Host.Ip("-6", "route", "add", "fd00:65::99/128", "dev", TapA);
        _lab.VmA.Ip("-6", "addr", "add", "fd00:65::99/128", "dev", "eth0", "nodad");
        await SendAsync(_lab.VmA, Outside6, 9000, from: A6);
        await SendAsync(_lab.VmA, Outside6, 9000, from: spoofed);
        Assert.True(await seen.SawAsync(A6));
        Assert.False(await seen.SawAsync(spoofed, waitMs: 300));
    }

    private static Calico.Dataplane.Linux.Nftables.NftReconcileResult Apply(WorkloadPolicy policy, Dictionary<DesiredKey, DesiredItem> items, DesiredChange change)
    {
        DesiredDiff.ApplyTo(items, [change]);
        return policy.Apply(items, [change], isSnapshot: false);
    }
}
