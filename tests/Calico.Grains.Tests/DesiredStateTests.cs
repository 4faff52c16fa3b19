using Microsoft.Extensions.DependencyInjection;
using Calico.Grains.Resources;
using Calico.Model.Desired;
using Calico.Model.Resources;

namespace Calico.Grains.Tests;

/// <summary>The per-host watch: snapshots, changes since a cursor, epochs, and who is woken.</summary>
public sealed class DesiredStateTests : IAsyncLifetime
{
    private CalicoTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = await CalicoTestCluster.StartAsync();
        var g = _cluster.Grains;
        await g.GetGrain<IHostGrain>("h1").RegisterAsync(Samples.Host("h1", "172.18.203.31"));
        await g.GetGrain<IHostGrain>("h2").RegisterAsync(Samples.Host("h2", "172.18.203.44"));
        await g.GetGrain<INetworkGrain>("net-1").CreateAsync(Samples.Network());
        await g.GetGrain<ISubnetGrain>("sub-1").CreateAsync(Samples.Subnet());
        await g.GetGrain<ISecurityGroupGrain>("sg-h1").CreateAsync(Samples.Group("sg-h1", Samples.TcpRule("ssh", 22)));
        await g.GetGrain<ISecurityGroupGrain>("sg-h2").CreateAsync(Samples.Group("sg-h2", Samples.TcpRule("ssh", 22)));
        await g.GetGrain<IEndpointGrain>("p1").CreateAsync(Samples.Endpoint("p1", "h1", "10.65.0.2", "sg-h1"));
        await g.GetGrain<IEndpointGrain>("p2").CreateAsync(Samples.Endpoint("p2", "h2", "10.65.0.3", "sg-h2"));
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private IHostDesiredStateGrain Host(string name) => _cluster.Grains.GetGrain<IHostDesiredStateGrain>(name);

    private static RouteItem? Route(IEnumerable<DesiredChange> items, string prefix) =>
        items.FirstOrDefault(c => c.Key == new DesiredKey(DesiredKind.Route, prefix))?.Item as RouteItem;

    [Fact]
    public void A_member_bucket_travels_packed_and_arrives_equal()
    {
        var serializer = _cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<Orleans.Serialization.Serializer>();
        var members = Enumerable.Range(0, 3000).Select(i => Model.Net.IpPrefix.Host(new System.Net.IPAddress([10, 70, (byte)(i / 250), (byte)(i % 250 + 1)])))
            .Concat([Model.Net.IpPrefix.Parse("10.66.0.0/24"), Model.Net.IpPrefix.Parse("fd00::1/128"), Model.Net.IpPrefix.Parse("fd00:1::/64")]);
        foreach (var bucket in IpSetMembersItem.Split("sg-web", members))
        {
            var bytes = serializer.SerializeToArray<DesiredItem>(bucket);
            var back = Assert.IsType<IpSetMembersItem>(serializer.Deserialize<DesiredItem>(bytes));
            Assert.Equal(bucket, back);
            Assert.Equal(bucket.Members, back.Members);
            // Packed: about 5 bytes an IPv4 member, rather than an object each.
            Assert.True(bytes.Length < 64 + 8 * bucket.Members.Count, $"{bytes.Length} bytes for {bucket.Members.Count} members");
        }
    }

    [Fact]
    public async Task A_new_watcher_gets_a_snapshot_then_only_changes()
    {
        var snapshot = await Host("h1").WatchAsync(null, TimeSpan.Zero);
        Assert.True(snapshot.IsSnapshot);
        Assert.Equal(RouteKind.Local, Route(snapshot.Changes, "10.65.0.2/32")!.Kind);
        Assert.Equal("172.18.203.44", Route(snapshot.Changes, "10.65.0.3/32")!.Gateway!.ToString());

        await _cluster.Grains.GetGrain<IEndpointGrain>("p3").CreateAsync(Samples.Endpoint("p3", "h2", "10.65.0.4", "sg-h2"));
        var update = await Host("h1").WatchAsync(snapshot.Cursor, TimeSpan.FromSeconds(10));
        Assert.False(update.IsSnapshot);
        Assert.Equal(snapshot.Cursor.Version + 1, update.Cursor.Version);
        var change = Assert.Single(update.Changes);
        Assert.Equal("172.18.203.44", ((RouteItem)change.Item!).Gateway!.ToString());
    }

