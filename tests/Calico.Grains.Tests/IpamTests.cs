using System.Diagnostics.Metrics;
using System.Net;
using Calico.Grains.Ipam;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Ipam;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Grains.Tests;

/// <summary>The subnet IPAM grain on one silo: allocation, refusals, failed writes, pools, routes by block.</summary>
public sealed class IpamTests : IAsyncLifetime
{
    private CalicoTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = await CalicoTestCluster.StartAsync();
        var g = _cluster.Grains;
        foreach (var (name, ip) in new[] { ("h1", "172.18.0.1"), ("h2", "172.18.0.2"), ("h3", "172.18.0.3") })
            await g.GetGrain<IHostGrain>(name).RegisterAsync(Samples.Host(name, ip));
        await g.GetGrain<INetworkGrain>("net-1").CreateAsync(Samples.Network());
        await g.GetGrain<ISubnetGrain>("sub-1").CreateAsync(Samples.Subnet());
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private ISubnetIpamGrain Ipam(string subnet = "sub-1") => _cluster.Grains.GetGrain<ISubnetIpamGrain>(subnet);

    private async Task<string> Allocate(string port, string? host, string? requested = null, string subnet = "sub-1") =>
        (await Ipam(subnet).AllocateAsync(port, host, requested is null ? null : IPAddress.Parse(requested))).Address.ToString();

    private IpBlockState? Row(string key) => (IpBlockState?)_cluster.Store.Peek(SubnetIpamGrain.RowId(key));

    [Fact]
    public async Task Allocate_list_and_release()
    {
        Assert.Equal("10.65.0.2", await Allocate("p1", "h1"));
        Assert.Equal("10.65.0.64", await Allocate("p2", "h2"));
        Assert.Equal("10.65.0.2", await Allocate("p1", "h1")); // a retry
        Assert.Equal(["p1 10.65.0.2 h1", "p2 10.65.0.64 h2"], (await Ipam().ListAsync()).Select(a => $"{a.PortId} {a.Address} {a.Host}"));

        await Ipam().ReleaseAsync("p1", IPAddress.Parse("10.65.0.2"));
        await Ipam().ReleaseAsync("p1", IPAddress.Parse("10.65.0.2")); // a retry: no-op
        Assert.Equal(["p2"], (await Ipam().ListAsync()).Select(a => a.PortId));
        // h1's block was left empty: released, as a tombstone that keeps its revision.
        var row = Row("sub-1|10.65.0.0/26")!;
        Assert.Null(row.Block);
        Assert.Equal(2, row.Revision);

        // A new activation reads the rows back (with their ETags) and carries on.
        await _cluster.Cluster.DeactivateAsync(Ipam());
        Assert.Equal(["p2"], (await Ipam().ListAsync()).Select(a => a.PortId));
        Assert.Equal("10.65.0.65", await Allocate("p3", "h2"));
        Assert.Equal("10.65.0.2", await Allocate("p4", "h1"));
        Assert.Equal(3, Row("sub-1|10.65.0.0/26")!.Revision);
    }

