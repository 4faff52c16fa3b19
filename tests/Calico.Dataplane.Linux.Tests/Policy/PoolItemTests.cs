using System.Net;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Dataplane.Linux.Tests.Policy;

/// <summary>
/// The desired state's IP pools (added for outgoing NAT and the floating-IP SNAT exception): every host holds every
/// pool, a pool change reaches every host, the result does not depend on the order, and the file format carries it.
/// </summary>
public sealed class PoolItemTests
{
    private static ResourceChange Change(object value, string key, long revision = 1) => new(ResourceChange.KindOf(value), key, revision, value);

    private static HostSpec Host(string name, string address) => new(name, IPAddress.Parse(address), null, null, ValueMap.Empty);

    [Fact]
    public void Every_host_holds_every_pool_and_a_pool_change_reaches_them_all()
    {
        var engine = new DesiredStateEngine();
        engine.ApplyAll([Change(Host("h1", "172.18.203.31"), "h1"), Change(Host("h2", "172.18.203.44"), "h2")]);

        var added = engine.Apply(Change(new IpPool("pool-a", IpPrefix.Parse("10.65.0.0/16"), 26, false, OutgoingNat: true), "pool-a"));

        Assert.Equal(["h1", "h2"], added.Keys.Order(StringComparer.Ordinal));
        var item = Assert.IsType<IpPoolItem>(Assert.Single(added["h1"]).Item);
        Assert.Equal((IpPrefix.Parse("10.65.0.0/16"), true), (item.Cidr, item.OutgoingNat));

        var changed = engine.Apply(Change(new IpPool("pool-a", IpPrefix.Parse("10.65.0.0/16"), 26, false, OutgoingNat: false), "pool-a", 2));
        Assert.Equal(2, changed.Count);
        Assert.False(((IpPoolItem)engine.Snapshot("h2")[new DesiredKey(DesiredKind.IpPool, "pool-a")]).OutgoingNat);
    }

    [Fact]
    public void Pools_arrive_in_any_order_and_give_the_same_items()
    {
        object[] pools =
        [
            new IpPool("b", IpPrefix.Parse("10.66.0.0/16"), 26, false, false),
            new IpPool("a", IpPrefix.Parse("10.65.0.0/16"), 26, true, true),
            new IpPool("c", IpPrefix.Parse("fd00:65::/48"), 122, false, true),
        ];
        Dictionary<DesiredKey, DesiredItem>? first = null;
        foreach (var order in new[] { new[] { 0, 1, 2 }, [2, 1, 0], [1, 2, 0] })
        {
            var model = new IntentModel();
            model.Apply(Change(Host("h1", "172.18.203.31"), "h1"));
            foreach (var i in order) model.Apply(Change(pools[i], ((IpPool)pools[i]).Name));
            var spec = HostSpecCalculator.Compute(model, "h1");
            first ??= spec;
            Assert.Equal(first.OrderBy(kv => kv.Key), spec.OrderBy(kv => kv.Key));
        }
        Assert.Equal(3, first!.Values.OfType<IpPoolItem>().Count());
    }

    [Fact]
    public void The_desired_state_file_carries_pools()
    {
        var item = new IpPoolItem("pool-a", IpPrefix.Parse("10.65.0.0/16"), OutgoingNat: true);

        var json = DesiredStateJson.Serialize([item]);

        Assert.Contains("\"item\": \"ip-pool\"", json, StringComparison.Ordinal);
        Assert.Equal(item, Assert.Single(DesiredStateJson.Deserialize(json).Values));
    }
}
