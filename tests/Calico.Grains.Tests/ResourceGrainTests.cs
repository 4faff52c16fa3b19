using Calico.Grains.Resources;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Grains.Tests;

public sealed class ResourceGrainTests : IAsyncLifetime
{
    private CalicoTestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await CalicoTestCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Create_get_update_delete_with_revisions()
    {
        var grain = _cluster.Grains.GetGrain<INetworkGrain>("net-1");
        Assert.Null(await grain.GetAsync());
        var created = await grain.CreateAsync(Samples.Network());
        Assert.Equal(1, created.Revision);
        var updated = await grain.PutAsync(Samples.Network() with { Mtu = 9000 }, expectedRevision: 1);
        Assert.Equal(2, updated.Revision);
        Assert.Equal(9000, (await grain.GetAsync())!.Value.Mtu);
        // Writing the same value again is not a change.
        Assert.Equal(2, (await grain.PutAsync(Samples.Network() with { Mtu = 9000 })).Revision);
        await grain.DeleteAsync(expectedRevision: 2);
        Assert.Null(await grain.GetAsync());
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => grain.DeleteAsync());
        // Created again after a delete: revisions keep growing (the delete left a tombstone).
        Assert.Equal(4, (await grain.CreateAsync(Samples.Network())).Revision);
    }

    [Fact]
    public async Task Invalid_input_names_the_field_and_changes_nothing()
    {
        var grain = _cluster.Grains.GetGrain<ISubnetGrain>("sub-1");
        await grain.CreateAsync(Samples.Subnet());
        var writes = _cluster.Store.Writes;
        var ex = await Assert.ThrowsAsync<InvalidInputException>(() =>
            grain.PutAsync(Samples.Subnet() with { GatewayIp = System.Net.IPAddress.Parse("10.66.0.1") }));
        Assert.Contains(ex.Errors, e => e.Field == "gateway_ip" && e.Reason.Contains("outside 10.65.0.0/24", StringComparison.Ordinal));
        var cidr = await Assert.ThrowsAsync<InvalidInputException>(() =>
            grain.PutAsync(Samples.Subnet() with { Cidr = Calico.Model.Net.IpPrefix.Parse("10.66.0.0/24"), GatewayIp = null }));
        Assert.Contains(cidr.Errors, e => e.Field == "cidr" && e.Reason == "cannot be changed");
        var wrongId = await Assert.ThrowsAsync<InvalidInputException>(() => grain.PutAsync(Samples.Subnet("sub-2")));
        Assert.Contains(wrongId.Errors, e => e.Field == "id");
        Assert.Equal(writes, _cluster.Store.Writes);
        Assert.Equal(Samples.Subnet(), (await grain.GetAsync())!.Value);
    }

    [Fact]
    public async Task Conflicts_are_refused()
    {
        var grain = _cluster.Grains.GetGrain<ISecurityGroupGrain>("sg-1");
        await grain.CreateAsync(Samples.Group("sg-1"));
        await Assert.ThrowsAsync<ResourceConflictException>(() => grain.CreateAsync(Samples.Group("sg-1")));
        await grain.PutAsync(Samples.Group("sg-1", Samples.TcpRule("r1", 22)), expectedRevision: 1);
        // A second writer that read revision 1 cannot overwrite revision 2.
        var stale = await Assert.ThrowsAsync<ResourceConflictException>(() =>
            grain.PutAsync(Samples.Group("sg-1", Samples.TcpRule("r2", 80)), expectedRevision: 1));
        Assert.Contains("revision is 2, not the expected 1", stale.Message, StringComparison.Ordinal);
        Assert.Equal("r1", (await grain.GetAsync())!.Value.Rules[0].Id);
    }

    [Fact]
    public async Task A_failed_write_leaves_memory_and_storage_the_same()
    {
        var grain = _cluster.Grains.GetGrain<INetworkGrain>("net-f");
        await grain.CreateAsync(Samples.Network("net-f"));
        var id = grain.GetGrainId();
        _cluster.Store.FailWrites = true;
        try
        {
            // Orleans wraps the store's exception; the cause is the injected one.
            var put = await Assert.ThrowsAnyAsync<Exception>(() => grain.PutAsync(Samples.Network("net-f") with { Mtu = 9000 }));
            Assert.IsType<IOException>(put.InnerException);
            var delete = await Assert.ThrowsAnyAsync<Exception>(() => grain.DeleteAsync());
            Assert.IsType<IOException>(delete.InnerException);
        }
        finally
        {
            _cluster.Store.FailWrites = false;
        }
        var inMemory = await grain.GetAsync();
        Assert.Equal(1500, inMemory!.Value.Mtu);
        Assert.Equal(1, inMemory.Revision);
        var stored = (ResourceState<Network>)_cluster.Store.Peek(id)!;
        Assert.Equal(1500, stored.Value!.Mtu);
        Assert.Equal(1, stored.Revision);
        // The grain still works, from the same revision.
        Assert.Equal(2, (await grain.PutAsync(Samples.Network("net-f") with { Mtu = 9000 }, expectedRevision: 1)).Revision);
    }

    [Fact]
    public async Task A_host_keeps_the_statuses_its_own_dataplane_reports_changes_merge_and_a_complete_report_replaces()
    {
        var host = _cluster.Grains.GetGrain<IHostGrain>("h-status-1");
        static EndpointStatus S(EndpointStatusKind kind, string host = "h-status-1") => new(kind, null, host, 1, DateTimeOffset.UtcNow);
        Assert.Null(await host.GetEndpointStatusAsync("p1"));

        // A status naming another host is not taken.
        await host.ReportEndpointStatusesAsync(new EndpointStatusReport(new Dictionary<string, EndpointStatus> { ["p1"] = S(EndpointStatusKind.Active, "h2") }, [], false));
        Assert.Null(await host.GetEndpointStatusAsync("p1"));

        await host.ReportEndpointStatusesAsync(new EndpointStatusReport(new Dictionary<string, EndpointStatus>
            { ["p1"] = S(EndpointStatusKind.Active), ["p2"] = S(EndpointStatusKind.Error) }, [], false));
        Assert.Equal(EndpointStatusKind.Active, (await host.GetEndpointStatusAsync("p1"))!.Status);

        // A change: p2 changed, p1 left the host; p3 stays unknown.
        await host.ReportEndpointStatusesAsync(new EndpointStatusReport(new Dictionary<string, EndpointStatus> { ["p2"] = S(EndpointStatusKind.Active) }, ["p1"], false));
        Assert.Null(await host.GetEndpointStatusAsync("p1"));
        Assert.Equal(EndpointStatusKind.Active, (await host.GetEndpointStatusAsync("p2"))!.Status);

        // A complete report is everything: p2, not in it, is gone.
        await host.ReportEndpointStatusesAsync(new EndpointStatusReport(new Dictionary<string, EndpointStatus> { ["p3"] = S(EndpointStatusKind.Down) }, [], true));
        Assert.Null(await host.GetEndpointStatusAsync("p2"));
        Assert.Equal(EndpointStatusKind.Down, (await host.GetEndpointStatusAsync("p3"))!.Status);
    }
}
