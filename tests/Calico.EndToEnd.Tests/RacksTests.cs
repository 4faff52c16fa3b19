using System.Net;
using Calico.EndToEnd.Tests.Fixtures;
using Calico.Topology;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;

namespace Calico.EndToEnd.Tests;

/// <summary>
/// <c>topology up --racks 2</c> as the tests build it: BGP routing mode, h1 on the fabric (rack r1), h2 on a second
/// segment behind the router namespace whose BIRD reflects routes between them (an operator's global peer, the mesh
/// off, configured with calicoctl). Real compute silos run their BIRDs; a VM in rack r1 reaches a VM in rack r2
/// through routes learned over BGP only, and each host's session to the router shows Established in calicoctl bgp
/// status (reported by the compute silos themselves). Then IPv6 over BGP: every host and the router have fabric IPv6
/// addresses, the router is also a global peer at its IPv6 address, and a dual-stack VM in each rack reaches the other
/// over IPv6 through routes learned over the IPv6 sessions only. Everything is removed at the end.
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

            await Ipv6AcrossTheRacksAsync(topology, h1, h2);
        }
        finally
        {
            await topology.DisposeAsync();
        }
        await MachineChecks.AssertRemovedAsync(prefix, machine);
    }

    /// <summary>
    /// IPv6 over BGP: a dual-stack network made through the API, a VM in each rack forming its SLAAC address from its
    /// host's advertisements (IPAM puts it in an IPv6 block of the host's, which the host announces). Each host learns
    /// the other rack's VM over its IPv6 session with the router (next hop the other host's IPv6 address, reached
    /// through the router), the VMs reach each other by ping and TCP over IPv6, and both hosts report their IPv6
    /// session established. (A deleted port's /128 withdrawn is shown in BgpKernelTests, with an address in no block.)
    /// </summary>
    private static async Task Ipv6AcrossTheRacksAsync(NamespaceTopology topology, ComputeHost h1, ComputeHost h2)
    {
        var net = await SlaacNetwork.CreateAsync(topology, "v6-racks");
        var vms = new List<(VirtualMachine Vm, IPAddress Address)>();
        foreach (var (name, host) in new[] { ("v6vm1", h1), ("v6vm2", h2) }) vms.Add(await net.LaunchAsync(topology, name, host));
        var ((vm1, a1), (vm2, a2)) = (vms[0], vms[1]);
        foreach (var (vm, address) in vms)
            await Eventually.UntilAsync($"{vm.Name} to form {address} by SLAAC",
                async () => (await vm.Namespace.IpAsync("-6", "addr", "show", "dev", "eth0", "scope", "global", "-tentative")).Contains(address + "/64", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), () => Diagnose(topology));

        // Learned over BGP only (proto bird: the IPv6 block IPAM put it in, announced by h2), via the router, whose next
        // hop is h2's IPv6 address; no host holds an IPv6 route of ours via another host.
        await Eventually.UntilAsync($"h1 to learn a route to {a2} over BGP", async () =>
                (await h1.Namespace.IpAsync("-6", "route", "show", "proto", "bird", "match", a2.ToString())).Contains($"via {NamespaceTopology.RouterIpv6Address} dev eth0", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), () => Diagnose(topology));
        Assert.DoesNotContain("via", await h1.Namespace.IpAsync("-6", "route", "show", "proto", "80"), StringComparison.Ordinal);
        Assert.Contains($"via {NamespaceTopology.HostIpv6Address(2, 2)}", await topology.Router!.IpAsync("-6", "route", "show", "proto", "bird", "match", a2.ToString()), StringComparison.Ordinal);
        await Eventually.UntilAsync("v6vm1 to reach v6vm2 over IPv6 across the racks", () => vm1.PingAsync(a2), TimeSpan.FromSeconds(60), () => Diagnose(topology));
        Assert.True(await vm2.PingAsync(a1), "v6vm2 -> v6vm1 ping over IPv6");
        await using (var server = await TcpEchoServer.StartAsync(vm2.Namespace, new IPEndPoint(IPAddress.IPv6Any, 8080)))
            Assert.Equal("echo: over IPv6", await TcpProbe.ExchangeAsync(vm1.Namespace, new IPEndPoint(a2, 8080), "over IPv6", TimeSpan.FromSeconds(10)));

        // Both hosts report their IPv6 session to the router, established, beside the IPv4 one.
        var status = await Eventually.UntilAsync("both hosts to report an established IPv6 session to the router",
            () => topology.Controller.Namespace.TryExecAsync(TimeSpan.FromSeconds(60), ["dotnet", Path.Combine(AppContext.BaseDirectory, "calicoctl.dll"),
                "bgp", "status", "--gateway", $"{topology.Controller.Address}:30000"]),
            r => r.Succeeded, TimeSpan.FromSeconds(60));
        Assert.Equal(2, status.Output.Split('\n').Count(l => l.TrimStart().StartsWith($"{NamespaceTopology.RouterIpv6Address} ", StringComparison.Ordinal) && l.Contains("Established", StringComparison.Ordinal)));
    }

    private static string Diagnose(NamespaceTopology topology)
    {
        string Run(string file, params string[] args) =>
            Shell.TryRunAsync(file, args, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult() is var r ? r.Output + r.Error : "";
        var text = "\nrouter: " + Run("birdc", "-s", Path.Combine(topology.TempDirectory, "tor", "bird.ctl"), "show", "protocols")
            + Run("ip", "-n", topology.Router!.Name, "route") + Run("ip", "-n", topology.Router!.Name, "-6", "route");
        foreach (var h in topology.Hosts)
        {
            var socket = Directory.EnumerateFiles(Path.Combine(topology.TempDirectory, h.Name), "bird.ctl", SearchOption.AllDirectories).FirstOrDefault();
            text += $"\n{h.Name}: socket {socket}\n" + (socket is null ? "" : Run("birdc", "-s", socket, "show", "protocols", "all"))
                + Run("ip", "-n", h.Namespace.Name, "route") + Run("ip", "-n", h.Namespace.Name, "-6", "route")
                + string.Join("\n", File.ReadLines(h.Silo.LogPath).Where(l => l.Contains("BGP", StringComparison.Ordinal) || l.Contains("BIRD", StringComparison.Ordinal) || l.Contains("bird", StringComparison.Ordinal)).TakeLast(15));
        }
        return text;
    }
}
