using Calico.Grains.DesiredState;

namespace Calico.Grains.Tests;

public sealed class CalculatorShardsTests
{
    [Fact]
    public void Every_host_maps_to_one_shard_the_same_way_every_time()
    {
        var hosts = Enumerable.Range(0, 3000).Select(i => $"compute-{i:0000}").ToList();
        var counts = new int[3];
        foreach (var host in hosts)
        {
            var shard = CalculatorShards.Of(host, 3);
            Assert.Equal(shard, CalculatorShards.Of(new string(host.ToCharArray()), 3));
            counts[shard]++;
        }
        // Spread: no shard gets less than a quarter of the hosts.
        Assert.All(counts, c => Assert.True(c > hosts.Count / 4, $"shard sizes {string.Join(", ", counts)}"));
        Assert.All(hosts, h => Assert.Equal(0, CalculatorShards.Of(h, 1)));
    }

    [Theory]
    [InlineData(0, 2000, "Calculator:Shards")]
    [InlineData(2000, 2000, "Calculator:Shards")]
    [InlineData(2, 0, "Calculator:ResyncChunk")]
    public void Settings_that_cannot_work_are_refused_by_name(int shards, int chunk, string key)
    {
        var result = new CalculatorOptionsValidator().Validate(null, new CalculatorOptions { Shards = shards, ResyncChunk = chunk });
        Assert.True(result.Failed);
        Assert.Contains(key, result.FailureMessage);
        Assert.True(new CalculatorOptionsValidator().Validate(null, new CalculatorOptions { Shards = 3 }).Succeeded);
    }

    [Theory]
    [InlineData("ospf", 64512u, "Routing:Mode 'ospf'")]
    [InlineData("bgp", 0u, "Routing:AsNumber 0")]
    [InlineData("bgp", 23456u, "Routing:AsNumber 23456")]
    public void Routing_settings_that_cannot_work_are_refused_by_name(string mode, uint asNumber, string words)
    {
        var result = new RoutingOptionsValidator().Validate(null, new RoutingOptions { Mode = mode, AsNumber = asNumber });
        Assert.True(result.Failed);
        Assert.Contains(words, result.FailureMessage);
        var bgp = new RoutingOptions { Mode = "BGP", AsNumber = 65001 };
        Assert.True(new RoutingOptionsValidator().Validate(null, bgp).Succeeded);
        Assert.Equal(new Calico.Model.Desired.ClusterRouting(Calico.Model.Desired.RoutingMode.Bgp, 65001), bgp.ToClusterRouting());
        Assert.False(new RoutingOptions().ToClusterRouting().IsBgp);
    }
}
