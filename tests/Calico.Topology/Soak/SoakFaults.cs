using System.Text.Json;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;

namespace Calico.Topology.Soak;

/// <summary>
/// Faults at random moments (exponential pauses, kinds and targets from the seed), each followed until its repair,
/// whose duration counts as time not converged: a silo killed until it is ready again (a compute silo is ready once
/// it has applied its desired state), PostgreSQL restarted, dnsmasq killed until the agent runs it again, a route or
/// an nftables map element of a steady VM deleted by hand until the agent puts it back.
/// </summary>
internal sealed class SoakFaults(NamespaceTopology topology, IReadOnlyList<VirtualMachine> steady, SoakReport report, SoakOptions options, Random random)
{
    public async Task RunAsync(CancellationToken stop)
    {
        var kinds = options.Faults.Where(k => k != FaultKind.PostgresRestart || topology.Database is not null).ToList();
        if (kinds.Count == 0) return;
        while (true)
        {
            var pause = TimeSpan.FromSeconds(-Math.Log(1 - random.NextDouble()) * options.MeanFaultInterval.TotalSeconds);
            try { await Task.Delay(pause, stop); }
            catch (OperationCanceledException) { return; }
            var kind = kinds[random.Next(kinds.Count)];
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
        var before = Dnsmasq(host);
        if (before.Count == 0) return; // not running (yet, or being restarted): nothing to kill
        var killed = DateTime.UtcNow;
        report.Fault(FaultKind.DnsmasqKill);
        options.Log($"fault: dnsmasq of {host.Name} killed");
        foreach (var pid in before) Shell.Signal(pid, Shell.SIGKILL);
        await Repaired($"dnsmasq of {host.Name} killed, until running again", killed,
            () => Task.FromResult(Dnsmasq(host).Any(pid => !before.Contains(pid))));
    }

    private static List<int> Dnsmasq(ComputeHost host) =>
        [.. Netns.PidsIn(host.Namespace.Name).Where(pid => ReadComm(pid) == "dnsmasq")];

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