    [Fact]
    public async Task A_change_for_one_host_does_not_wake_the_other()
    {
        var h1 = await Host("h1").WatchAsync(null, TimeSpan.Zero);
        var h2 = await Host("h2").WatchAsync(null, TimeSpan.Zero);
        var h2Poll = Host("h2").WatchAsync(h2.Cursor, TimeSpan.FromSeconds(2));

        await _cluster.Grains.GetGrain<ISecurityGroupGrain>("sg-h1")
            .PutAsync(Samples.Group("sg-h1", Samples.TcpRule("ssh", 22), Samples.TcpRule("web", 80)));

        var h1Update = await Host("h1").WatchAsync(h1.Cursor, TimeSpan.FromSeconds(10));
        var policy = Assert.IsType<SecurityGroupPolicyItem>(Assert.Single(h1Update.Changes).Item);
        Assert.Equal(2, policy.Rules.Count);
        // h2's long poll ends with nothing: no change, same version.
        var h2Update = await h2Poll;
        Assert.Empty(h2Update.Changes);
        Assert.Equal(h2.Cursor, h2Update.Cursor);
        Assert.Equal(h2.Cursor, await Host("h2").GetCursorAsync());
    }

    [Fact]
    public async Task Changes_made_while_a_watcher_was_away_arrive_when_it_returns()
    {
        var first = await Host("h1").WatchAsync(null, TimeSpan.Zero);
        var local = first.Changes.ToDictionary(c => c.Key, c => c.Item!);

        var endpoints = _cluster.Grains;
        await endpoints.GetGrain<IEndpointGrain>("p4").CreateAsync(Samples.Endpoint("p4", "h2", "10.65.0.5"));
        await endpoints.GetGrain<IEndpointGrain>("p5").CreateAsync(Samples.Endpoint("p5", "h1", "10.65.0.6", "sg-h1"));
        await endpoints.GetGrain<IEndpointGrain>("p4").DeleteAsync();
        await endpoints.GetGrain<IEndpointGrain>("p2").PutAsync(Samples.Endpoint("p2", "h2", "10.65.0.30", "sg-h2"));

        var update = await Host("h1").WatchAsync(first.Cursor, TimeSpan.Zero);
        Assert.False(update.IsSnapshot);
        DesiredDiff.ApplyTo(local, update.Changes);
        var fresh = await Host("h1").WatchAsync(null, TimeSpan.Zero);
        Assert.Equal(fresh.Changes.ToDictionary(c => c.Key, c => c.Item!).OrderBy(kv => kv.Key), local.OrderBy(kv => kv.Key));
        Assert.DoesNotContain(local.Keys, k => k.Id == "10.65.0.5/32" || k.Id == "10.65.0.3/32");
        Assert.Contains(new DesiredKey(DesiredKind.Route, "10.65.0.30/32"), local.Keys);
        Assert.Contains(new DesiredKey(DesiredKind.Interface, "tapp5"), local.Keys);
    }

    [Fact]
    public async Task Pushes_a_watcher_acknowledged_are_dropped_and_a_lost_answer_is_served_again()
    {
        var first = await Host("h1").WatchAsync(null, TimeSpan.Zero);
        await _cluster.Grains.GetGrain<IEndpointGrain>("p6").CreateAsync(Samples.Endpoint("p6", "h2", "10.65.0.7"));
        var update = await Host("h1").WatchAsync(first.Cursor, TimeSpan.FromSeconds(10));
        Assert.False(update.IsSnapshot);
        // The answer was lost: the watcher asks again from the cursor it had, and gets the same changes.
        var again = await Host("h1").WatchAsync(first.Cursor, TimeSpan.Zero);
        Assert.False(again.IsSnapshot);
        Assert.Equal(update.Cursor, again.Cursor);
        Assert.Equal(update.Changes, again.Changes);

        await _cluster.Grains.GetGrain<IEndpointGrain>("p7").CreateAsync(Samples.Endpoint("p7", "h2", "10.65.0.8"));
        var next = await Host("h1").WatchAsync(update.Cursor, TimeSpan.FromSeconds(10));
        Assert.False(next.IsSnapshot);
        Assert.Equal("10.65.0.8/32", Assert.Single(next.Changes).Key.Id);
        // Watching from update.Cursor acknowledged what came before it: the log no longer holds it, so a watcher from
        // the first cursor now needs a snapshot (which holds both ports).
        var behind = await Host("h1").WatchAsync(first.Cursor, TimeSpan.Zero);
        Assert.True(behind.IsSnapshot);
        Assert.NotNull(Route(behind.Changes, "10.65.0.7/32"));
        Assert.NotNull(Route(behind.Changes, "10.65.0.8/32"));
    }

