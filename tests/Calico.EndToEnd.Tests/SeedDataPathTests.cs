using System.Net;
using Calico.EndToEnd.Tests.Fixtures;
using Calico.Topology.Kernel;
using Calico.Topology.Probes;
using Xunit.Abstractions;

namespace Calico.EndToEnd.Tests;

/// <summary>
/// The seed's data path across two hosts, driven through the Neutron API and checked where it matters: in the hosts'
/// kernels (routes with our protocol, 80) and by packets between the VMs.
/// </summary>
public sealed partial class SeedDataPathTests(SeedTopologyFixture fixture, ITestOutputHelper output) : IClassFixture<SeedTopologyFixture>
{
    private const int Proto = 80;

    [Fact]
    public async Task Bound_ports_turn_active_and_the_kernels_hold_the_seed_data_path()
    {
        var (h1, h2, vm1, vm2) = (fixture.Host(1), fixture.Host(2), fixture.Vm1, fixture.Vm2);
        Assert.Equal(IPAddress.Parse("172.18.203.31"), h1.Address);
        Assert.Equal(IPAddress.Parse("172.18.203.44"), h2.Address);

        // GET /v2.0/ports/{id}: DOWN until the host's dataplane has programmed the port, then ACTIVE.
        await fixture.WaitActiveAsync(vm1, vm2);
        var port = await fixture.Topology.Api.ShowAsync("ports", "port", vm2.PortId);
        Assert.Equal("h2", (string)port["binding:host_id"]!);
        Assert.Equal("compute:nova", (string)port["device_owner"]!);
        Assert.Equal("tap", (string)port["binding:vif_type"]!);

        // Destination host: 10.65.0.3/32 dev tap... proto 80.
        var local = await Eventually.UntilAsync("h2 to hold 10.65.0.3/32 dev " + vm2.TapName, () => h2.Namespace.RoutesAsync(Proto),
            routes => routes.Any(r => r.Destination == "10.65.0.3/32" && r.Device == vm2.TapName && r.Gateway is null), context: fixture.Diagnostics);
        output.WriteLine($"h2 (proto {Proto}):\n  {string.Join("\n  ", local)}");

        // Source host: a route of ours covering 10.65.0.3 via 172.18.203.44 (a /32, or the block that holds it), and the
        // kernel's own choice for 10.65.0.3 is that one.
        var remote = await Eventually.UntilAsync("h1 to route 10.65.0.3 via 172.18.203.44", () => h1.Namespace.RoutesAsync(Proto),
            routes => routes.Where(r => r.Covers(Vm2Address) && r.Type == "unicast").MaxBy(r => r.Network.PrefixLength) is { Gateway: "172.18.203.44", Device: "eth0" },
            context: fixture.Diagnostics);
        output.WriteLine($"h1 (proto {Proto}):\n  {string.Join("\n  ", remote)}");
        var chosen = KernelRoute.ParseJson(await h1.Namespace.IpAsync("-j", "route", "get", "10.65.0.3")).Single();
        Assert.Equal(("172.18.203.44", "eth0"), (chosen.Gateway, chosen.Device));
        // And the way back: h2 routes vm1's address via h1.
        var back = KernelRoute.ParseJson(await h2.Namespace.IpAsync("-j", "route", "get", "10.65.0.2")).Single();
        Assert.Equal(("172.18.203.31", "eth0"), (back.Gateway, back.Device));

        // The VM: 10.65.0.0/24 on-link on eth0 (the host answers ARP for the others by proxy).
        var vmRoutes = await vm1.Namespace.RoutesAsync();
        output.WriteLine($"vm1:\n  {string.Join("\n  ", vmRoutes)}");
        Assert.Contains(vmRoutes, r => r.Destination == "10.65.0.0/24" && r.Device == "eth0" && r.Gateway is null && r.Scope == "link");
        Assert.Equal(vm1.MacAddress, (await vm1.Namespace.IpAsync("-br", "link", "show", "eth0")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]);
    }

