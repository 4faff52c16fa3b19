using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Resources;

namespace Calico.Grains.Tests;

/// <summary>
/// A port's effective QoS policy (its own, else its network's) travels in its interface item to the host it is bound
/// to, and a policy change reaches only the hosts with ports using it.
/// </summary>
public sealed class QosDesiredStateTests : IAsyncLifetime
{
    private CalicoTestCluster _cluster = null!;

    private static QosPolicy Policy(string id, params QosRule[] rules) => new(id, id, "proj", rules.ToValueList());

    private static QosRule Bandwidth(string id, long kbps, string direction = QosRule.Egress) => new(id, QosRule.BandwidthLimit, kbps, kbps / 10, direction);

    public async Task InitializeAsync()
    {
        _cluster = await CalicoTestCluster.StartAsync();
        var g = _cluster.Grains;
        await g.GetGrain<IHostGrain>("h1").RegisterAsync(Samples.Host("h1", "172.18.203.31"));
        await g.GetGrain<IHostGrain>("h2").RegisterAsync(Samples.Host("h2", "172.18.203.44"));
        await g.GetGrain<IQosPolicyGrain>("qos-gold").CreateAsync(Policy("qos-gold", Bandwidth("r1", 10_000)));
        await g.GetGrain<IQosPolicyGrain>("qos-net").CreateAsync(Policy("qos-net", Bandwidth("r2", 500, QosRule.Ingress)));
        await g.GetGrain<INetworkGrain>("net-1").CreateAsync(Samples.Network());
        await g.GetGrain<ISubnetGrain>("sub-1").CreateAsync(Samples.Subnet());
        await g.GetGrain<IEndpointGrain>("p1").CreateAsync(Samples.Endpoint("p1", "h1", "10.65.0.2") with { QosPolicyId = "qos-gold" });
        await g.GetGrain<IEndpointGrain>("p2").CreateAsync(Samples.Endpoint("p2", "h2", "10.65.0.3"));
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private IHostDesiredStateGrain Host(string name) => _cluster.Grains.GetGrain<IHostDesiredStateGrain>(name);

    private static WorkloadInterfaceItem Interface(IEnumerable<DesiredChange> changes, string port) =>
        (WorkloadInterfaceItem)changes.Single(c => c.Key == new DesiredKey(DesiredKind.Interface, WorkloadEndpoint.InterfaceNameFor(port))).Item!;

    [Fact]
    public async Task A_rule_change_reaches_the_host_of_a_port_using_the_policy_and_wakes_no_other()
    {
        var h1 = await Host("h1").WatchAsync(null, TimeSpan.Zero);
        var h2 = await Host("h2").WatchAsync(null, TimeSpan.Zero);
        var qos = Interface(h1.Changes, "p1").Qos!;
        Assert.Equal("qos-gold", qos.PolicyId);
        Assert.Equal(10_000, Assert.Single(qos.Rules).Max);
        Assert.Null(Interface(h2.Changes, "p2").Qos);
        var h2Poll = Host("h2").WatchAsync(h2.Cursor, TimeSpan.FromSeconds(2));

        await _cluster.Grains.GetGrain<IQosPolicyGrain>("qos-gold").PutAsync(Policy("qos-gold", Bandwidth("r1", 20_000)));

        var update = await Host("h1").WatchAsync(h1.Cursor, TimeSpan.FromSeconds(10));
        var changed = Assert.IsType<WorkloadInterfaceItem>(Assert.Single(update.Changes).Item);
        Assert.Equal(20_000, Assert.Single(changed.Qos!.Rules).Max);
        Assert.Equal(Interface(h1.Changes, "p1") with { Qos = changed.Qos }, changed);
        // h2 has no port using the policy: its long poll ends with nothing, at the same version.
        var h2Update = await h2Poll;
        Assert.Empty(h2Update.Changes);
        Assert.Equal(h2.Cursor, h2Update.Cursor);

        // A change that leaves the limits as they were (the name) reaches nobody.
        var h1Poll = Host("h1").WatchAsync(update.Cursor, TimeSpan.FromSeconds(2));
        await _cluster.Grains.GetGrain<IQosPolicyGrain>("qos-gold").PutAsync(Policy("qos-gold", Bandwidth("r1", 20_000)) with { Name = "gold" });
        Assert.Empty((await h1Poll).Changes);
    }

    [Fact]
    public async Task A_port_takes_its_networks_policy_unless_it_names_its_own()
    {
        var g = _cluster.Grains;
        var h2 = await Host("h2").WatchAsync(null, TimeSpan.Zero);
        var h1 = await Host("h1").WatchAsync(null, TimeSpan.Zero);
        var h1Poll = Host("h1").WatchAsync(h1.Cursor, TimeSpan.FromSeconds(2));

        await g.GetGrain<INetworkGrain>("net-1").PutAsync(Samples.Network() with { QosPolicyId = "qos-net" });

        // p2 (no policy of its own) takes the network's; p1 keeps its own, so h1 is not told anything.
        var update = await Host("h2").WatchAsync(h2.Cursor, TimeSpan.FromSeconds(10));
        Assert.Equal("qos-net", Interface(update.Changes, "p2").Qos!.PolicyId);
        Assert.Empty((await h1Poll).Changes);

        // The network's policy changing reaches p2's host; its own policy set on p2 wins.
        await g.GetGrain<IQosPolicyGrain>("qos-net").PutAsync(Policy("qos-net", Bandwidth("r2", 700, QosRule.Ingress)));
        update = await Host("h2").WatchAsync(update.Cursor, TimeSpan.FromSeconds(10));
        Assert.Equal(700, Interface(update.Changes, "p2").Qos!.Rules[0].Max);
        await g.GetGrain<IEndpointGrain>("p2").PutAsync(Samples.Endpoint("p2", "h2", "10.65.0.3") with { QosPolicyId = "qos-gold" });
        update = await Host("h2").WatchAsync(update.Cursor, TimeSpan.FromSeconds(10));
        Assert.Equal("qos-gold", Interface(update.Changes, "p2").Qos!.PolicyId);

        // Cleared everywhere: no QoS (null) again, and the snapshot agrees with the changes.
        await g.GetGrain<IEndpointGrain>("p2").PutAsync(Samples.Endpoint("p2", "h2", "10.65.0.3"));
        await g.GetGrain<INetworkGrain>("net-1").PutAsync(Samples.Network());
        var snapshot = await Host("h2").WatchAsync(null, TimeSpan.Zero);
        Assert.Null(Interface(snapshot.Changes, "p2").Qos);
    }
}