    /// <summary>calico.ipam.addresses.capacity and .allocated for a subnet (tag subnet), or null when not reported.</summary>
    private static (double Capacity, long Allocated)? AddressGauges(string subnet)
    {
        double? capacity = null;
        long? allocated = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == Calico.Model.CalicoTelemetry.Name && instrument.Name.StartsWith("calico.ipam.addresses.", StringComparison.Ordinal))
                l.EnableMeasurementEvents(instrument);
        };
        bool Ours(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags) if (tag.Key == "subnet" && (string?)tag.Value == subnet) return true;
            return false;
        }
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) => { if (Ours(tags)) capacity = value; });
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) => { if (Ours(tags)) allocated = value; });
        listener.Start();
        listener.RecordObservableInstruments();
        return capacity is { } c && allocated is { } a ? (c, a) : null;
    }

    [Fact]
    public async Task The_address_gauges_report_a_subnets_capacity_and_use_while_its_grain_is_active()
    {
        // A subnet of its own: the gauges are process-wide, and other test classes run at the same time.
        const string subnet = "sub-gauges";
        await _cluster.Grains.GetGrain<ISubnetGrain>(subnet).CreateAsync(Samples.Subnet(subnet));
        await Allocate("p1", "h1", subnet: subnet);
        await Allocate("p2", "h2", subnet: subnet);
        await Allocate("p3", "h1", "10.65.0.200", subnet);
        // 10.65.0.0/24 without allocation pools: .1-.254 less the gateway .1.
        Assert.Equal((253.0, 3L), AddressGauges(subnet));

        await Ipam(subnet).ReleaseAsync("p1", IPAddress.Parse("10.65.0.2"));
        Assert.Equal((253.0, 2L), AddressGauges(subnet));

        await _cluster.Cluster.DeactivateAsync(Ipam(subnet));
        Assert.Null(AddressGauges(subnet));
        // A new activation reports again from its first request, counting what the rows hold.
        await Allocate("p4", "h2", subnet: subnet);
        Assert.Equal((253.0, 3L), AddressGauges(subnet));
    }

    [Fact]
    public async Task Ipv6_subnets_allocate_from_122_blocks()
    {
        await _cluster.Grains.GetGrain<ISubnetGrain>("sub-6").CreateAsync(Samples.Subnet("sub-6") with
        {
            Cidr = IpPrefix.Parse("fd00:65::/64"), GatewayIp = IPAddress.Parse("fd00:65::1"),
        });
        Assert.Equal("fd00:65::2", await Allocate("p1", "h1", subnet: "sub-6"));
        Assert.Equal("fd00:65::40", await Allocate("p2", "h2", subnet: "sub-6"));
        Assert.Equal("fd00:65::3", await Allocate("p3", "h1", subnet: "sub-6"));
        Assert.Equal("h2", Row("sub-6|fd00:65::40/122")!.Block!.AffinityHost);
        await Assert.ThrowsAsync<InvalidInputException>(() => Allocate("p4", "h1", "10.65.0.9", subnet: "sub-6"));
    }

    [Fact]
    public async Task Refusals_say_why()
    {
        var missing = await Assert.ThrowsAsync<ResourceNotFoundException>(() => Allocate("p1", "h1", subnet: "sub-x"));
        Assert.Equal("subnet", missing.Kind);
        await Allocate("p1", "h1", "10.65.0.9");
        var taken = await Assert.ThrowsAsync<ResourceConflictException>(() => Allocate("p2", "h1", "10.65.0.9"));
        Assert.Equal(IpAllocationFailure.Taken, IpAllocationFailures.Of(taken));
        var gateway = await Assert.ThrowsAsync<InvalidInputException>(() => Allocate("p2", "h1", "10.65.0.1"));
        Assert.Equal(IpAllocationFailure.Reserved, IpAllocationFailures.Of(gateway));
        Assert.Contains(gateway.Errors, e => e.Field == "fixed_ips" && e.Reason.Contains("gateway", StringComparison.Ordinal));
        var outside = await Assert.ThrowsAsync<InvalidInputException>(() => Allocate("p2", "h1", "10.66.0.9"));
        Assert.Equal(IpAllocationFailure.OutsideSubnet, IpAllocationFailures.Of(outside));
        await Assert.ThrowsAsync<InvalidInputException>(() => Allocate("bad port", "h1"));

        await _cluster.Grains.GetGrain<ISubnetGrain>("sub-s").CreateAsync(Samples.Subnet("sub-s") with { Cidr = IpPrefix.Parse("10.67.0.0/29"), GatewayIp = IPAddress.Parse("10.67.0.1") });
        var given = new List<string>();
        for (var i = 0; i < 5; i++) given.Add(await Allocate($"s{i}", "h1", subnet: "sub-s"));
        Assert.Equal(["10.67.0.2", "10.67.0.3", "10.67.0.4", "10.67.0.5", "10.67.0.6"], given);
        var exhausted = await Assert.ThrowsAsync<ResourceConflictException>(() => Allocate("s5", "h1", subnet: "sub-s"));
        Assert.Equal(IpAllocationFailure.Exhausted, IpAllocationFailures.Of(exhausted));
    }

    [Fact]
    public async Task A_failed_write_leaves_memory_and_storage_the_same()
    {
        await Allocate("p1", "h1");
        var before = Row("sub-1|10.65.0.0/26")!;
        _cluster.Store.FailWrites = true;
        try
        {
            var allocate = await Assert.ThrowsAnyAsync<Exception>(() => Allocate("p2", "h1"));
            Assert.IsType<IOException>(allocate.InnerException ?? allocate);
            var release = await Assert.ThrowsAnyAsync<Exception>(() => Ipam().ReleaseAsync("p1", IPAddress.Parse("10.65.0.2")));
            Assert.IsType<IOException>(release.InnerException ?? release);
            await Assert.ThrowsAnyAsync<Exception>(() => Allocate("p3", "h2")); // a new block, never stored
        }
        finally
        {
            _cluster.Store.FailWrites = false;
        }
        Assert.Equal(["p1 10.65.0.2"], (await Ipam().ListAsync()).Select(a => $"{a.PortId} {a.Address}"));
        var after = Row("sub-1|10.65.0.0/26")!;
        Assert.Equal(before.Revision, after.Revision);
        Assert.Equal(before.Allocations, after.Allocations);
        Assert.Null(Row("sub-1|10.65.0.64/26"));
        // The grain carries on from what is stored: p2 gets the address it did not get, h2 the block it did not claim.
        Assert.Equal("10.65.0.3", await Allocate("p2", "h1"));
        Assert.Equal("10.65.0.64", await Allocate("p3", "h2"));
        Assert.Equal(before.Revision + 1, Row("sub-1|10.65.0.0/26")!.Revision);
    }

    [Fact]
    public async Task A_row_written_by_someone_else_refuses_the_stale_write_and_the_next_activation_sees_it()
    {
        await Allocate("p1", "h1");
        // Another writer (say a second activation) gives 10.65.0.3 to port x.
        var id = SubnetIpamGrain.RowId("sub-1|10.65.0.0/26");
        var (state, etag) = _cluster.Store.Rows[id];
        var row = (IpBlockState)state;
        var foreign = new IpBlockState
        {
            Block = row.Block, Revision = row.Revision + 1, UpdatedAt = row.UpdatedAt,
            Allocations = [.. row.Allocations, new IpBlockAllocation(IPAddress.Parse("10.65.0.3"), "x", "h9", true, row.UpdatedAt)],
        };
        _cluster.Store.Rows[id] = (foreign, etag + "-foreign");

        var stale = await Assert.ThrowsAnyAsync<Exception>(() => Allocate("p2", "h1"));
        Assert.IsType<Orleans.Storage.InconsistentStateException>(stale.InnerException ?? stale);
        // The refused activation went away; the next one reads the row as stored and never hands out .3 again.
        await Eventually.TrueAsync(async () =>
        {
            try { return await Allocate("p2", "h1") == "10.65.0.4"; }
            catch (Orleans.Storage.InconsistentStateException) { return false; }
        }, "p2 is allocated from the stored row");
        Assert.Equal(["p1 10.65.0.2", "x 10.65.0.3", "p2 10.65.0.4"], (await Ipam().ListAsync()).Select(a => $"{a.PortId} {a.Address}"));
    }

    [Fact]
    public async Task An_ip_pool_sets_the_block_size_and_a_disabled_pool_refuses_automatic_allocation()
    {
        var pools = _cluster.Grains.GetGrain<IIpPoolGrain>("pool-1");
        await pools.CreateAsync(new IpPool("pool-1", IpPrefix.Parse("10.65.0.0/16"), 28, false, true));
        await Allocate("p1", "h1");
        Assert.NotNull(Row("sub-1|10.65.0.0/28"));

        // The IPAM grain is active: the pool grain tells it.
        await pools.PutAsync(new IpPool("pool-1", IpPrefix.Parse("10.65.0.0/16"), 28, true, true));
        var disabled = await Assert.ThrowsAsync<ResourceConflictException>(() => Allocate("p2", "h1"));
        Assert.Contains("pool-1 is disabled", disabled.Message, StringComparison.Ordinal);
        Assert.Equal(IpAllocationFailure.Exhausted, IpAllocationFailures.Of(disabled));
        Assert.Equal("10.65.0.40", await Allocate("p2", "h1", "10.65.0.40"));
        Assert.NotNull(Row("sub-1|10.65.0.32/28"));

        await pools.PutAsync(new IpPool("pool-1", IpPrefix.Parse("10.65.0.0/16"), 28, false, true));
        Assert.Equal("10.65.0.3", await Allocate("p3", "h1"));
    }

    [Fact]
    public async Task Routes_follow_blocks_and_the_calculator_rebuilds_them_from_the_store()
    {
        var addresses = new Dictionary<string, string>();
        for (var i = 0; i < 20; i++)
        {
            var (port, host) = ($"p{i}", i % 2 == 0 ? "h1" : "h2");
            addresses[port] = await Allocate(port, host);
            await _cluster.Grains.GetGrain<IEndpointGrain>(port).CreateAsync(Samples.Endpoint(port, host, addresses[port]));
        }
        // A workload on h2 with an address from h1's block: borrowed, so it is routed on its own.
        await _cluster.Grains.GetGrain<IEndpointGrain>("pb").CreateAsync(Samples.Endpoint("pb", "h2", await Allocate("pb", "h2", "10.65.0.50")));

        var expected = new[] { "10.65.0.0/26 via h1", "10.65.0.50/32 via h2", "10.65.0.64/26 via h2" };
        Assert.Equal(expected, await _cluster.RoutesOfAsync("h3"));
        var h1 = await _cluster.RoutesOfAsync("h1");
        Assert.Contains("10.65.0.0/26 Blackhole", h1);
        Assert.Contains("10.65.0.50/32 via h2", h1);
        Assert.Equal(10, h1.Count(r => r.EndsWith("Local", StringComparison.Ordinal)));

        // Rebuilt from the store: the calculator and the host's state start afresh and load the blocks.
        await _cluster.Cluster.DeactivateAsync(_cluster.Grains.GetGrain<IDesiredStateCalculatorGrain>(0));
        await _cluster.Cluster.DeactivateAsync(_cluster.Grains.GetGrain<IHostDesiredStateGrain>("h3"));
        Assert.Equal(expected, await _cluster.RoutesOfAsync("h3"));

        // h2's ports go: its block is released and h3 stops routing it.
        for (var i = 1; i < 20; i += 2)
        {
            await _cluster.Grains.GetGrain<IEndpointGrain>($"p{i}").DeleteAsync();
            await Ipam().ReleaseAsync($"p{i}", IPAddress.Parse(addresses[$"p{i}"]));
        }
        Assert.Equal(["10.65.0.0/26 via h1", "10.65.0.50/32 via h2"], await _cluster.RoutesOfAsync("h3"));
    }
}
