using System.Diagnostics;
using System.Net;
using Calico.EndToEnd.Tests.Fixtures;
using Calico.Topology;
using Calico.Topology.Probes;
using Xunit.Abstractions;

namespace Calico.EndToEnd.Tests;

/// <summary>
/// One host whose dataplane resyncs only every ten minutes, so that nothing in these tests can be done by a resync,
/// and the seed's network (no VM yet).
/// </summary>
public sealed class LinkWatchTopologyFixture : TopologyFixture
{
    protected override TopologyOptions Options => new() { Hosts = 1, RouteResyncInterval = TimeSpan.FromMinutes(10) };

    public SeedNetwork Seed { get; private set; } = null!;

    protected override async Task PopulateAsync() => Seed = await SeedNetwork.CreateAsync(Topology, [new IngressRule("icmp")]);
}

/// <summary>Nova's order: the port is bound to the host, then the VIF is plugged (the tap created) — and later unplugged.</summary>
public sealed class LinkWatchTests(LinkWatchTopologyFixture fixture, ITestOutputHelper output) : IClassFixture<LinkWatchTopologyFixture>
{
    private const string Resync = "Dataplane resync:";
    private static readonly IPAddress VmAddress = IPAddress.Parse("10.65.0.2");

    [Fact]
    public async Task A_port_bound_before_its_tap_exists_turns_active_as_the_tap_is_plugged_and_down_as_it_is_unplugged()
    {
        var host = fixture.Host(1);
        var api = fixture.Topology.Api;
        var mark = host.Silo.OutputMark;
        var port = await api.CreatePortAsync(fixture.Seed.NetworkId, fixture.Seed.SubnetId, VmAddress, host.Name, "vm1",
            [fixture.Seed.SecurityGroupId]);
        var portId = (string)port["id"]!;
        await Eventually.UntilAsync("h1 to apply the port while its tap does not exist",
            () => Task.FromResult(host.Silo.HasWrittenSince(mark, "; 1 workload interfaces")), context: fixture.Diagnostics);
        Assert.Equal("DOWN", await api.PortStatusAsync(portId));

        var plugged = Stopwatch.StartNew();
        var vm = await fixture.Topology.AddVmAsync("vm1", host, portId, (string)port["mac_address"]!);
        await fixture.WaitActiveAsync(vm);
        output.WriteLine($"ACTIVE {plugged.ElapsedMilliseconds} ms after the tap was plugged (the status is polled every 200 ms)");
        var routes = await host.Namespace.RoutesAsync(80);
        Assert.Contains(routes, r => r.Device == vm.TapName && r.Covers(VmAddress));
        Assert.True(host.Silo.HasWrittenSince(mark, "Dataplane link change:"), "the link watch reconciled the tap");
        Assert.False(host.Silo.HasWrittenSince(mark, Resync), "no resync ran: the link watch did it");

        fixture.Topology.RemoveVm(vm);
        await Eventually.UntilAsync($"port {portId} DOWN after its tap was unplugged", () => api.PortStatusAsync(portId),
            status => status == "DOWN", context: fixture.Diagnostics);
        Assert.DoesNotContain(await host.Namespace.RoutesAsync(80), r => r.Covers(VmAddress) && r.Device is not null);
        Assert.False(host.Silo.HasWrittenSince(mark, Resync), "no resync ran: the link watch did it");
    }
}
