using Calico.Datastore;
using Calico.Grains.Resources;
using Calico.Model.Resources;
using Microsoft.Extensions.DependencyInjection;

namespace Calico.Grains.Tests;

/// <summary>
/// The per-network listing of ports (<see cref="NetworkPortRow"/>): a port's row is stored before the port and goes
/// after it, and a store whose ports have no rows (written before the listing existed) gets them once.
/// </summary>
public sealed class NetworkPortRowTests : IAsyncLifetime
{
    private CalicoTestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await CalicoTestCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private IGrainStateCatalog Catalog =>
        _cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainStateCatalog>();

    private async Task<List<NetworkPortRow>> RowsAsync(string prefix)
    {
        var rows = new List<NetworkPortRow>();
        await foreach (var (key, row) in Catalog.ListAsync<NetworkPortRow>(GrainTypes.NetworkPort, prefix))
        {
            Assert.Equal(row.Key, key);
            rows.Add(row);
        }
        return rows;
    }

    [Fact]
    public async Task A_port_is_listed_on_its_network_while_it_exists_and_by_its_mac()
    {
        var p1 = Samples.Endpoint("p1", "h1", "10.65.0.3");
        var p2 = Samples.Endpoint("p2", null, "10.65.0.4") with { NetworkId = "net-2" };
        await _cluster.Grains.GetGrain<IEndpointGrain>("p1").CreateAsync(p1);
        await _cluster.Grains.GetGrain<IEndpointGrain>("p2").CreateAsync(p2);

        Assert.Equal([NetworkPortRow.Of(p1)], await RowsAsync(NetworkPortRow.NetworkPrefix("net-1")));
        Assert.Equal([NetworkPortRow.Of(p2)], await RowsAsync(NetworkPortRow.NetworkPrefix("net-2")));
        Assert.Equal([NetworkPortRow.Of(p1)], await RowsAsync(NetworkPortRow.MacPrefix("net-1", p1.MacAddress)));
        Assert.Empty(await RowsAsync(NetworkPortRow.MacPrefix("net-1", "fa:16:3e:ff:ff:ff")));

        // An update that keeps network and MAC writes no row; one that changes the MAC moves it.
        var writes = _cluster.Store.Writes;
        await _cluster.Grains.GetGrain<IEndpointGrain>("p1").PutAsync(p1 with { Name = "renamed" });
        Assert.Equal(writes + 1, _cluster.Store.Writes);
        var moved = p1 with { MacAddress = "fa:16:3e:ab:cd:ef" };
        await _cluster.Grains.GetGrain<IEndpointGrain>("p1").PutAsync(moved);
        Assert.Equal([NetworkPortRow.Of(moved)], await RowsAsync(NetworkPortRow.NetworkPrefix("net-1")));

        await _cluster.Grains.GetGrain<IEndpointGrain>("p1").DeleteAsync();
        Assert.Empty(await RowsAsync(NetworkPortRow.NetworkPrefix("net-1")));
        // Created again after its delete: listed again.
        await _cluster.Grains.GetGrain<IEndpointGrain>("p1").CreateAsync(p1);
        Assert.Equal([NetworkPortRow.Of(p1)], await RowsAsync(NetworkPortRow.NetworkPrefix("net-1")));
    }

    [Fact]
    public async Task The_row_is_stored_before_the_port()
    {
        var port = Samples.Endpoint("p1", "h1", "10.65.0.3");
        var portId = GrainId.Create(GrainTypes.Endpoint, "p1");
        var rowId = NetworkPortRow.RowId(NetworkPortRow.Of(port).Key);
        var first = new TaskCompletionSource();
        _cluster.Store.WriteGate = first;
        var create = _cluster.Grains.GetGrain<IEndpointGrain>("p1").CreateAsync(port);
        await WaitUntilAsync(() => Volatile.Read(ref _cluster.Store.WaitingWrites) == 1);

        // Let the first write through and hold the second: the row is stored, the port not yet.
        var second = new TaskCompletionSource();
        _cluster.Store.WriteGate = second;
        first.SetResult();
        await WaitUntilAsync(() => Volatile.Read(ref _cluster.Store.WaitingWrites) == 2);
        Assert.Equal(NetworkPortRow.Of(port), _cluster.Store.Peek(rowId));
        Assert.Null(_cluster.Store.Peek(portId));

        _cluster.Store.WriteGate = null;
        second.SetResult();
        await create;
        Assert.Equal(port, ((ResourceState<WorkloadEndpoint>)_cluster.Store.Peek(portId)!).Value);
    }

    [Fact]
    public async Task A_refused_row_write_refuses_the_port_and_changes_nothing()
    {
        var port = Samples.Endpoint("p1", "h1", "10.65.0.3");
        _cluster.Store.FailWrites = true;
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => _cluster.Grains.GetGrain<IEndpointGrain>("p1").CreateAsync(port));
        }
        finally
        {
            _cluster.Store.FailWrites = false;
        }
        Assert.Null(await _cluster.Grains.GetGrain<IEndpointGrain>("p1").GetAsync());
        Assert.Null(_cluster.Store.Peek(GrainId.Create(GrainTypes.Endpoint, "p1")));
        Assert.Equal(1, (await _cluster.Grains.GetGrain<IEndpointGrain>("p1").CreateAsync(port)).Revision);
    }

    [Fact]
    public async Task Ports_stored_before_the_listing_existed_are_given_their_rows_once()
    {
        // A store written by an earlier version: ports without rows.
        var ports = Enumerable.Range(1, 5).Select(i => Samples.Endpoint($"p{i}", "h1", $"10.65.0.{i + 2}")).ToList();
        foreach (var p in ports) await _cluster.Grains.GetGrain<IEndpointGrain>(p.Id).CreateAsync(p);
        foreach (var p in ports) Assert.True(_cluster.Store.Rows.TryRemove(NetworkPortRow.RowId(NetworkPortRow.Of(p).Key), out _));
        await _cluster.Grains.GetGrain<IEndpointGrain>("p5").DeleteAsync();
        Assert.Empty(await RowsAsync(NetworkPortRow.NetworkPrefix("net-1")));

        // A failed fill is not marked complete: the next call fills again.
        var listing = _cluster.Grains.GetGrain<INetworkPortListingGrain>(0);
        _cluster.Store.FailWrites = true;
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(listing.EnsureCompleteAsync);
        }
        finally
        {
            _cluster.Store.FailWrites = false;
        }
        await listing.EnsureCompleteAsync();
        Assert.Equal(ports.Take(4).Select(NetworkPortRow.Of).OrderBy(r => r.Key, StringComparer.Ordinal),
            (await RowsAsync(NetworkPortRow.NetworkPrefix("net-1"))).OrderBy(r => r.Key, StringComparer.Ordinal));
        Assert.True(((NetworkPortListingState)_cluster.Store.Peek(_cluster.Store.Rows.Keys.Single(k => k.Type.ToString() == GrainTypes.NetworkPortListing))!).Complete);

        // Complete is stored: a fresh activation (a restarted controller) does not fill again.
        var writes = _cluster.Store.Writes;
        await _cluster.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        await listing.EnsureCompleteAsync();
        Assert.Equal(writes, _cluster.Store.Writes);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!condition()) await Task.Delay(10, timeout.Token);
    }
}
