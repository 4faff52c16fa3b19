using System.Diagnostics;
using System.Text;
using Calico.EndToEnd.Tests.Fixtures;
using Calico.Topology;
using Calico.Topology.Commands;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;
using Xunit.Abstractions;

namespace Calico.EndToEnd.Tests;

/// <summary>The harness itself: what it builds, that it removes all of it (also after a failed start or a crash), and that it never touches the machine's own namespace.</summary>
public sealed class HarnessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Disposing_removes_everything_and_the_machine_namespace_is_untouched()
    {
        MachineChecks.RemoveAbandonedTestRunsOnce();
        var machineBefore = await MachineChecks.MachineNamespaceAsync();
        var machine = MachineChecks.TakeSnapshot();
        var prefix = RunPrefix.New(RunPrefix.TestKind);
        var topology = await NamespaceTopology.StartAsync(new TopologyOptions { Hosts = 1, Prefix = prefix });
        try
        {
            var host = topology.Hosts[0];
            var vm = await topology.AddVmAsync("vm1", host, "0123456789ab-cdef-0123-4567-89abcdef0123", "fa:16:3e:12:34:56");
            Assert.Equal("tap0123456789a", vm.TapName);
            Assert.Equal(
                [prefix.Value + "ctl", prefix.Value + "fabric", prefix.Value + "h1", prefix.Value + "vm1"],
                Netns.List().Where(prefix.Owns).Order(StringComparer.Ordinal));
            Assert.True(File.Exists(Path.Combine(EtcNetns.DirectoryOf(vm.Namespace.Name), "resolv.conf")));
            // The VM's end is eth0 with the port's MAC; the host's end is named as Nova names it.
            Assert.Contains("fa:16:3e:12:34:56", await vm.Namespace.IpAsync("link", "show", "eth0"), StringComparison.Ordinal);
            Assert.Contains("tap0123456789a", await host.Namespace.IpAsync("-br", "link", "show", "type", "veth"), StringComparison.Ordinal);
            // Hosts have the fabric's /24 and nothing else: no default route.
            var hostRoutes = await host.Namespace.RoutesAsync();
            Assert.Equal(["172.18.203.0/24"], hostRoutes.Select(r => r.Destination));
            // The controller is reachable from the host over the fabric; the API from this process through its namespace.
            Assert.True(await host.Namespace.PingAsync(NamespaceTopology.ControllerAddress));
            Assert.Equal(["h1"], (await topology.Api.AgentsAliveAsync()).Keys);
            Assert.All(topology.Silos, s => Assert.True(s.IsRunning, s.Name));
            Assert.Equal(await MachineChecks.MachineNamespaceAsync(), machineBefore);
        }
        finally
        {
            await topology.DisposeAsync();
        }
        await MachineChecks.AssertRemovedAsync(prefix, machine);
        Assert.Equal(machineBefore, await MachineChecks.MachineNamespaceAsync());
    }

    [Fact]
    public async Task A_start_that_fails_leaves_nothing_behind()
    {
        var machine = MachineChecks.TakeSnapshot();
        var prefix = RunPrefix.New(RunPrefix.TestKind);
        var options = new TopologyOptions
        {
            Hosts = 2,
            Prefix = prefix,
            // Refused by the compute silo's option validation: it exits at once.
            ComputeArguments = ["--Compute:WatchTimeout=00:05:00"],
        };
        var failure = await Assert.ThrowsAsync<TopologyException>(() => NamespaceTopology.StartAsync(options));
        output.WriteLine(failure.Message);
        Assert.Contains("exited with code", failure.Message, StringComparison.Ordinal);
        await MachineChecks.AssertRemovedAsync(prefix, machine);
    }

    [Fact]
    public async Task Down_removes_what_a_killed_run_left_behind()
    {
        var machine = MachineChecks.TakeSnapshot();
        var dll = Path.Combine(AppContext.BaseDirectory, "Calico.Topology.dll");
        var lines = new StringBuilder();
        using var up = StartTopologyCommand(dll, ["up", "--hosts", "1", "--vms-per-host", "1"], lines);
        RunPrefix? prefix = null;
        try
        {
            var ready = await Eventually.UntilAsync("topology up to print its ready line",
                () => Task.FromResult(Read(lines).Split('\n').FirstOrDefault(l => l.StartsWith(UpCommand.ReadyMarker, StringComparison.Ordinal))),
                l => l is not null || up.HasExited, TimeSpan.FromSeconds(180), () => Read(lines));
            Assert.True(ready is not null, $"topology up exited with {(up.HasExited ? up.ExitCode : 0)}:\n{Read(lines)}");
            Assert.True(RunPrefix.TryFind(ready, out var found), ready);
            prefix = found;
            output.WriteLine(Read(lines));
            Assert.Contains(found.Value + "vm1", Netns.List());
            Assert.Contains("ip netns exec " + found.Value + "ctl openstack --os-auth-type none --os-endpoint http://172.18.203.10:9696 network list", Read(lines), StringComparison.Ordinal);
        }
        finally
        {
            // A crash: no Dispose, no exit hook.
            up.Kill();
            await up.WaitForExitAsync();
        }

        var leftover = Assert.Single(Leftovers.Find(), r => r.Prefix == prefix);
        output.WriteLine($"left behind: {leftover}");
        Assert.False(leftover.InUse);
        Assert.Equal(4, leftover.Namespaces.Count); // fabric, ctl, h1, vm1
        Assert.True(leftover.Processes.Count >= 2, "the controller's and the host's silos still run");

        var down = await Shell.TryRunAsync("dotnet", [dll, "down"], TimeSpan.FromSeconds(60));
        output.WriteLine(down.Output + down.Error);
        Assert.Equal(0, down.ExitCode);
        Assert.Contains($"down: removing {prefix!.Value}", down.Output, StringComparison.Ordinal);
        await MachineChecks.AssertRemovedAsync(prefix, machine);
    }

    private static Process StartTopologyCommand(string dll, string[] args, StringBuilder lines)
    {
        var info = Shell.StartInfo("dotnet", [dll, .. args]);
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { lock (lines) lines.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (lines) lines.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static string Read(StringBuilder lines)
    {
        lock (lines) return lines.ToString();
    }
}
