using System.Text.Json;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;

namespace Calico.Topology.Soak;

/// <summary>
/// Faults at random moments (exponential pauses, kinds and targets from the seed; the kinds drawn in rounds, each kind
/// once per round in an order from the seed, so that a run of a few minutes meets every kind), each followed until its repair,
/// whose duration counts as time not converged: a silo killed until it is ready again (a compute silo is ready once
/// it has applied its desired state), PostgreSQL restarted, dnsmasq killed until the agent runs it again, a route or
/// an nftables map element of a steady VM deleted by hand until the agent puts it back, a host's BIRD killed until
/// its compute silo has restarted it, its BGP sessions are established again and the steady VMs across the racks
/// reach each other (and, graceful restart, nothing it had learned or taught was withdrawn meanwhile).
/// </summary>
internal sealed class SoakFaults(NamespaceTopology topology, IReadOnlyList<VirtualMachine> steady, SoakReport report, SoakOptions options, Random random)
{
    private readonly Queue<FaultKind> _round = new();

    public async Task RunAsync(CancellationToken stop)
    {
        var kinds = options.Faults.Where(k => (k != FaultKind.PostgresRestart || topology.Database is not null)
            && (k != FaultKind.BirdKill || topology.Router is not null)).ToList();
        if (kinds.Count == 0) return;
        while (true)
        {
            var pause = TimeSpan.FromSeconds(-Math.Log(1 - random.NextDouble()) * options.MeanFaultInterval.TotalSeconds);
            try { await Task.Delay(pause, stop); }
            catch (OperationCanceledException) { return; }
            if (_round.Count == 0)
            {
                var round = kinds.ToArray();
                random.Shuffle(round);
                foreach (var k in round) _round.Enqueue(k);
            }
            var kind = _round.Dequeue();
            var downFor = TimeSpan.FromMilliseconds(random.Next(500, 3000));
            try
            {
                await InjectAsync(kind, downFor);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                report.Fail($"fault {kind}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private async Task InjectAsync(FaultKind kind, TimeSpan downFor)
    {
        switch (kind)
        {
            case FaultKind.ComputeSiloKill:
                await KillAndRestartAsync(topology.Hosts[random.Next(topology.Hosts.Count)].Silo, downFor, kind);
                break;
            case FaultKind.ControllerSiloKill:
                await KillAndRestartAsync(topology.Controllers[random.Next(topology.Controllers.Count)].Silo, downFor, kind);
                break;
            case FaultKind.PostgresRestart:
                var started = DateTime.UtcNow;
                report.Fault(kind);
                options.Log($"fault: PostgreSQL restarted");
                await topology.Database!.RestartAsync();
                report.Unconverged(DateTime.UtcNow - started, "PostgreSQL restart");
                break;
            case FaultKind.DnsmasqKill:
                await KillDnsmasqAsync(topology.Hosts[random.Next(topology.Hosts.Count)]);
                break;
            case FaultKind.RouteDelete:
                await DeleteRouteAsync(steady[random.Next(steady.Count)]);
                break;
            case FaultKind.NftElementDelete:
                await DeleteNftElementAsync(steady[random.Next(steady.Count)]);
                break;
            case FaultKind.BirdKill:
                await KillBirdAsync(topology.Hosts[random.Next(topology.Hosts.Count)]);
                break;
        }
    }

    private async Task KillAndRestartAsync(SiloProcess silo, TimeSpan downFor, FaultKind kind)
    {
        var killed = DateTime.UtcNow;
        report.Fault(kind);
        options.Log($"fault: {silo.Name} killed for {downFor.TotalSeconds:0.0} s");
        await silo.KillAsync();
        await Task.Delay(downFor);
        silo.Start();
        await silo.WaitReadyAsync(options.SettleTimeout);
        report.Unconverged(DateTime.UtcNow - killed, $"{silo.Name} killed, until ready again");
    }

    private async Task KillDnsmasqAsync(ComputeHost host)
    {
        var before = ProcessesIn(host, "dnsmasq");
        if (before.Count == 0) return; // not running (yet, or being restarted): nothing to kill
        var killed = DateTime.UtcNow;
        report.Fault(FaultKind.DnsmasqKill);
        options.Log($"fault: dnsmasq of {host.Name} killed");
        foreach (var pid in before) Shell.Signal(pid, Shell.SIGKILL);
        await Repaired($"dnsmasq of {host.Name} killed, until running again", killed,
            () => Task.FromResult(ProcessesIn(host, "dnsmasq").Any(pid => !before.Contains(pid))));
    }

    private static List<int> ProcessesIn(ComputeHost host, string command) =>
        [.. Netns.PidsIn(host.Namespace.Name).Where(pid => ReadComm(pid) == command)];

    /// <summary>
    /// SIGKILL to the host's BIRD (no notification to its peers). Repaired once a new BIRD runs, all its BGP sessions
    /// are Established, and the host's steady VM and its ring neighbours (in the other rack) reach each other. Meanwhile
    /// nothing may be withdrawn: the routes the host had learned to the other steady VMs stay in its kernel (persist,
    /// then graceful-restart recovery) and the router keeps the host's (graceful restart: stale until it is back).
    /// </summary>
    private async Task KillBirdAsync(ComputeHost host)
    {
        var before = ProcessesIn(host, "bird");
        if (before.Count == 0) return; // being restarted: nothing to kill
        var index = steady.Select((v, i) => (v, i)).First(p => p.v.Host == host).i;
        var mine = steady[index];
        var (next, previous) = (steady[(index + 1) % steady.Count], steady[(index + steady.Count - 1) % steady.Count]);
        var held = await CoveredAsync(host.Namespace, steady.Where(v => v.Host != host));
        var heldByRouter = await CoveredAsync(topology.Router!, [mine]);
        var killed = DateTime.UtcNow;
        report.Fault(FaultKind.BirdKill);
        // What is watched (normally every other steady VM here, and this one at the router): the log shows it.
        options.Log($"fault: BIRD of {host.Name} killed (watching its routes to {held.Count} of {steady.Count - 1} other steady VMs, and the router's to {heldByRouter.Count} of 1)");
        foreach (var pid in before) Shell.Signal(pid, Shell.SIGKILL);
        var withdrawn = new List<string>();
        await Repaired($"BIRD of {host.Name} killed, until restarted, its sessions Established and the racks reach each other", killed, async () =>
        {
            var lost = (await CoveredAsync(host.Namespace, held)).Count < held.Count || (await CoveredAsync(topology.Router!, heldByRouter)).Count < heldByRouter.Count;
            if (lost)
            {
                var missing = held.Except(await CoveredAsync(host.Namespace, held)).Select(v => $"{host.Name}'s route to {v.Name} ({v.Address})")
                    .Concat(heldByRouter.Except(await CoveredAsync(topology.Router!, heldByRouter)).Select(v => $"the router's route to {v.Name} ({v.Address})"));
                foreach (var m in missing.Where(m => !withdrawn.Contains(m))) withdrawn.Add(m);
                return false;
            }
            return ProcessesIn(host, "bird").Any(pid => !before.Contains(pid))
                && await SessionsEstablishedAsync(host)
                && await mine.PingAsync(next.Address!, 1) && await previous.PingAsync(mine.Address!, 1);
        });
        if (withdrawn.Count > 0)
            report.Fail($"BIRD of {host.Name} killed: withdrawn meanwhile, though graceful restart should have kept them: {string.Join("; ", withdrawn)}");
    }

    /// <summary>The VMs whose address a BIRD-learned route (proto bird) in <paramref name="ns"/>'s main table covers.</summary>
    private static async Task<List<VirtualMachine>> CoveredAsync(Netns ns, IEnumerable<VirtualMachine> vms)
    {
        var routes = await ns.RoutesAsync(BirdRouteProtocol);
        return [.. vms.Where(v => routes.Any(r => r.Covers(v.Address!)))];
    }

    private const int BirdRouteProtocol = 12;

    /// <summary>Every BGP protocol of the host's BIRD (its control socket in the run's directory) Established, and at least one.</summary>
    private async Task<bool> SessionsEstablishedAsync(ComputeHost host)
    {
        var directory = Path.Combine(topology.TempDirectory, host.Name, "bird");
        var socket = Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "bird.ctl", SearchOption.AllDirectories).FirstOrDefault() : null;
        if (socket is null) return false;
        var result = await Shell.TryRunAsync("birdc", ["-s", socket, "show", "protocols"], TimeSpan.FromSeconds(10));
        if (!result.Succeeded) return false;
        var sessions = result.Output.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length > 1 && f[1] == "BGP").ToList();
        return sessions.Count > 0 && sessions.All(f => f.Contains("Established"));
    }

    private static string? ReadComm(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/comm").Trim(); }
        catch (IOException) { return null; }
    }

    private async Task DeleteRouteAsync(VirtualMachine vm)
    {
        var destination = $"{vm.Address}/32";
        var deleted = DateTime.UtcNow;
        report.Fault(FaultKind.RouteDelete);
        options.Log($"fault: route {destination} dev {vm.TapName} deleted in {vm.Host.Name}");
        await vm.Host.Namespace.IpAsync("route", "del", destination, "dev", vm.TapName, "proto", "80");
        await Repaired($"route {destination} deleted in {vm.Host.Name}, until back", deleted,
            async () => (await vm.Host.Namespace.RoutesAsync(80)).Any(r => r.Destination == destination && r.Device == vm.TapName));
    }

    /// <summary>Deletes the element keyed by the VM's tap from a map of table inet calico (the policy dispatch).</summary>
    private async Task DeleteNftElementAsync(VirtualMachine vm)
    {
        var maps = await MapsKeyedByAsync(vm);
        if (maps.Count == 0)
        {
            report.Fail($"fault NftElementDelete: no map of table inet calico in {vm.Host.Name} has an element for {vm.TapName}");
            return;
        }
        var map = maps[random.Next(maps.Count)];
        var deleted = DateTime.UtcNow;
        report.Fault(FaultKind.NftElementDelete);
        options.Log($"fault: element {vm.TapName} of map {map} deleted in {vm.Host.Name}");
        await vm.Host.Namespace.ExecAsync("nft", "delete", "element", "inet", "calico", map, $"{{ \"{vm.TapName}\" }}");
        await Repaired($"nftables element {vm.TapName} of {map} deleted in {vm.Host.Name}, until back", deleted,
            async () => (await MapsKeyedByAsync(vm)).Contains(map));
    }

    private static async Task<List<string>> MapsKeyedByAsync(VirtualMachine vm)
    {
        using var json = JsonDocument.Parse(await vm.Host.Namespace.ExecAsync("nft", "-j", "list", "maps", "inet"));
        var names = new List<string>();
        foreach (var entry in json.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (!entry.TryGetProperty("map", out var map) || map.GetProperty("table").GetString() != "calico") continue;
            if (!map.TryGetProperty("elem", out var elements)) continue;
            if (elements.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.Array && e[0].ValueKind == JsonValueKind.String && e[0].GetString() == vm.TapName))
                names.Add(map.GetProperty("name").GetString()!);
        }
        return names;
    }

    private async Task Repaired(string what, DateTime since, Func<Task<bool>> repaired)
    {
        while (DateTime.UtcNow - since < options.SettleTimeout)
        {
            if (await repaired())
            {
                report.Unconverged(DateTime.UtcNow - since, what);
                return;
            }
            await Task.Delay(200);
        }
        report.Fail($"{what}: not repaired within {options.SettleTimeout.TotalSeconds:0} s");
    }
}
