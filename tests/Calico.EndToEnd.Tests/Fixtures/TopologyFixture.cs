using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Calico.Topology;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;

namespace Calico.EndToEnd.Tests.Fixtures;

/// <summary>
/// One topology shared by the tests of a class (they run one after another), built before the first and removed
/// after the last. Removal is checked: no namespace, /etc/netns directory, temporary directory or process of the run
/// may remain, and /etc/resolv.conf must be byte for byte what it was before.
/// </summary>
public abstract class TopologyFixture : IAsyncLifetime
{
    private readonly ConcurrentQueue<string> _log = new();
    private MachineFiles _machine = null!;

    public RunPrefix Prefix { get; } = RunPrefix.New(RunPrefix.TestKind);

    /// <summary>CALICO_E2E_LOGS=DIR keeps a copy of every silo's log in DIR (debugging only).</summary>
    public static string? KeepLogsIn => Environment.GetEnvironmentVariable("CALICO_E2E_LOGS") is { Length: > 0 } dir ? dir : null;

    public NamespaceTopology Topology { get; private set; } = null!;

    /// <summary>What to build; the defaults of <see cref="TopologyOptions"/> (2 hosts, short intervals).</summary>
    protected virtual TopologyOptions Options => new();

    /// <summary>Networks, VMs, servers: what the class's tests start from.</summary>
    protected virtual Task PopulateAsync() => Task.CompletedTask;

    /// <summary>Releases what <see cref="PopulateAsync"/> made that is not part of the topology (sockets, say).</summary>
    protected virtual ValueTask ReleaseAsync() => ValueTask.CompletedTask;

    public async Task InitializeAsync()
    {
        MachineChecks.RemoveAbandonedTestRunsOnce();
        _machine = MachineChecks.TakeSnapshot();
        Topology = await NamespaceTopology.StartAsync(Options with { Prefix = Prefix, Log = _log.Enqueue, KeepLogsIn = KeepLogsIn });
        try
        {
            await PopulateAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (Topology is null) return;
        await ReleaseAsync();
        await Topology.DisposeAsync();
        Topology = null!;
        await MachineChecks.AssertRemovedAsync(Prefix, _machine);
    }

    /// <summary>The harness's events and the end of every silo's output, for failure messages.</summary>
    public string Diagnostics()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"--- harness events ({Prefix}) ---");
        foreach (var line in _log) sb.AppendLine(line);
        if (Topology is not null)
            foreach (var silo in Topology.Silos) sb.Append(silo.OutputTail(40));
        return sb.ToString();
    }

    public ComputeHost Host(int index) => Topology.Hosts[index - 1];

    /// <summary>Polls until every VM's port is ACTIVE (GET /v2.0/ports/{id}).</summary>
    public async Task WaitActiveAsync(params VirtualMachine[] vms)
    {
        foreach (var vm in vms)
            await Eventually.UntilAsync($"port {vm.PortId} of {vm.Name} ACTIVE", () => Topology.Api.PortStatusAsync(vm.PortId),
                s => s == "ACTIVE", context: Diagnostics);
    }

    /// <summary>Polls until <paramref name="from"/> gets an answer to a ping to <paramref name="to"/>.</summary>
    public Task WaitPingAsync(VirtualMachine from, IPAddress to) =>
        Eventually.UntilAsync($"{from.Name} to get a ping answer from {to}", () => from.PingAsync(to), context: Diagnostics);

    /// <summary>Polls until GET /v2.0/agents shows <paramref name="host"/> alive (or dead).</summary>
    public Task WaitAgentAsync(ComputeHost host, bool alive) =>
        Eventually.UntilAsync($"agent of {host.Name} {(alive ? "alive" : "dead")} in GET /v2.0/agents",
            async () => (await Topology.Api.AgentsAliveAsync()).GetValueOrDefault(host.Name), a => a == alive, context: Diagnostics);

    /// <summary>Polls until the silo running now on <paramref name="host"/> has read the kernel back once after <paramref name="mark"/>.</summary>
    public Task WaitResyncAsync(ComputeHost host, long mark) =>
        Eventually.UntilAsync($"a dataplane resync on {host.Name}",
            () => Task.FromResult(host.Silo.HasWrittenSince(Math.Max(mark, host.Silo.StartMark), "Dataplane resync:")), context: Diagnostics);
}
