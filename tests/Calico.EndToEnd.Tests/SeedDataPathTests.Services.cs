using System.Net;
using Calico.EndToEnd.Tests.Fixtures;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;

namespace Calico.EndToEnd.Tests;

/// <summary>DHCP, floating IPs and security groups on the seed's topology: what the hosts serve beyond routes.</summary>
public sealed partial class SeedDataPathTests
{
    /// <summary>
    /// Security groups and floating-IP NAT are the dataplane's nftables policy (table inet calico, with
    /// Dataplane:PolicyEnabled, which the topology sets). Without that table on the host the test cannot mean anything:
    /// say so rather than fail somewhere further on.
    /// </summary>
    private async Task RequirePolicyOnAsync(ComputeHost host)
    {
        var table = await host.Namespace.TryExecAsync(TimeSpan.FromSeconds(30), "nft", "list", "table", "inet", "calico");
        Assert.True(table.Succeeded,
            $"No nftables table inet calico on {host.Name} ({table.Error.Trim()}): this build's dataplane does not program " +
            "policy (security groups, floating-IP NAT) even with --Dataplane:PolicyEnabled=true.");
    }

    [Fact]
    public async Task A_vm_gets_its_address_by_dhcp_and_subnet_changes_reach_it_on_renewal()
    {
        await fixture.DataPathReadyAsync();
        var address = IPAddress.Parse("10.65.0.30");
        var vm = await fixture.Seed.LaunchVmAsync("vm30", fixture.Host(2), address, configure: false);
        await fixture.WaitActiveAsync(vm);
        var dhcpDirectory = Path.Combine(fixture.Topology.TempDirectory, "dhclient-vm30");
        var network = await fixture.Topology.Api.ShowAsync("networks", "network", fixture.Seed.NetworkId);

        // dnsmasq on h2 answers for the port: its fixed IP, the gateway, the MTU of its network, a host name.
        var lease = await DhcpClient.LeaseAsync(vm.Namespace, dhcpDirectory, Eventually.DefaultDeadline);
        output.WriteLine(string.Join('\n', lease.Select(l => $"{l.Key}={l.Value}")));
        Assert.Equal("10.65.0.30", lease["new_ip_address"]);
        Assert.Equal("255.255.255.0", lease["new_subnet_mask"]);
        Assert.Equal("10.65.0.1", lease["new_routers"]);
        Assert.Equal(network["mtu"]!.ToString(), lease["new_interface_mtu"]);
        Assert.Equal("host-10-65-0-30", lease["new_host_name"]);
        Assert.False(lease.ContainsKey("new_domain_name_servers"), "no DNS servers on the subnet yet");

        // A change of the subnet reaches the VM when it renews (here: asks again for its address, as after a reboot).
        await fixture.Topology.Api.UpdateAsync("subnets", "subnet", fixture.Seed.SubnetId, new JsonObject
        {
            ["dns_nameservers"] = new JsonArray("198.51.100.53"),
            ["host_routes"] = new JsonArray(new JsonObject { ["destination"] = "198.51.100.0/24", ["nexthop"] = "10.65.0.1" }),
        });
        var renewed = await Eventually.UntilAsync("the DNS server of the subnet in a renewed lease",
            () => DhcpClient.LeaseAsync(vm.Namespace, dhcpDirectory, TimeSpan.FromSeconds(30)),
            l => l.GetValueOrDefault("new_domain_name_servers") == "198.51.100.53", context: fixture.Diagnostics);
        output.WriteLine(string.Join('\n', renewed.Select(l => $"{l.Key}={l.Value}")));
        Assert.Equal("10.65.0.30", renewed["new_ip_address"]);
        // Host routes as option 121 (with the default route added, since a client that takes 121 ignores option 3).
        Assert.Contains("24 198 51 100 10 65 0 1", renewed.GetValueOrDefault("new_rfc3442_classless_static_routes") ?? "", StringComparison.Ordinal);

        // Configured as dhclient-script would, the VM reaches vm1 on the other host.
        await vm.ConfigureStaticAsync(IPAddress.Parse(renewed["new_ip_address"]), 24, IPAddress.Parse(renewed["new_routers"]));
        await fixture.WaitPingAsync(vm, SeedTopologyFixture.Vm1Address);

        // A deleted port leaves no DHCP entry (nor route) on any host.
        await fixture.Topology.Api.DeleteAsync("ports", vm.PortId);
        foreach (var host in fixture.Topology.Hosts)
        {
            await Eventually.UntilAsync($"no DHCP host entry for {vm.MacAddress} on {host.Name}",
                () => Task.FromResult(DhcpHostEntries(host.Name).Where(l => l.Contains(vm.MacAddress, StringComparison.OrdinalIgnoreCase)).ToList()),
                entries => entries.Count == 0, context: fixture.Diagnostics);
            await Eventually.UntilAsync($"no route for 10.65.0.30 on {host.Name}", () => host.Namespace.RoutesAsync(80),
                routes => !routes.Any(r => r.Destination == "10.65.0.30/32"), context: fixture.Diagnostics);
        }
        fixture.Topology.RemoveVm(vm);
    }

