using System.Net;
using Calico.Dataplane.Linux.Tests.Dhcp;
using Calico.Dataplane.Linux.Tests.Policy;
using Calico.Model.Desired;
using Calico.Model.Resources;

namespace Calico.Dataplane.Linux.Tests.Ipv6;

/// <summary>
/// IPv6 end to end on the real kernel, dnsmasq and dhclient, in namespaces of the test's own (<see cref="Ipv6Lab"/>):
/// guests get their address as their subnet's mode says and their default route from the host's router advertisement,
/// hosts route each other's guests via their IPv6 addresses, and security groups and anti-spoofing hold for IPv6.
/// </summary>
public sealed class Ipv6KernelTests : IDisposable
{
    private readonly Ipv6Lab _lab;

    public Ipv6KernelTests(Xunit.Abstractions.ITestOutputHelper output) => _lab = new Ipv6Lab(output);

    public void Dispose() => _lab.Dispose();

    [Theory]
    [InlineData("slaac")]
    [InlineData("dhcpv6-stateless")]
    [InlineData("dhcpv6-stateful")]
    public async Task Two_vms_on_two_hosts_get_their_addresses_by_the_subnets_mode_and_reach_each_other(string mode)
    {
        var stateful = mode == "dhcpv6-stateful";
        _lab.Network(mode);
        // Stateful: A's guest in A's block (routed whole via A), B's outside any block (a /128 via B). SLAAC: EUI-64
        // addresses, outside every block, so /128s.
        if (stateful) _lab.Block("2001:db8:1::/122", _lab.A);
        var vmA = _lab.AddVm(_lab.A, "port-a-0001", 3, stateful ? "2001:db8:1::5" : null);
        var vmB = _lab.AddVm(_lab.B, "port-b-0001", 4, stateful ? "2001:db8:1::1:7" : null);
        await _lab.ApplyAsync();

        // What the control plane computed: each host routes the other's guest via its IPv6 address.
        var routesOnB = _lab.Engine.Snapshot(_lab.B.Name).Values.OfType<RouteItem>().ToList();
        Assert.Contains(routesOnB, r => r.Kind == RouteKind.ViaHost && r.Gateway!.Equals(_lab.A.Ipv6Address)
            && r.Destination.ToString() == (stateful ? "2001:db8:1::/122" : $"{vmA.Address}/128"));
        Assert.Contains($"via {_lab.A.Ipv6Address}", _lab.B.Ns.Ip("-6", "route", "show", "proto", "80"));
        Assert.Contains($"{vmA.Address} dev {vmA.Port.InterfaceName}", _lab.A.Ns.Ip("-6", "route", "show", "proto", "80"));

        foreach (var vm in new[] { vmA, vmB })
        {
            Ipv6Lab.Boot(vm);
            if (stateful)
            {
                // The router advertisement says managed (M): no SLAAC address, the address comes from DHCPv6.
                await DhcpLab.WaitUntil(() => Ipv6Lab.Routes(vm).Contains("default via fe80::", StringComparison.Ordinal) && Ipv6Lab.HasLinkLocal(vm),
                    TimeSpan.FromSeconds(30), "a default route from the host's router advertisement");
                var lease = Ipv6Lab.StartDhcpv6Client(vm, informationOnly: false);
                Assert.Equal(vm.Address.ToString(), lease["new_ip6_address"]);
                Assert.Equal("2001:db8::53", lease["new_dhcp6_name_servers"]);
            }
            await Ipv6Lab.WaitForAddress(vm, vm.Address, mode);
            if (mode == "dhcpv6-stateless")
            {
                var info = Ipv6Lab.StartDhcpv6Client(vm, informationOnly: true);
                Assert.Equal("2001:db8::53", info["new_dhcp6_name_servers"]);
            }
            // One global address only (stateful: no SLAAC one beside the lease), and the prefix advertised off-link:
            // no on-link route for the subnet, everything goes to the host's link-local address on the tap.
            Assert.Single(Ipv6Lab.Addresses(vm).Split('\n'), l => l.Contains("inet6", StringComparison.Ordinal));
            Assert.DoesNotContain("2001:db8:1::/64", Ipv6Lab.Routes(vm));
            var tapLinkLocal = vm.Port.Host == _lab.A.Name ? LinkLocalOf(_lab.A, vm) : LinkLocalOf(_lab.B, vm);
            Assert.Contains($"default via {tapLinkLocal} dev eth0", Ipv6Lab.Routes(vm));
            // The network's MTU, from the advertisement.
            Assert.Equal(Ipv6Lab.Mtu.ToString(System.Globalization.CultureInfo.InvariantCulture),
                vm.Ns.Exec("cat", "/proc/sys/net/ipv6/conf/eth0/mtu").Trim());
        }

        await DhcpLab.WaitUntil(() => Ipv6Lab.PingsAsync(vmA, vmB.Address).Result && Ipv6Lab.PingsAsync(vmB, vmA.Address).Result,
            TimeSpan.FromSeconds(20), "the guests to ping each other over IPv6");
        using var listener = PolicyLab.Listener.Tcp(vmB.Ns, vmB.Address, 8080);
        Assert.True(await PolicyLab.ConnectsAsync(vmA.Ns, vmB.Address, 8080), "TCP from A's guest to B's");
        Assert.True(await listener.SawAsync(vmA.Address), "B's guest saw A's guest's own address");
    }

