using System.Diagnostics;
using System.Net;
using Calico.EndToEnd.Tests.Fixtures;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;
using Xunit.Abstractions;

namespace Calico.EndToEnd.Tests;

/// <summary>Its own topology (the seed's two hosts and two VMs), since these tests kill silos.</summary>
public sealed class FaultTopologyFixture : SeedTopologyFixture;

/// <summary>
/// Faults: a compute silo killed and restarted, the controller down and back. Each test leaves the topology whole
/// (every silo running and ready) for the next.
/// </summary>
public sealed class FaultTests(FaultTopologyFixture fixture, ITestOutputHelper output) : IClassFixture<FaultTopologyFixture>
{
    private const int Proto = 80;

    [Fact]
    public async Task A_compute_silo_killed_and_restarted_changes_nothing_and_readopts()
    {
        await fixture.DataPathReadyAsync();
        var (h1, h2) = (fixture.Host(1), fixture.Host(2));
        var routesBefore = await RoutesAsync();
        var neighboursBefore = await h2.Namespace.IpAsync("neigh", "show", "nud", "permanent");
        var policyBefore = await PolicyAsync(h2);
        await using var monitor1 = await RouteMonitor.StartAsync(h1.Namespace);
        await using var monitor2 = await RouteMonitor.StartAsync(h2.Namespace);

        await h2.Silo.KillAsync();
        await fixture.WaitAgentAsync(h2, alive: false);
        // Nothing programs h2 now, yet its kernel keeps forwarding to vm2.
        Assert.True(await fixture.Vm1.PingAsync(SeedTopologyFixture.Vm2Address), "ping vm1 -> vm2 with h2's silo dead");

        var restartedAt = h2.Silo.OutputMark;
        h2.Silo.Start();
        await h2.Silo.WaitReadyAsync(TimeSpan.FromSeconds(120));
        await fixture.WaitAgentAsync(h2, alive: true);
        // Ready means its first desired state is applied (adopting what the kernel holds); one resync more reads it all back.
        await fixture.WaitResyncAsync(h2, restartedAt);

        output.WriteLine($"route changes on h1: {monitor1.Changes.Count}, on h2: {monitor2.Changes.Count}\n  {string.Join("\n  ", monitor1.AllChanges.Concat(monitor2.AllChanges))}");
        Assert.Equal(routesBefore, await RoutesAsync());
        Assert.Equal(neighboursBefore, await h2.Namespace.IpAsync("neigh", "show", "nud", "permanent"));
        Assert.Equal(policyBefore, await PolicyAsync(h2));
        Assert.Empty(monitor2.Changes);
        Assert.Empty(monitor1.Changes);
        Assert.Equal("ACTIVE", await fixture.Topology.Api.PortStatusAsync(fixture.Vm2.PortId));
        Assert.True(await fixture.Vm1.PingAsync(SeedTopologyFixture.Vm2Address), "ping vm1 -> vm2 after the restart");
        Assert.Equal("echo: after restart", await SeedTopologyFixture.TcpAsync(fixture.Vm1, fixture.Vm2, "after restart"));
        output.WriteLine(string.Join('\n', h2.Silo.Events));
    }

