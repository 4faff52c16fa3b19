using System.Net;
using System.Text.Json.Nodes;
using Calico.EndToEnd.Tests.Fixtures;
using Calico.Topology;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;
using Xunit.Abstractions;

namespace Calico.EndToEnd.Tests;

/// <summary>Two hosts (each registered with its fabric IPv6 address, fd00:18:203::31 and ::44), policy on.</summary>
public sealed class Ipv6TopologyFixture : TopologyFixture;

/// <summary>
/// IPv6 through the whole system: a dual-stack network made through the Neutron API, VMs whose IPv6 addresses come
/// from their hosts' router advertisements as the subnet's mode says, routed across hosts via the hosts' IPv6
/// addresses, and a security-group rule with ethertype IPv6 that lets traffic in until it is deleted.
/// </summary>
public sealed class Ipv6Tests(Ipv6TopologyFixture fixture, ITestOutputHelper output) : IClassFixture<Ipv6TopologyFixture>
{
    [Fact]
    public async Task Vms_on_a_slaac_subnet_get_their_addresses_from_their_hosts_and_a_rule_with_ethertype_ipv6_lets_them_in()
    {
        var api = fixture.Topology.Api;
        var (h1, h2) = (fixture.Host(1), fixture.Host(2));
        var net = await SlaacNetwork.CreateAsync(fixture.Topology, "v6-net");
        var vms = new List<(VirtualMachine Vm, IPAddress Address)>();
        foreach (var (name, host) in new[] { ("v6vm1", h1), ("v6vm2", h2) }) vms.Add(await net.LaunchAsync(fixture.Topology, name, host));
        await fixture.WaitActiveAsync([.. vms.Select(v => v.Vm)]);

        // Each VM's own kernel forms its address from the router advertisement of its host's dnsmasq, with the default
        // route via the tap's link-local address and no on-link route for the subnet (the prefix is advertised off-link).
        foreach (var (vm, address) in vms)
        {
            var addresses = await Eventually.UntilAsync($"{vm.Name} to form {address} by SLAAC",
                () => vm.Namespace.IpAsync("-6", "addr", "show", "dev", "eth0", "scope", "global", "-tentative"),
                text => text.Contains(address + "/64", StringComparison.Ordinal), context: fixture.Diagnostics);
            var routes = await Eventually.UntilAsync($"{vm.Name} to take its default route from the advertisement",
                () => vm.Namespace.IpAsync("-6", "route", "show"), text => text.Contains("default via fe80::", StringComparison.Ordinal),
                context: fixture.Diagnostics);
            output.WriteLine($"{vm.Name}:\n{addresses}{routes}");
            Assert.DoesNotContain("fd00:66::/64", routes);
        }

        // Other hosts route each VM's address (its /128, or the IPv6 block IPAM put it in) via its host's IPv6 address.
        var (vm1, a1) = vms[0];
        var (vm2, a2) = vms[1];
        foreach (var (from, to, address) in new[] { (h1, 2, a2), (h2, 1, a1) })
        {
            var ours = await Eventually.UntilAsync($"{from.Name} to route {address} via h{to}'s IPv6 address", () => from.Namespace.IpAsync("-6", "route", "show", "proto", "80"),
                text => text.Contains($"via {NamespaceTopology.HostIpv6Address(to)} dev eth0", StringComparison.Ordinal), context: fixture.Diagnostics);
            output.WriteLine($"{from.Name} (proto 80):\n{ours}");
            Assert.Contains($"via {NamespaceTopology.HostIpv6Address(to)} dev eth0", await from.Namespace.IpAsync("-6", "route", "get", address.ToString()));
        }
        await fixture.WaitPingAsync(vm1, a2);
        await fixture.WaitPingAsync(vm2, a1);

        // The group's only ingress rule (ethertype IPv6) deleted: nothing gets in any more. Put back: in again.
        await api.DeleteAsync("security-group-rules", (string)net.IngressRule["id"]!);
        await Eventually.UntilAsync("v6vm2 to be closed to v6vm1", () => vm1.PingAsync(a2, waitSeconds: 1), pings => !pings, context: fixture.Diagnostics);
        await SlaacNetwork.AddIngressRuleAsync(fixture.Topology, net.GroupId);
        await fixture.WaitPingAsync(vm1, a2);
        Assert.NotNull(net.Ipv4Subnet["id"]);
        Assert.Equal("slaac", (string)net.Ipv6Subnet["ipv6_address_mode"]!);
    }
}
