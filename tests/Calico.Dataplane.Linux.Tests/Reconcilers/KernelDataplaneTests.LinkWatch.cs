using Calico.Model.Desired;
using Calico.Model.Resources;

namespace Calico.Dataplane.Linux.Tests.Reconcilers;

// Nova's order on the real kernel: the port is bound (applied) before its tap exists, then the VIF is plugged. The
// dataplane hears the tap come, go, and go down, and the reconcile that follows programs it at once. No resync is
// ever called here: only the link watch can make these tests pass.
public sealed partial class KernelDataplaneTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>
    /// What the agent's loop does: wait for the dataplane to hear of a change, reconcile, until the endpoint stands as
    /// <paramref name="wanted"/> and <paramref name="done"/> holds. Fails after a generous wait, never on timing.
    /// </summary>
    private static async Task<DataplaneResult> ReconcileUntilAsync(Driver.LinuxDataplane dataplane, EndpointStatusKind wanted, Func<bool> done)
    {
        using var patience = new CancellationTokenSource(Patience);
        var result = DataplaneResult.Empty;
        while (result.Endpoints.GetValueOrDefault("port-" + Tap)?.Status != wanted || !done())
        {
            try
            {
                await dataplane.WaitForKernelChangeAsync(patience.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"not {wanted} within {Patience.TotalSeconds} s of the change; last: {result.Endpoints.GetValueOrDefault("port-" + Tap)}");
            }
            result = await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);
        }
        return result;
    }

    private bool Routed() => OurRoutes().Contains($"10.65.0.3 dev {Tap} scope link", StringComparison.Ordinal);

    /// <summary>IFF_UP, from the flags iproute2 prints: "5: tap...: &lt;BROADCAST,MULTICAST,UP,LOWER_UP&gt; mtu 1500 ...".</summary>
    private bool TapIsUp()
    {
        var line = _host.Ip("-o", "link", "show", "dev", Tap);
        return line[(line.IndexOf('<') + 1)..line.IndexOf('>')].Split(',').Contains("UP");
    }

    [Fact]
    public async Task A_tap_plugged_after_its_port_is_bound_is_programmed_as_it_appears_and_unprogrammed_as_it_goes()
    {
        _host.Ip("link", "del", Tap); // not plugged yet (its VM end goes with it)
        using var dataplane = Dataplane();
        var bound = await dataplane.ApplyAsync(Seed());
        Assert.Equal(EndpointStatusKind.Down, bound.Endpoints["port-" + Tap].Status);
        Assert.False(Routed());

        _host.Ip("link", "add", Tap, "type", "veth", "peer", "name", "eth0", "netns", _vm.Name);
        _vm.Ip("link", "set", "eth0", "address", Mac);
        _vm.Ip("link", "set", "eth0", "up");
        await ReconcileUntilAsync(dataplane, EndpointStatusKind.Active, Routed);

        Assert.True(TapIsUp());
        Assert.Equal("1", _host.Exec("sysctl", "-n", $"net.ipv4.conf.{Tap}.proxy_arp").Trim());
        Assert.Contains($"10.65.0.3 lladdr {Mac} PERMANENT", _host.Ip("neigh", "show", "dev", Tap), StringComparison.Ordinal);

        _host.Ip("link", "del", Tap);
        var unplugged = await ReconcileUntilAsync(dataplane, EndpointStatusKind.Down, () => !Routed());
        Assert.Contains("does not exist", unplugged.Endpoints["port-" + Tap].Message, StringComparison.Ordinal);
        Assert.Contains("blackhole 10.65.0.0/26", OurRoutes(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tap_set_down_by_hand_is_set_up_again_with_its_route_at_once()
    {
        using var dataplane = Dataplane();
        Assert.Equal(EndpointStatusKind.Active, (await dataplane.ApplyAsync(Seed())).Endpoints["port-" + Tap].Status);
        Assert.True(Routed());

        // The kernel drops IPv4 routes on a device that goes down.
        _host.Ip("link", "set", Tap, "down");
        Assert.False(Routed());
        await ReconcileUntilAsync(dataplane, EndpointStatusKind.Active, Routed);

        Assert.True(TapIsUp());
    }
}