    [Fact]
    public async Task With_the_controller_down_hosts_keep_forwarding_and_converge_when_it_is_back()
    {
        await fixture.DataPathReadyAsync();
        var (h1, h2, controller) = (fixture.Host(1), fixture.Host(2), fixture.Topology.Controller);
        var clock = Stopwatch.StartNew();
        void Phase(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");
        var routesBefore = await RoutesAsync();
        var startsBefore = fixture.Topology.Hosts.Select(h => h.Silo.Starts).ToList();
        await using var monitor1 = await RouteMonitor.StartAsync(h1.Namespace);
        await using var monitor2 = await RouteMonitor.StartAsync(h2.Namespace);
        await using var pinger = Pinger.Start(fixture.Vm1, SeedTopologyFixture.Vm2Address);

        var killedAt = fixture.Topology.Hosts.Select(h => h.Silo.OutputMark).ToList();
        await controller.Silo.KillAsync();
        Phase("controller killed");
        // Down for longer than it takes each host to resync its dataplane on its own, and for a good number of pings.
        for (var i = 0; i < 2; i++) await fixture.WaitResyncAsync(fixture.Topology.Hosts[i], killedAt[i]);
        var successesWhileDown = pinger.Successes;
        await Eventually.UntilAsync("10 more answered pings with the controller down", () => Task.FromResult(pinger.Successes >= successesWhileDown + 10), context: fixture.Diagnostics);
        Assert.Equal("echo: controller down", await SeedTopologyFixture.TcpAsync(fixture.Vm1, fixture.Vm2, "controller down"));
        Assert.Equal(routesBefore, await RoutesAsync());
        Phase("hosts resynced and forwarded on their own");

        var backAt = fixture.Topology.Hosts.Select(h => h.Silo.OutputMark).ToList();
        controller.Silo.Start();
        await controller.Silo.WaitReadyAsync(TimeSpan.FromSeconds(120));
        Phase("controller back and ready");
        foreach (var host in fixture.Topology.Hosts)
        {
            await host.Silo.WaitReadyAsync(TimeSpan.FromSeconds(120));
            await fixture.WaitAgentAsync(host, alive: true);
        }
        for (var i = 0; i < 2; i++) await fixture.WaitResyncAsync(fixture.Topology.Hosts[i], backAt[i]);
        Assert.Equal(routesBefore, await RoutesAsync());
        await fixture.WaitActiveAsync(fixture.Vm1, fixture.Vm2);
        Phase("agents alive, hosts resynced, ports ACTIVE");

        // Converged: a port created now is programmed on both hosts and reachable.
        var vm3 = await fixture.Seed.LaunchVmAsync("vm3", h2, IPAddress.Parse("10.65.0.4"));
        await fixture.WaitActiveAsync(vm3);
        await Eventually.UntilAsync("h1 to route 10.65.0.4 via h2", () => h1.Namespace.RoutesAsync(Proto),
            routes => routes.Where(r => r.Covers(vm3.Address!) && r.Type == "unicast").MaxBy(r => r.Network.PrefixLength)?.Gateway == "172.18.203.44",
            context: fixture.Diagnostics);
        await fixture.WaitPingAsync(fixture.Vm1, vm3.Address!);
        Phase("a new port ACTIVE, routed and reachable");

        await pinger.DisposeAsync();
        output.WriteLine($"pings vm1 -> vm2 during the whole test: {pinger.Successes} answered, {pinger.Failures.Count} lost");
        output.WriteLine(string.Join('\n', fixture.Topology.Silos.SelectMany(s => s.Events)));
        var restarts = fixture.Topology.Hosts.Select((h, i) => $"{h.Name}: {h.Silo.Starts - startsBefore[i]}");
        output.WriteLine($"compute silo restarts by the supervisor after the controller came back: {string.Join(", ", restarts)}");
        Assert.True(pinger.Failures.Count == 0, $"pings lost: {string.Join("; ", pinger.Failures)}");
        // Nothing rewrote a route that was right; the only changes are vm3's.
        Assert.DoesNotContain(monitor1.Changes, c => !c.Contains("10.65.0.4", StringComparison.Ordinal));
        Assert.DoesNotContain(monitor2.Changes, c => !c.Contains("10.65.0.4", StringComparison.Ordinal) && !c.Contains(vm3.TapName, StringComparison.Ordinal));
    }

    /// <summary>The host's policy table without counters (<c>nft -s list table inet calico</c>); empty when policy is off.</summary>
    private static async Task<string> PolicyAsync(ComputeHost host)
    {
        var table = await host.Namespace.TryExecAsync(TimeSpan.FromSeconds(30), "nft", "-s", "list", "table", "inet", "calico");
        return table.Succeeded ? table.Output : "";
    }

    /// <summary>Our routes on every host, as text (what an operator compares before and after).</summary>
    private async Task<string> RoutesAsync()
    {
        var parts = new List<string>();
        foreach (var host in fixture.Topology.Hosts) parts.Add($"{host.Name}:\n{await host.Namespace.RouteTextAsync(Proto)}");
        return string.Join('\n', parts);
    }

    /// <summary>Pings one address from a VM, one after another, and counts what is answered and what is lost.</summary>
    private sealed class Pinger : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<string> _failures = [];
        private Task _loop = Task.CompletedTask;
        private int _successes;

        public int Successes => Volatile.Read(ref _successes);

        public IReadOnlyList<string> Failures { get { lock (_failures) return [.. _failures]; } }

        public static Pinger Start(VirtualMachine from, IPAddress to)
        {
            var pinger = new Pinger();
            pinger._loop = pinger.RunAsync(from, to);
            return pinger;
        }

        private async Task RunAsync(VirtualMachine from, IPAddress to)
        {
            var clock = Stopwatch.StartNew();
            while (!_stop.IsCancellationRequested)
            {
                if (await from.PingAsync(to, waitSeconds: 3)) Interlocked.Increment(ref _successes);
                else lock (_failures) _failures.Add($"at {clock.Elapsed.TotalSeconds:0.0} s");
                try { await Task.Delay(250, _stop.Token); }
                catch (OperationCanceledException) { }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested) await _stop.CancelAsync();
            await _loop;
        }
    }
}
