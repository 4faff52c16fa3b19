using System.Net;
using Calico.EndToEnd.Tests.Fixtures;
using Calico.Topology;
using Calico.Topology.Kernel;
using Calico.Topology.Probes;

namespace Calico.EndToEnd.Tests;

/// <summary>
/// <c>topology up --racks 2</c> as the tests build it: BGP routing mode, h1 on the fabric (rack r1), h2 on a second
/// segment behind the router namespace whose BIRD reflects routes between them (an operator's global peer, the mesh
/// off, configured with calicoctl). Real compute silos run their BIRDs; a VM in rack r1 reaches a VM in rack r2
/// through routes learned over BGP only, and each host's session to the router shows Established in calicoctl bgp
/// status (reported by the compute silos themselves). Everything is removed at the end.
/// </summary>
public sealed class RacksTests
{
    [Fact]
    public async Task A_vm_in_one_rack_reaches_a_vm_in_the_other_over_bgp_and_the_sessions_are_reported()
    {
        var machine = MachineChecks.TakeSnapshot();
        var prefix = RunPrefix.New(RunPrefix.TestKind);
        var topology = await NamespaceTopology.StartAsync(new TopologyOptions { Hosts = 2, Racks = 2, Prefix = prefix });
        try
        {
            var (h1, h2) = (topology.Hosts[0], topology.Hosts[1]);
            Assert.Equal(IPAddress.Parse("172.18.204.44"), h2.Address);
            var seed = await SeedNetwork.CreateAsync(topology, [new("icmp")]);
            var vm1 = await seed.LaunchVmAsync("vm1", h1, IPAddress.Parse("10.65.0.2"));
            var vm2 = await seed.LaunchVmAsync("vm2", h2, IPAddress.Parse("10.65.0.3"));

            // h1 learns vm2's address over BGP: next hop h2 (172.18.204.44), resolved recursively through the router, so the
            // kernel holds it via the router; no host holds a route via another host of ours (proto 80).
            await Eventually.UntilAsync("h1 to learn a route to 10.65.0.3 over BGP", async () =>
                (await h1.Namespace.IpAsync("route", "show", "proto", "bird")).Contains("10.65.0.3 via 172.18.203.1 dev eth0", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), () => Diagnose(topology));
            Assert.DoesNotContain("via", await h1.Namespace.IpAsync("route", "show", "proto", "80"), StringComparison.Ordinal);
            await Eventually.UntilAsync("vm1 to reach vm2 across the racks", () => vm1.PingAsync(IPAddress.Parse("10.65.0.3")), TimeSpan.FromSeconds(60));
            Assert.True(await vm2.PingAsync(IPAddress.Parse("10.65.0.2")), "vm2 -> vm1 ping");

            // The compute silos report their sessions: both to the router, established.
            var status = await Eventually.UntilAsync("both hosts to report an established session to the router",
                () => topology.Controller.Namespace.TryExecAsync(TimeSpan.FromSeconds(60), ["dotnet", Path.Combine(AppContext.BaseDirectory, "calicoctl.dll"),
                    "bgp", "status", "--gateway", $"{topology.Controller.Address}:30000"]),
                r => r.Succeeded, TimeSpan.FromSeconds(60));
            Assert.Equal(2, status.Output.Split('\n').Count(l => l.TrimStart().StartsWith("172.18.203.1 ", StringComparison.Ordinal) && l.Contains("Established", StringComparison.Ordinal)));
            Assert.Contains("bgp_sessions", await topology.Controller.Namespace.ExecAsync("curl", "-s", $"http://{topology.Controller.Address}:9696/v2.0/agents"), StringComparison.Ordinal);
        }
        finally
        {
            await topology.DisposeAsync();
        }
        await MachineChecks.AssertRemovedAsync(prefix, machine);
    }

    private static string Diagnose(NamespaceTopology topology)
    {
        string Run(string file, params string[] args) =>
            Shell.TryRunAsync(file, args, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult() is var r ? r.Output + r.Error : "";
        var text = "\nrouter: " + Run("birdc", "-s", Path.Combine(topology.TempDirectory, "tor", "bird.ctl"), "show", "protocols")
            + Run("ip", "-n", topology.Router!.Name, "route");
        foreach (var h in topology.Hosts)
        {
            var socket = Directory.EnumerateFiles(Path.Combine(topology.TempDirectory, h.Name), "bird.ctl", SearchOption.AllDirectories).FirstOrDefault();
            text += $"\n{h.Name}: socket {socket}\n" + (socket is null ? "" : Run("birdc", "-s", socket, "show", "protocols", "all"))
                + Run("ip", "-n", h.Namespace.Name, "route")
                + string.Join("\n", File.ReadLines(h.Silo.LogPath).Where(l => l.Contains("BGP", StringComparison.Ordinal) || l.Contains("BIRD", StringComparison.Ordinal) || l.Contains("bird", StringComparison.Ordinal)).TakeLast(15));
        }
        return text;
    }
}
