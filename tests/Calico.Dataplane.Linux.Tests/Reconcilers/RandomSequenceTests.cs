using System.Net;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Kernel;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Netlink;
using Microsoft.Extensions.Logging.Abstractions;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;
using RouteKind = Calico.Model.Desired.RouteKind;

namespace Calico.Dataplane.Linux.Tests.Reconcilers;

/// <summary>
/// The interface and route components under random sequences, as the engine's tests replay random histories: desired
/// changes (ports, remote blocks, blackholes coming and going) interleaved with hand edits of the kernel (our routes
/// deleted, changed or added, sysctls and neighbours undone, links unplugged, plugged again or set down) and link
/// notices. After every resync the kernel holds exactly what the desired state says for the links present, whatever
/// came before; a port whose tap is missing is DOWN, the others ACTIVE. On the fake kernel, which passes the same
/// contract suite as the real one (NetlinkContractTests).
/// </summary>
public sealed class RandomSequenceTests
{
    private const int Ports = 6;

    private static string Tap(int i) => $"tap{i:d8}-rs";

    private static string Mac(int i) => $"fa:16:3e:00:01:{i:x2}";

    private static string Address(int i) => $"10.65.3.{i + 1}";

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Desired_changes_interleaved_with_hand_edits_always_converge(int seed)
    {
        var random = new Random(seed);
        var kernel = new FakeKernel();
        kernel.AddLink("eth0", up: true);
        var notices = new FakeLinkNotifications();
        var options = Options();
        using var dataplane = On(kernel, options, links: notices);
        var state = new Dictionary<DesiredKey, DesiredItem>();

        for (var step = 0; step < 80; step++)
        {
            switch (random.Next(10))
            {
                case < 4:
                    var changes = ChangeDesired(random, state);
                    await dataplane.ApplyAsync(state, changes, isSnapshot: false, CancellationToken.None);
                    break;
                case < 8:
                    EditByHand(random, kernel, notices);
                    break;
                case 8:
                    // What the agent does when the link watch wakes it: whatever notices are pending, none included.
                    await dataplane.ReconcileKernelChangesAsync(CancellationToken.None);
                    break;
                default:
                    var result = await dataplane.ResyncAsync(CancellationToken.None);
                    AssertConverged(kernel, state, result, $"seed {seed}, step {step}");
                    break;
            }
        }
        var last = await dataplane.ResyncAsync(CancellationToken.None);
        AssertConverged(kernel, state, last, $"seed {seed}, end");
    }

    /// <summary>A port bound or unbound (its interface and local route), a remote block or a blackhole added or removed.</summary>
    private static List<DesiredChange> ChangeDesired(Random random, Dictionary<DesiredKey, DesiredItem> state)
    {
        var i = random.Next(Ports);
        DesiredItem[] items = random.Next(3) switch
        {
            0 => [Interface(Tap(i), Mac(i), Address(i)), Local(Address(i) + "/32", Tap(i))],
            1 => [Via($"10.66.{i}.0/26", $"172.18.203.{30 + random.Next(3)}")],
            _ => [Blackhole($"10.65.{10 + i}.0/26")],
        };
        var changes = new List<DesiredChange>();
        // Present with the same value: remove; otherwise set (a via route may change its gateway).
        var remove = items.All(item => state.TryGetValue(item.Key, out var held) && held.Equals(item));
        foreach (var item in items)
        {
            if (remove) state.Remove(item.Key);
            else state[item.Key] = item;
            changes.Add(new DesiredChange(item.Key, remove ? null : item));
        }
        return changes;
    }

    private static void EditByHand(Random random, FakeKernel kernel, FakeLinkNotifications notices)
    {
        var ours = kernel.Routes.Values.Where(r => r.Protocol == (RouteProtocol)80).ToList();
        var taps = kernel.Links.Values.Where(l => l.Name.StartsWith("tap", StringComparison.Ordinal)).ToList();
        switch (random.Next(8))
        {
            case 0 when ours.Count > 0:
                kernel.Routes.Remove(ours[random.Next(ours.Count)].Key);
                break;
            case 1 when ours.Count > 0:
                var changed = ours[random.Next(ours.Count)];
                kernel.Routes[changed.Key] = Route.ViaGateway(changed.Destination, IPAddress.Parse("172.18.203.99"), 1, (RouteProtocol)80);
                break;
            case 2:
                var stale = Route.Blackhole(IPNetwork.Parse($"10.67.{random.Next(4)}.0/24"), (RouteProtocol)80);
                kernel.Routes[stale.Key] = stale;
                break;
            case 3 when taps.Count > 0:
                kernel.SysctlValues[$"net/ipv4/conf/{taps[random.Next(taps.Count)].Name}/proxy_arp"] = "0";
                break;
            case 4:
                kernel.Neighbours.Clear();
                break;
            case 5 when taps.Count > 0:
                notices.Deleted(kernel.RemoveLink(taps[random.Next(taps.Count)].Name));
                break;
            case 6 when taps.Count > 0:
                notices.Changed(kernel.SetLinkDown(taps[random.Next(taps.Count)].Name));
                break;
            default:
                var i = random.Next(Ports);
                if (kernel.Links.Values.All(l => l.Name != Tap(i))) notices.Changed(kernel.AddLink(Tap(i), up: random.Next(2) == 0));
                break;
        }
    }

    /// <summary>The kernel holds exactly what the desired state says, for the links present; the statuses say so.</summary>
    private static void AssertConverged(FakeKernel kernel, Dictionary<DesiredKey, DesiredItem> state, DataplaneResult result, string when)
    {
        var links = kernel.Links.Values.ToDictionary(l => l.Name, StringComparer.Ordinal);
        var interfaces = state.Values.OfType<WorkloadInterfaceItem>().ToList();

        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var route in state.Values.OfType<RouteItem>())
        {
            var target = route.Kind switch
            {
                RouteKind.Local when links.TryGetValue(route.InterfaceName!, out var link) => $"dev {link.Index}",
                RouteKind.Local => null,
                RouteKind.ViaHost => $"via {route.Gateway}",
                _ => "blackhole",
            };
            if (target is not null) expected.Add($"{route.Destination} {target}");
        }
        var actual = kernel.Routes.Values.Where(r => r.Protocol == (RouteProtocol)80)
            .Select(r => $"{r.Destination} {(r.Type == RouteType.Blackhole ? "blackhole" : r.Gateway is not null ? $"via {r.Gateway}" : $"dev {r.OutputInterface}")}")
            .ToHashSet(StringComparer.Ordinal);
        Assert.True(expected.SetEquals(actual), $"{when}: routes {string.Join(", ", actual.Order())}, expected {string.Join(", ", expected.Order())}");

        foreach (var item in interfaces)
        {
            var status = result.Endpoints[item.EndpointId];
            if (!links.TryGetValue(item.Name, out var link))
            {
                Assert.True(status.Status == EndpointStatusKind.Down, $"{when}: {item.Name} is missing, its port is {status.Status}");
                continue;
            }
            Assert.True(status.Status == EndpointStatusKind.Active, $"{when}: {item.Name} is present, its port is {status.Status} ({status.Message})");
            Assert.True(link.IsUp, $"{when}: {item.Name} is down");
            Assert.Equal("1", kernel.SysctlValues[$"net/ipv4/conf/{item.Name}/proxy_arp"]);
            Assert.Contains(kernel.Neighbours, n => n.InterfaceIndex == link.Index && n.State == NeighbourState.Permanent &&
                n.Destination.Equals(item.Addresses[0].Address));
        }
        Assert.Equal(interfaces.Count, result.Endpoints.Count);
    }
}