    [Fact]
    public async Task A_new_host_grain_activation_means_a_new_epoch_and_a_full_snapshot()
    {
        var before = await Host("h1").WatchAsync(null, TimeSpan.Zero);
        await _cluster.Cluster.DeactivateAsync(Host("h1"));
        var after = await Host("h1").WatchAsync(before.Cursor, TimeSpan.Zero);
        Assert.True(after.IsSnapshot);
        Assert.NotEqual(before.Cursor.Epoch, after.Cursor.Epoch);
        Assert.Equal(before.Changes.OrderBy(c => c.Key), after.Changes.OrderBy(c => c.Key));
    }

    [Fact]
    public async Task A_restarted_calculator_rebuilds_from_the_store_and_watchers_take_its_snapshot()
    {
        var before = await Host("h1").WatchAsync(null, TimeSpan.Zero);
        await _cluster.Cluster.DeactivateAsync(_cluster.Grains.GetGrain<IDesiredStateCalculatorGrain>(0));
        await _cluster.Grains.GetGrain<IEndpointGrain>("p6").CreateAsync(Samples.Endpoint("p6", "h2", "10.65.0.7"));
        // The new activation numbers from a new epoch: the watcher's cursor is void, and it gets the whole state,
        // which is exactly what it had plus the route to the port stored meanwhile.
        var update = await Host("h1").WatchAsync(before.Cursor, TimeSpan.FromSeconds(10));
        Assert.True(update.IsSnapshot);
        Assert.NotEqual(before.Cursor.Epoch, update.Cursor.Epoch);
        var added = update.Changes.ExceptBy(before.Changes.Select(c => c.Key), c => c.Key).ToList();
        Assert.Equal("h2", Route(added, "10.65.0.7/32")!.ViaHost);
        Assert.Single(added);
        Assert.Equal(before.Changes.Count + 1, update.Changes.Count);
        Assert.All(before.Changes, c => Assert.Equal(c.Item, update.Changes.Single(u => u.Key == c.Key).Item));
    }

    [Fact]
    public async Task A_lost_notification_is_repaired_by_the_resync()
    {
        var before = await Host("h1").WatchAsync(null, TimeSpan.Zero);
        // Stored without telling the calculator, as if the notification had been lost.
        var grainId = _cluster.Grains.GetGrain<IEndpointGrain>("p7").GetGrainId();
        var etagless = new TestGrainState<ResourceState<WorkloadEndpoint>>(new ResourceState<WorkloadEndpoint>
        {
            Value = Samples.Endpoint("p7", "h2", "10.65.0.8"), Revision = 1, UpdatedAt = DateTimeOffset.UtcNow,
        });
        await _cluster.Store.For(_cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<Orleans.Serialization.DeepCopier>()).WriteStateAsync("state", grainId, etagless);
        Assert.Empty((await Host("h1").WatchAsync(before.Cursor, TimeSpan.Zero)).Changes);

        await _cluster.Grains.GetGrain<IDesiredStateCalculatorGrain>(0).ResyncAsync();
        var update = await Host("h1").WatchAsync(before.Cursor, TimeSpan.FromSeconds(10));
        Assert.Equal("h2", Route(update.Changes, "10.65.0.8/32")!.ViaHost);
    }
}

internal sealed class TestGrainState<T>(T state) : IGrainState<T>
{
    [System.Diagnostics.CodeAnalysis.AllowNull]
    public T State { get; set; } = state;

    public string? ETag { get; set; }

    public bool RecordExists { get; set; }
}