    [Fact]
    public async Task An_ipv6_ingress_rule_lets_traffic_in_its_removal_blocks_it_and_a_spoofed_source_is_dropped()
    {
        _lab.Network("slaac");
        var vmA = _lab.AddVm(_lab.A, "port-a-0001", 3);
        var vmB = _lab.AddVm(_lab.B, "port-b-0001", 4);

        // `dataplane plan` (the same reconcilers): the IPv6 routes and the router advertisements, before and after.
        var plan = await _lab.A.Dataplane.PlanAsync(_lab.Engine.Snapshot(_lab.A.Name), CancellationToken.None);
        Assert.Contains($"add    route {vmA.Address}/128 dev {vmA.Port.InterfaceName} proto 80", plan);
        Assert.Contains($"add    route {vmB.Address}/128 via {_lab.B.Ipv6Address} proto 80", plan);
        Assert.Contains("add    address fe80::1/64 dev ns-dhcp noprefixroute", plan);
        Assert.Contains("serve  router advertisements on tap*: 2001:db8:1::/64 slaac (ra-only,off-link; default route via each tap's link-local address)", plan);
        await _lab.ApplyAsync();
        Assert.Empty(await _lab.A.Dataplane.PlanAsync(_lab.Engine.Snapshot(_lab.A.Name), CancellationToken.None));
        foreach (var vm in new[] { vmA, vmB })
        {
            Ipv6Lab.Boot(vm);
            await Ipv6Lab.WaitForAddress(vm, vm.Address, "SLAAC");
        }
        using var listener = PolicyLab.Listener.Tcp(vmB.Ns, IPAddress.IPv6Any, 8080);
        await DhcpLab.WaitUntil(() => Ipv6Lab.PingsAsync(vmA, vmB.Address).Result, TimeSpan.FromSeconds(20), "A's guest to ping B's with the ingress rule");
        Assert.True(await PolicyLab.ConnectsAsync(vmA.Ns, vmB.Address, 8080));

        // Anti-spoofing: an address the port does not have, used as source, is dropped on A's host before routing.
        var spoofed = IPAddress.Parse("2001:db8:1::bad");
        vmA.Ns.Ip("-6", "addr", "add", $"{spoofed}/128", "dev", "eth0", "nodad");
        Assert.False(await PolicyLab.ConnectsAsync(vmA.Ns, vmB.Address, 8080, from: spoofed));
        Assert.False(await listener.SawAsync(spoofed, 300));
        Assert.Contains("spoofed", _lab.A.Ns.Exec("nft", "list", "chain", "inet", "calico", "raw-prerouting"));
        // Gone again, so that the guest's own address is the only source it may pick below.
        vmA.Ns.Ip("-6", "addr", "del", $"{spoofed}/128", "dev", "eth0");

        // The group without its IPv6 ingress rule: B's guest is closed to A's, ping and TCP alike.
        _lab.Group(ingress: false);
        await _lab.ApplyAsync();
        Assert.False(await Ipv6Lab.PingsAsync(vmA, vmB.Address));
        Assert.False(await PolicyLab.ConnectsAsync(vmA.Ns, vmB.Address, 8080));

        // And back.
        _lab.Group(ingress: true);
        await _lab.ApplyAsync();
        await DhcpLab.WaitUntil(() => Ipv6Lab.PingsAsync(vmA, vmB.Address).Result, TimeSpan.FromSeconds(20), "A's guest to ping B's with the rule back");
        Assert.True(await PolicyLab.ConnectsAsync(vmA.Ns, vmB.Address, 8080));
    }

    /// <summary>The link-local address of the guest's tap on its host (the guest's default router).</summary>
    private static string LinkLocalOf(Ipv6Lab.Host host, Ipv6Lab.Guest guest)
    {
        var line = host.Ns.Ip("-6", "-o", "addr", "show", "dev", guest.Port.InterfaceName, "scope", "link");
        var start = line.IndexOf("inet6 ", StringComparison.Ordinal) + 6;
        return line[start..line.IndexOf('/', start)];
    }
}
