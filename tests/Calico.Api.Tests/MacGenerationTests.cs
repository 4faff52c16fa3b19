using Calico.Api.Http;
using Calico.Api.Ports;

namespace Calico.Api.Tests;

/// <summary>A MAC the API generates is drawn again while the network already uses it; it is never refused as in use.</summary>
public sealed class MacGenerationTests
{
    [Fact]
    public async Task A_generated_mac_that_the_network_uses_is_drawn_again()
    {
        var draws = new Queue<string>(["fa:16:3e:00:00:01", "fa:16:3e:00:00:02", "fa:16:3e:00:00:03"]);
        var inUse = new HashSet<string>(["fa:16:3e:00:00:01", "fa:16:3e:00:00:02"]);

        Assert.Equal("fa:16:3e:00:00:03", await PortJson.NewMacAsync(mac => Task.FromResult(inUse.Contains(mac)), draws.Dequeue));
        Assert.Empty(draws);
    }

    [Fact]
    public async Task A_network_where_every_draw_is_taken_gets_a_conflict_that_says_so()
    {
        var inUse = new HashSet<string>(["fa:16:3e:00:00:01"]);

        var refused = await Assert.ThrowsAsync<ApiException>(() => PortJson.NewMacAsync(mac => Task.FromResult(inUse.Contains(mac)), () => "fa:16:3e:00:00:01"));

        Assert.Equal(409, refused.Status);
        Assert.Equal("MacAddressGenerationFailure", refused.Type);
    }

    [Fact]
    public async Task Random_macs_are_in_openstacks_range()
    {
        var mac = await PortJson.NewMacAsync(_ => Task.FromResult(false));
        Assert.Matches("^fa:16:3e(:[0-9a-f]{2}){3}$", mac);
    }
}
