using System.Net;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Grains.Ipam;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Calico.Grains.Tests;

/// <summary>The IPAM audit: leaks (holder missing, or not holding), doubly-claimed and unrecorded addresses; releasing leaks.</summary>
public sealed class IpamAuditTests : IAsyncLifetime
{
    private CalicoTestCluster _cluster = null!;
    private readonly Dictionary<string, IPAddress> _given = [];

    public async Task InitializeAsync()
    {
        _cluster = await CalicoTestCluster.StartAsync();
        var g = _cluster.Grains;
        await g.GetGrain<INetworkGrain>("net-1").CreateAsync(Samples.Network());
        await g.GetGrain<ISubnetGrain>("sub-1").CreateAsync(Samples.Subnet());
        await g.GetGrain<INetworkGrain>("ext").CreateAsync(Samples.Network("ext"));
        await g.GetGrain<ISubnetGrain>("ext-sub").CreateAsync(Samples.Subnet("ext-sub") with
        {
            NetworkId = "ext", Cidr = IpPrefix.Parse("172.24.4.0/24"), GatewayIp = IPAddress.Parse("172.24.4.1"),
        });

        foreach (var port in new[] { "p1", "p2", "p3", "p4" }) _given[port] = await Allocate("sub-1", port, "h1");
        await Port("p1", _given["p1"]);                       // as it should be
        await Port("p3", null);                                // p3 no longer holds its address; p2 does not exist
        await Port("p4", _given["p4"]);
        await Port("p5", _given["p4"]);                        // p4's address held by p5 too
        await Port("p6", IPAddress.Parse("10.65.0.60"));      // never allocated
        foreach (var fip in new[] { "fip-1", "fip-2" }) _given[fip] = await Allocate("ext-sub", fip, null);
        await g.GetGrain<IFloatingIpGrain>("fip-1").CreateAsync(new FloatingIp("fip-1", "ext", _given["fip-1"], "proj", null, null));
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private async Task<IPAddress> Allocate(string subnet, string handle, string? host) =>
        (await _cluster.Grains.GetGrain<ISubnetIpamGrain>(subnet).AllocateAsync(handle, host, null)).Address;

    private Task Port(string id, IPAddress? address) =>
        _cluster.Grains.GetGrain<IEndpointGrain>(id).CreateAsync(Samples.Endpoint(id, "h1", "10.65.0.99") with
        {
            FixedIps = address is null ? ValueList<FixedIp>.Empty : ValueList.Create(new FixedIp("sub-1", address)),
        });

    private Task<IpamAuditReport> Audit(bool release, TimeSpan? grace) =>
        _cluster.Grains.GetGrain<IIpamAuditGrain>(0).AuditAsync(new IpamAuditRequest(release, grace));

    private static string[] Lines(IEnumerable<IpamFinding> findings) =>
        [.. findings.Select(f => $"{f.Problem} {f.SubnetId} {f.Address} {f.AllocatedTo ?? "-"} [{string.Join(",", f.HeldBy)}]{(f.Released ? " released" : "")}")];

    [Fact]
    public async Task The_leak_collector_releases_confirmed_leaks_once_per_interval_and_nothing_before()
    {
        var clock = new FakeTimeProvider();
        var options = Options.Create(new IpamOptions { LeakCollectionInterval = TimeSpan.FromMinutes(10), LeakGracePeriod = TimeSpan.Zero });
        using var collector = new IpamLeakCollector(_cluster.Grains, options, clock, NullLogger<IpamLeakCollector>.Instance);
        var ipam = _cluster.Grains.GetGrain<ISubnetIpamGrain>("sub-1");
        await collector.StartAsync(CancellationToken.None);

        // A minute of the collector's clock at a time (its loop starts in the background, so its first wait may begin
        // a little after the clock's start): the first round comes no sooner than ten minutes in.
        var minute = 0;
        while (minute < 40 && (await ipam.ListAsync()).Count > 2)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            minute++;
            await Task.Delay(50);
        }
        Assert.InRange(minute, 10, 39);
        // The round released p2 (no port) and p3 (not holding it); what is held, or doubly claimed, stays.
        Assert.Equal(["p1", "p4"], (await ipam.ListAsync()).Select(a => a.PortId).Order(StringComparer.Ordinal));
        Assert.Equal(["fip-1"], (await _cluster.Grains.GetGrain<ISubnetIpamGrain>("ext-sub").ListAsync()).Select(a => a.PortId));
        await collector.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Young_allocations_are_not_judged_as_leaks()
    {
        var report = await Audit(release: true, grace: null); // the configured grace: 5 minutes
        Assert.Equal(TimeSpan.FromMinutes(5), report.GracePeriod);
        Assert.Equal(3, report.TooRecentToJudge); // p2, p3, fip-2
        Assert.Equal([
            $"DoublyClaimed sub-1 {_given["p4"]} p4 [p4,p5]",
            "NotAllocated sub-1 10.65.0.60 - [p6]",
        ], Lines(report.Findings));
        Assert.Equal(6, (await _cluster.Grains.GetGrain<ISubnetIpamGrain>("sub-1").ListAsync()).Count + 2);
    }

    [Fact]
    public async Task Leaks_are_found_and_released_and_the_rest_stays_until_repaired()
    {
        var report = await Audit(release: false, grace: TimeSpan.Zero);
        Assert.Equal((2, 6, 5, 1), (report.Subnets, report.Allocations, report.Ports, report.FloatingIps));
        Assert.Equal([
            $"LeakedPortMissing ext-sub {_given["fip-2"]} fip-2 []",
            $"LeakedPortMissing sub-1 {_given["p2"]} p2 []",
            $"LeakedNotHeld sub-1 {_given["p3"]} p3 []",
            $"DoublyClaimed sub-1 {_given["p4"]} p4 [p4,p5]",
            "NotAllocated sub-1 10.65.0.60 - [p6]",
        ], Lines(report.Findings.OrderBy(f => f.Problem).ThenBy(f => f.SubnetId, StringComparer.Ordinal)));
        Assert.Equal(5, report.Remaining.Count());

        var released = await Audit(release: true, grace: TimeSpan.Zero);
        Assert.Equal(3, released.Findings.Count(f => f.Released));
        Assert.All(released.Findings.Where(f => f.Released), f => Assert.True(f.IsLeak));
        Assert.Equal(["p1", "p4"], (await _cluster.Grains.GetGrain<ISubnetIpamGrain>("sub-1").ListAsync()).Select(a => a.PortId));
        Assert.Equal(["fip-1"], (await _cluster.Grains.GetGrain<ISubnetIpamGrain>("ext-sub").ListAsync()).Select(a => a.PortId));

        var after = await Audit(release: true, grace: TimeSpan.Zero);
        Assert.Equal([
            $"DoublyClaimed sub-1 {_given["p4"]} p4 [p4,p5]",
            "NotAllocated sub-1 10.65.0.60 - [p6]",
        ], Lines(after.Findings));

        // Repaired by hand: p5 gives its copy up, p6's address is recorded.
        await _cluster.Grains.GetGrain<IEndpointGrain>("p5").DeleteAsync();
        await _cluster.Grains.GetGrain<ISubnetIpamGrain>("sub-1").AllocateAsync("p6", "h1", IPAddress.Parse("10.65.0.60"));
        var clean = await Audit(release: false, grace: TimeSpan.Zero);
        Assert.Empty(clean.Findings);
        Assert.Equal(0, clean.TooRecentToJudge);
    }
}
