using System.Net;
using Calico.Grains.Ipam;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Grains.Tests;

/// <summary>
/// Nova's order keeps route aggregation: a port created unbound, then bound, ends up with an address in its host's
/// block (the old one released, the audit clean), unless it was asked for, a floating IP points at it, the port was
/// bound already, or the host has no room; retried and concurrent binds take no second address.
/// </summary>
public sealed class FirstBindTests : IAsyncLifetime
{
    private CalicoTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = await CalicoTestCluster.StartAsync();
        await SetUpAsync(_cluster);
    }

    private static async Task SetUpAsync(CalicoTestCluster cluster)
    {
        var g = cluster.Grains;
        foreach (var (name, ip) in new[] { ("h1", "172.18.0.1"), ("h2", "172.18.0.2"), ("h3", "172.18.0.3") })
            await g.GetGrain<IHostGrain>(name).RegisterAsync(Samples.Host(name, ip));
        await g.GetGrain<INetworkGrain>("net-1").CreateAsync(Samples.Network());
        await g.GetGrain<ISubnetGrain>("sub-1").CreateAsync(Samples.Subnet());
        await g.GetGrain<ISubnetGrain>("sub-2").CreateAsync(Samples.Subnet("sub-2") with { Cidr = IpPrefix.Parse("10.67.0.0/24"), GatewayIp = IPAddress.Parse("10.67.0.1") });
        // One block only: a host without a block finds none to claim.
        await g.GetGrain<ISubnetGrain>("tiny").CreateAsync(Samples.Subnet("tiny") with { Cidr = IpPrefix.Parse("10.66.0.0/26"), GatewayIp = IPAddress.Parse("10.66.0.1") });
        await g.GetGrain<INetworkGrain>("ext").CreateAsync(Samples.Network("ext"));
        await g.GetGrain<ISubnetGrain>("ext-sub").CreateAsync(Samples.Subnet("ext-sub") with
        {
            NetworkId = "ext", Cidr = IpPrefix.Parse("172.24.4.0/24"), GatewayIp = IPAddress.Parse("172.24.4.1"),
        });
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private IEndpointGrain Port(string id) => _cluster.Grains.GetGrain<IEndpointGrain>(id);

    private ISubnetIpamGrain Ipam(string subnet) => _cluster.Grains.GetGrain<ISubnetIpamGrain>(subnet);

    /// <summary>A port as the API creates one: its addresses allocated for it (automatic unless given), then stored.</summary>
    private async Task<Versioned<WorkloadEndpoint>> CreateAsync(string id, string? host, params (string Subnet, string? Address)[] addresses)
    {
        var fixedIps = new List<FixedIp>();
        foreach (var (subnet, address) in addresses.Length == 0 ? [("sub-1", null)] : addresses)
        {
            var allocation = await Ipam(subnet).AllocateAsync(id, host, address is null ? null : IPAddress.Parse(address));
            fixedIps.Add(new FixedIp(subnet, allocation.Address));
        }
        return await Port(id).CreateAsync(Samples.Endpoint(id, host, "10.65.0.99") with { FixedIps = fixedIps.ToValueList() });
    }

    /// <summary>What the API does for <c>PUT /v2.0/ports/{id}</c> with binding:host_id only.</summary>
    private async Task<Versioned<WorkloadEndpoint>> BindAsync(string id, string? host)
    {
        var current = (await Port(id).GetAsync())!;
        return await Port(id).BindAsync(current.Value with { Host = host }, current.Revision);
    }

    private static string[] Addresses(Versioned<WorkloadEndpoint> port) => [.. port.Value.FixedIps.Select(f => f.Address.ToString())];

    private async Task<string[]> AllocatedTo(string port, string subnet = "sub-1") =>
        [.. (await Ipam(subnet).ListAsync()).Where(a => a.PortId == port).Select(a => $"{a.Address} {a.Host ?? "-"}")];

    private async Task AssertAuditCleanAsync()
    {
        var report = await _cluster.Grains.GetGrain<IIpamAuditGrain>(0).AuditAsync(new IpamAuditRequest(false, TimeSpan.Zero));
        Assert.Empty(report.Findings.Select(f => f.ToString()));
        Assert.Equal(0, report.TooRecentToJudge);
    }

    private IpBlockState? Row(string key) => (IpBlockState?)_cluster.Store.Peek(SubnetIpamGrain.RowId(key));

    [Fact]
    public async Task A_port_created_unbound_moves_into_its_hosts_block_at_its_first_bind_and_other_hosts_route_the_block()
    {
        Assert.Equal(["10.65.0.2"], Addresses(await CreateAsync("on-h1", "h1")));            // h1: 10.65.0.0/26
        var created = await CreateAsync("p1", null);
        Assert.Equal(["10.65.0.64"], Addresses(created));                                      // a block of no host's

        var bound = await BindAsync("p1", "h1");
        Assert.Equal(["10.65.0.3"], Addresses(bound));
        Assert.Equal("h1", bound.Value.Host);
        Assert.Equal(created.Revision + 1, bound.Revision);                                   // one write: binding and address together
        Assert.Equal(bound, await Port("p1").GetAsync());
        Assert.Equal(["10.65.0.3 h1"], await AllocatedTo("p1"));
        Assert.Null(Row("sub-1|10.65.0.64/26")!.Block);                                      // left empty: released
        await AssertAuditCleanAsync();
        // One route for h1's block on the other hosts, no /32 for the port.
        Assert.Equal(["10.65.0.0/26 via h1"], await _cluster.RoutesOfAsync("h3"));

        // A host with no block yet claims one for the port.
        await CreateAsync("p2", null);
        Assert.Equal(["10.65.0.128"], Addresses(await BindAsync("p2", "h2")));
        Assert.Equal("h2", Row("sub-1|10.65.0.128/26")!.Block!.AffinityHost);
        Assert.Equal(["10.65.0.0/26 via h1", "10.65.0.128/26 via h2"], await _cluster.RoutesOfAsync("h3"));
        await AssertAuditCleanAsync();
    }

    [Fact]
    public async Task Explicit_and_floating_addresses_stay_and_the_others_move()
    {
        await CreateAsync("asked", null, ("sub-1", "10.65.0.100"));
        Assert.Equal(["10.65.0.100"], Addresses(await BindAsync("asked", "h1")));

        // Two subnets: the floating IP's fixed address stays, the other moves.
        var created = await CreateAsync("fip-port", null, ("sub-1", null), ("sub-2", null));
        Assert.Equal(2, created.Value.FixedIps.Count);
        var fixedV4 = created.Value.FixedIps[0].Address;
        var fipAddress = (await Ipam("ext-sub").AllocateAsync("fip-1", null, null)).Address;
        await _cluster.Grains.GetGrain<IFloatingIpGrain>("fip-1").CreateAsync(new FloatingIp("fip-1", "ext", fipAddress, "proj", "fip-port", fixedV4));

        var bound = await BindAsync("fip-port", "h1");
        Assert.Equal(fixedV4, bound.Value.FixedIps[0].Address);
        Assert.Equal("10.67.0.64", bound.Value.FixedIps[1].Address.ToString());
        Assert.Equal([$"{fixedV4} -"], await AllocatedTo("fip-port"));
        Assert.Equal(["10.67.0.64 h1"], await AllocatedTo("fip-port", "sub-2"));
        await AssertAuditCleanAsync();
    }

    [Fact]
    public async Task A_bound_port_keeps_its_address_when_its_host_changes_or_it_is_bound_again()
    {
        await CreateAsync("p1", null);
        var first = Addresses(await BindAsync("p1", "h1"));
        Assert.Equal(["10.65.0.64"], first);
        // Live migration: bound to another host, it keeps its address (routed as a /32 from now on).
        Assert.Equal(first, Addresses(await BindAsync("p1", "h2")));
        // Unbound and bound again elsewhere: the address was chosen for a host, so it stays too.
        Assert.Equal(first, Addresses(await BindAsync("p1", null)));
        Assert.Equal(first, Addresses(await BindAsync("p1", "h3")));
        // A port created bound and moved keeps its address as well.
        var onH1 = Addresses(await CreateAsync("p2", "h1"));
        await BindAsync("p2", null);
        Assert.Equal(onH1, Addresses(await BindAsync("p2", "h2")));
        await AssertAuditCleanAsync();
    }

    [Fact]
    public async Task A_host_with_no_room_keeps_the_old_address()
    {
        var created = await CreateAsync("p1", null, ("tiny", null));
        var bound = await BindAsync("p1", "h1");
        Assert.Equal(Addresses(created), Addresses(bound));
        Assert.Equal("h1", bound.Value.Host);
        Assert.Null(Row("tiny|10.66.0.0/26")!.Block!.AffinityHost);
        await AssertAuditCleanAsync();
    }

    [Fact]
    public async Task A_bind_retried_after_it_allocated_takes_no_second_address()
    {
        await CreateAsync("p1", null);
        // The first attempt allocated the new address, then stopped before storing the port (a silo lost, say).
        var allocated = await Ipam("sub-1").MoveToHostAsync("p1", "h1", IPAddress.Parse("10.65.0.2"));
        Assert.Equal("10.65.0.64", allocated!.Address.ToString());
        Assert.Equal(["10.65.0.2 -", "10.65.0.64 h1"], await AllocatedTo("p1"));

        Assert.Equal(["10.65.0.64"], Addresses(await BindAsync("p1", "h1")));
        Assert.Equal(["10.65.0.64 h1"], await AllocatedTo("p1"));
        await AssertAuditCleanAsync();
    }

    [Fact]
    public async Task Concurrent_binds_store_one_and_leak_nothing()
    {
        await CreateAsync("p1", null);
        await CreateAsync("h2-port", "h2");
        var current = (await Port("p1").GetAsync())!;
        var attempts = Enumerable.Range(0, 6).Select(async i =>
        {
            try
            {
                var stored = await Port("p1").BindAsync(current.Value with { Host = i % 2 == 0 ? "h1" : "h2" }, current.Revision);
                return (Stored: (Versioned<WorkloadEndpoint>?)stored, Error: (Exception?)null);
            }
            catch (ResourceConflictException e)
            {
                return (Stored: (Versioned<WorkloadEndpoint>?)null, Error: (Exception?)e);
            }
        });
        var results = await Task.WhenAll(attempts);
        var winner = Assert.Single(results, r => r.Error is null).Stored!;
        var port = (await Port("p1").GetAsync())!;
        Assert.Equal(winner, port);
        Assert.Equal([$"{port.Value.FixedIps[0].Address} {port.Value.Host}"], await AllocatedTo("p1"));
        await AssertAuditCleanAsync();
    }

    [Fact]
    public async Task A_bind_whose_write_fails_changes_nothing_and_releases_the_new_address()
    {
        var created = await CreateAsync("p1", null);
        // IPAM's rows are stored, the port's write fails.
        _cluster.Store.FailWritesOf = id => id.Type.ToString() == Resources.GrainTypes.Endpoint;
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => BindAsync("p1", "h1"));
        }
        finally
        {
            _cluster.Store.FailWritesOf = null;
        }
        Assert.Equal(created, await Port("p1").GetAsync());
        Assert.Equal(["10.65.0.2 -"], await AllocatedTo("p1"));
        Assert.Equal(["10.65.0.64"], Addresses(await BindAsync("p1", "h1")));
        await AssertAuditCleanAsync();
    }

    [Fact]
    public async Task Switched_off_a_first_bind_keeps_the_address()
    {
        await using var cluster = await CalicoTestCluster.StartAsync(configure: c => c.Settings["Ipam:ReassignOnFirstBind"] = "false");
        await SetUpAsync(cluster);
        var address = (await cluster.Grains.GetGrain<ISubnetIpamGrain>("sub-1").AllocateAsync("p1", null, null)).Address;
        var port = cluster.Grains.GetGrain<IEndpointGrain>("p1");
        var created = await port.CreateAsync(Samples.Endpoint("p1", null, address.ToString()));
        var bound = await port.BindAsync(created.Value with { Host = "h1" }, created.Revision);
        Assert.Equal([address], bound.Value.FixedIps.Select(f => f.Address));
    }
}