    /// <summary>The lines of every dnsmasq hosts file under a host's DHCP state directory (in the run's temporary directory).</summary>
    private IEnumerable<string> DhcpHostEntries(string host)
    {
        var directory = Path.Combine(fixture.Topology.TempDirectory, host, "dhcp");
        return Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "hosts", SearchOption.AllDirectories).SelectMany(File.ReadAllLines)
            : [];
    }

    [Fact]
    public async Task A_floating_ip_is_routed_to_the_host_of_its_port()
    {
        await fixture.DataPathReadyAsync();
        var (_, floating) = await fixture.FloatingIpOfVm2Async();
        output.WriteLine($"floating IP of vm2: {floating}");
        Assert.True(IPNetwork.Parse(SeedTopologyFixture.FloatingCidr).Contains(floating));
        // Every other host routes it to the host of the port, which translates it (1:1 NAT) to 10.65.0.3.
        await Eventually.UntilAsync($"h1 to route {floating} via 172.18.203.44", () => fixture.Host(1).Namespace.RoutesAsync(80),
            routes => routes.Any(r => r.Destination == $"{floating}/32" && r.Gateway == "172.18.203.44"), context: fixture.Diagnostics);
    }

    [Fact]
    public async Task A_floating_ip_is_reachable_from_outside()
    {
        await fixture.DataPathReadyAsync();
        var (_, floating) = await fixture.FloatingIpOfVm2Async();
        var outside = await fixture.OutsideAsync();
        await Eventually.UntilAsync($"the outside to get a ping answer from {floating}", () => outside.PingAsync(floating), context: fixture.Diagnostics);
        Assert.Equal("echo: from outside", await Eventually.UntilAsync($"TCP from the outside to {floating}",
            () => TcpProbe.TryExchangeAsync(outside, new IPEndPoint(floating, SeedTopologyFixture.TcpPort), "from outside", TimeSpan.FromSeconds(5)),
            a => a is not null, context: fixture.Diagnostics));
    }

    [Fact]
    public async Task A_security_group_rule_lets_traffic_in_and_removing_it_blocks_it_again()
    {
        await fixture.DataPathReadyAsync();
        const int port = 7100;
        var api = fixture.Topology.Api;
        var group = await api.CreateSecurityGroupAsync("web", "ICMP in, and TCP 7100 while the rule exists");
        var groupId = (string)group["id"]!;
        await api.AddIngressRuleAsync(groupId, "icmp");
        var vm = await fixture.Seed.LaunchVmAsync("vm40", fixture.Host(2), IPAddress.Parse("10.65.0.40"), securityGroups: [groupId]);
        await fixture.ServeTcpAsync(vm, port);
        await fixture.WaitActiveAsync(vm);
        await fixture.WaitPingAsync(fixture.Vm1, vm.Address!);
        var to = new IPEndPoint(vm.Address!, port);
        Task<string?> Tcp() => TcpProbe.TryExchangeAsync(fixture.Vm1.Namespace, to, "knock", TimeSpan.FromSeconds(2));

        await Eventually.UntilAsync("TCP 7100 blocked without a rule", Tcp, a => a is null, context: fixture.Diagnostics);
        var rule = await api.AddIngressRuleAsync(groupId, "tcp", port);
        await Eventually.UntilAsync("TCP 7100 let in by the rule", Tcp, a => a == "echo: knock", context: fixture.Diagnostics);
        await api.DeleteAsync("security-group-rules", (string)rule["id"]!);
        await Eventually.UntilAsync("TCP 7100 blocked again once the rule is gone", Tcp, a => a is null, context: fixture.Diagnostics);
        Assert.True(await fixture.Vm1.PingAsync(vm.Address!), "ICMP still let in");

        await api.DeleteAsync("ports", vm.PortId);
        fixture.Topology.RemoveVm(vm);
    }
}