    [Fact]
    public async Task Ping_and_tcp_work_across_hosts()
    {
        await fixture.DataPathReadyAsync();
        var (vm1, vm2) = (fixture.Vm1, fixture.Vm2);
        Assert.True(await vm2.PingAsync(SeedTopologyFixture.Vm1Address), "vm2 -> vm1 ping");
        Assert.Equal("echo: hello from vm1", await Eventually.UntilAsync("TCP vm1 -> vm2",
            () => SeedTopologyFixture.TcpAsync(vm1, vm2, "hello from vm1"), a => a is not null, context: fixture.Diagnostics));
        Assert.Equal("echo: hello from vm2", await SeedTopologyFixture.TcpAsync(vm2, vm1, "hello from vm2"));
        // The neighbour the VM learnt for 10.65.0.3 is its host's tap (proxy ARP), not vm2's eth0: no L2 between VMs.
        var neighbour = (await vm1.Namespace.IpAsync("neigh", "show", "10.65.0.3", "dev", "eth0")).Trim();
        output.WriteLine($"vm1: {neighbour}");
        Assert.DoesNotContain(vm2.MacAddress, neighbour, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("fe" + vm1.MacAddress[2..], neighbour, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task No_broadcast_from_one_vm_reaches_another()
    {
        await fixture.DataPathReadyAsync();
        var (vm1, vm2) = (fixture.Vm1, fixture.Vm2);
        using var receiver = await UdpEndpoint.OpenAsync(vm2.Namespace, new IPEndPoint(IPAddress.Any, SeedTopologyFixture.UdpPort));
        using var sender = await UdpEndpoint.OpenAsync(vm1.Namespace, new IPEndPoint(SeedTopologyFixture.Vm1Address, 0), broadcast: true);
        // Broadcasts first, then a unicast datagram along the same path: the first thing vm2 receives must be the unicast.
        await sender.SendAsync(new IPEndPoint(IPAddress.Broadcast, SeedTopologyFixture.UdpPort), "limited broadcast");
        await sender.SendAsync(new IPEndPoint(IPAddress.Parse("10.65.0.255"), SeedTopologyFixture.UdpPort), "subnet broadcast");
        await Eventually.UntilAsync("a unicast datagram vm1 -> vm2", async () =>
        {
            await sender.SendAsync(new IPEndPoint(SeedTopologyFixture.Vm2Address, SeedTopologyFixture.UdpPort), "unicast");
            var received = await receiver.ReceiveAsync(TimeSpan.FromSeconds(1));
            Assert.True(received is null or "unicast", $"vm2 received '{received}' from vm1: a broadcast crossed hosts");
            return received is not null;
        }, context: fixture.Diagnostics);
    }

    [Fact]
    public async Task The_openstack_cli_sees_the_ports_active_and_the_agents_alive()
    {
        await fixture.WaitActiveAsync(fixture.Vm1, fixture.Vm2);
        var cli = new OpenStackCli(fixture.Topology);
        var port = await cli.JsonAsync("port", "show", fixture.Vm2.PortId);
        Assert.Equal("ACTIVE", (string)port["status"]!);
        Assert.Equal("h2", (string)port["binding_host_id"]!);
        var agents = (await cli.JsonAsync("network", "agent", "list")).AsArray().OfType<JsonObject>().ToList();
        output.WriteLine(string.Join("\n", agents.Select(a => a.ToJsonString())));
        Assert.Equal(["h1", "h2"], agents.Select(a => (string)a["Host"]!).Order(StringComparer.Ordinal));
        // The table shows ":-)"; -f json gives the field itself.
        Assert.All(agents, a => Assert.True((bool)a["Alive"]!, a.ToJsonString()));
    }

    [Fact]
    public async Task A_deleted_port_leaves_no_route_on_any_host()
    {
        await fixture.DataPathReadyAsync();
        var address = IPAddress.Parse("10.65.0.20");
        var vm = await fixture.Seed.LaunchVmAsync("vm20", fixture.Host(2), address);
        await fixture.WaitActiveAsync(vm);
        await fixture.WaitPingAsync(fixture.Vm1, address);
        Assert.Contains(await fixture.Host(2).Namespace.RoutesAsync(Proto), r => r.Destination == "10.65.0.20/32" && r.Device == vm.TapName);

        await fixture.Topology.Api.DeleteAsync("ports", vm.PortId);
        foreach (var host in fixture.Topology.Hosts)
        {
            var left = await Eventually.UntilAsync($"no route for {address} or {vm.TapName} on {host.Name}", () => host.Namespace.RoutesAsync(Proto),
                routes => !routes.Any(r => r.Destination == "10.65.0.20/32" || r.Device == vm.TapName), context: fixture.Diagnostics);
            output.WriteLine($"{host.Name} after the delete (proto {Proto}):\n  {string.Join("\n  ", left)}");
        }
        var reply = await fixture.Topology.Api.SendAsync(HttpMethod.Get, $"v2.0/ports/{vm.PortId}");
        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        // Nova removes the VM after the port; the others are untouched.
        fixture.Topology.RemoveVm(vm);
        Assert.True(await fixture.Vm1.PingAsync(SeedTopologyFixture.Vm2Address));
    }

    [Fact]
    public async Task A_route_deleted_by_hand_comes_back()
    {
        await fixture.DataPathReadyAsync();
        var (h1, h2, vm2) = (fixture.Host(1), fixture.Host(2), fixture.Vm2);
        var before1 = await h1.Namespace.RouteTextAsync(Proto);
        var before2 = await h2.Namespace.RouteTextAsync(Proto);
        var covering = (await h1.Namespace.RoutesAsync(Proto)).Where(r => r.Covers(Vm2Address) && r.Type == "unicast").MaxBy(r => r.Network.PrefixLength)!;

        await h2.Namespace.IpAsync("route", "del", "10.65.0.3/32", "dev", vm2.TapName, "proto", $"{Proto}");
        await h1.Namespace.IpAsync("route", "del", covering.Destination, "via", covering.Gateway!, "proto", $"{Proto}");
        Assert.DoesNotContain(await h2.Namespace.RoutesAsync(Proto), r => r.Destination == "10.65.0.3/32");

        // Repaired by each host's periodic resync (Dataplane:RouteResyncInterval, 3 s here), not by a change of intent.
        await Eventually.UntilAsync("h2's route to vm2 back", () => h2.Namespace.RouteTextAsync(Proto), t => t == before2, context: fixture.Diagnostics);
        await Eventually.UntilAsync("h1's route to vm2 back", () => h1.Namespace.RouteTextAsync(Proto), t => t == before1, context: fixture.Diagnostics);
        await fixture.WaitPingAsync(fixture.Vm1, Vm2Address);
    }

    private static readonly IPAddress Vm2Address = SeedTopologyFixture.Vm2Address;
}
