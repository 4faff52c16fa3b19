using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;

namespace Calico.Topology.Soak;

/// <summary>
/// The soak of issue 16: the namespace topology (controllers on PostgreSQL, compute hosts with their dnsmasq, in BGP
/// mode in two racks with their BIRDs, a steady VM on every host pinging the next one, a TCP stream between two of
/// them) under a stream of API work (<see cref="SoakChurn"/>) and faults at random moments (<see cref="SoakFaults"/>)
/// for a given time, every silo's memory sampled throughout (<see cref="SoakMemory"/>); then checks that every host's
/// kernel holds its desired state (its own reconcilers plan nothing, against the calculator's state and against a
/// recomputation from the store), the IPAM audit finds nothing, every bound port is ACTIVE, every host's BGP session
/// is Established, every steady VM reaches the next, the TCP stream still flows, memory stayed within its bound, and
/// that the run left no namespace or process. Everything it found is in the returned report.
/// </summary>
public static partial class SoakRun
{
    [System.Text.RegularExpressions.GeneratedRegex(@"^reload dnsmasq pid \d+ \(SIGHUP\)$")]
    private static partial System.Text.RegularExpressions.Regex AdoptionReload();

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d+ changes$")]
    private static partial System.Text.RegularExpressions.Regex ChangeCount();

    public static async Task<SoakReport> RunAsync(SoakOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var report = new SoakReport { Seed = options.Seed, MemoryGrowthBoundPct = options.MemoryGrowthBoundPct };
        var random = new Random(options.Seed);
        var clock = Stopwatch.StartNew();
        var topology = await NamespaceTopology.StartAsync(new TopologyOptions
        {
            Hosts = options.Hosts,
            Controllers = options.Controllers,
            Postgres = options.Controllers > 1 || options.Faults.Contains(FaultKind.PostgresRestart),
            Racks = options.Routing == SoakRouting.Bgp ? 2 : 1,
            Kind = options.Kind,
            DebugLogs = false,
            Log = options.Log,
            KeepLogsIn = options.KeepLogsIn,
            // A request cut off by a fault (PostgreSQL restarting between an allocation and the port's write, or a
            // port's deletion and its release) leaves an address allocated: the controllers collect such leaks, here
            // often enough for the end check to see them gone.
            ControllerArguments = ["--Ipam:LeakCollectionInterval=00:00:10", "--Ipam:LeakGracePeriod=00:00:20"],
        }, cancellationToken);
        var prefix = topology.Prefix;
        try
        {
            var api = new SoakApi([.. topology.Controllers.Select(c => c.Api)], report);
            var seed = await SeedNetwork.CreateAsync(topology, [new IngressRule("icmp"), new IngressRule("tcp"), new IngressRule("udp")], "soak");
            var churnGroup = (string)(await topology.Api.CreateSecurityGroupAsync("soak-churn", "changed by the soak", cancellationToken))["id"]!;
            var external = await topology.Api.CreateAsync("networks", "network", new JsonObject
            {
                ["name"] = "soak-ext", ["router:external"] = true,
            }, cancellationToken);
            await topology.Api.CreateSubnetAsync((string)external["id"]!, "172.30.0.0/24", "172.30.0.1", "soak-ext-subnet", enableDhcp: false, cancellationToken);
            await topology.Api.CreateRouterAsync("soak-router", (string)external["id"]!, [seed.SubnetId], cancellationToken);
            var steady = new List<VirtualMachine>();
            for (var i = 0; i < topology.Hosts.Count; i++)
                steady.Add(await seed.LaunchVmAsync($"steady{i + 1}", topology.Hosts[i], IPAddress.Parse($"10.65.0.{i + 2}")));
            foreach (var vm in steady)
                await Probes.Eventually.UntilAsync($"{vm.Name} ACTIVE", async () => await topology.Api.PortStatusAsync(vm.PortId, cancellationToken) == "ACTIVE",
                    options.SettleTimeout);
            // In BGP mode the racks learn each other's routes after the ports are ACTIVE: traffic starts once the ring answers.
            var silent = await WaitAsync(options.SettleTimeout, () => UnreachableAsync(steady));
            if (silent.Count > 0) throw new TopologyException($"steady VMs that cannot reach the next before the churn started: {string.Join(", ", silent)}");
            options.Log($"soak: topology ready after {clock.Elapsed.TotalSeconds:0} s; churn and faults for {options.Minutes} minutes, seed {options.Seed}");

            var churn = new SoakChurn(topology, seed, churnGroup, (string)external["id"]!, api, report, options, new Random(random.Next()));
            var faults = new SoakFaults(topology, steady, report, options, new Random(random.Next()));
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var duration = TimeSpan.FromMinutes(options.Minutes);
            var started = DateTime.UtcNow;
            var memory = new SoakMemory(topology, options.MemorySampleInterval);
            // The stream crosses the racks in BGP mode (steady2 is on h2, in rack r2; steady1 on h1, in r1).
            await using var tcp = await SoakTcpStream.StartAsync(steady[0], steady[Math.Min(1, steady.Count - 1)], options.Log);
            var running = new[] { churn.RunAsync(stop.Token), faults.RunAsync(stop.Token), TrafficAsync(steady, report, stop.Token), memory.RunAsync(stop.Token) };
            await Task.Delay(duration, cancellationToken);
            await stop.CancelAsync();
            await Task.WhenAll(running);
            report.Minutes = (DateTime.UtcNow - started).TotalMinutes;
            report.Memory.AddRange(memory.Analyse());
            if (options.KeepLogsIn is { } kept)
            {
                Directory.CreateDirectory(kept);
                await File.WriteAllTextAsync(Path.Combine(kept, "memory.csv"), memory.ToCsv(), CancellationToken.None);
            }
            options.Log($"soak: churn and faults stopped; checking");

            await CheckAsync(topology, churn, steady, api, report, options, cancellationToken);
            var flowing = await tcp.FlowsAsync(options.SettleTimeout);
            report.Tcp = tcp.Report(flowing);
            if (!flowing) report.Fail($"the TCP stream {report.Tcp.From} -> {report.Tcp.To} carried no echo within {options.SettleTimeout.TotalSeconds:0} s at the end");
            if (tcp.Corrupt is { } corrupt) report.Fail($"the TCP stream's echo differed from what was sent: {corrupt}");
            if (report.MemoryGrowthPct > options.MemoryGrowthBoundPct)
                report.Fail($"memory grew beyond the bound ({options.MemoryGrowthBoundPct:0}%): " +
                    string.Join("; ", report.Memory.Where(m => m.RssGrowthPct > options.MemoryGrowthBoundPct).Select(m => m.Describe())));
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            report.Fail($"{e.GetType().Name}: {e.Message}");
        }
        finally
        {
            await topology.DisposeAsync();
        }
        foreach (var run in Leftovers.Find().Where(r => r.Prefix == prefix && !r.IsEmpty))
        {
            report.Leaks++;
            report.LeakDetails.Add($"left behind: {run}");
        }
        return report;
    }

    /// <summary>Every steady VM pings the next (a ring over the hosts) every two seconds.</summary>
    private static async Task TrafficAsync(IReadOnlyList<VirtualMachine> steady, SoakReport report, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var answered = await Task.WhenAll(steady.Select((vm, i) => vm.PingAsync(steady[(i + 1) % steady.Count].Address!, 1)));
            report.PingsOk += answered.Count(a => a);
            report.PingsFailed += answered.Count(a => !a);
            try { await Task.Delay(TimeSpan.FromSeconds(2), stop); }
            catch (OperationCanceledException) { return; }
        }
    }

    private static async Task CheckAsync(NamespaceTopology topology, SoakChurn churn, IReadOnlyList<VirtualMachine> steady, SoakApi api,
        SoakReport report, SoakOptions options, CancellationToken cancellationToken)
    {
        // A fault may have left a silo down when the time ran out: start it, as the supervisor would.
        foreach (var silo in topology.Silos.Where(s => !s.IsRunning)) silo.Start();
        await Task.WhenAll(topology.Silos.Select(s => s.WaitReadyAsync(options.SettleTimeout, cancellationToken)));

        // Every bound port ACTIVE (the churn's and the steady VMs').
        var bound = churn.Ports.Where(p => p.Vm is not null).Select(p => p.Id).Concat(steady.Select(v => v.PortId)).ToHashSet(StringComparer.Ordinal);
        var notActive = await WaitAsync(options.SettleTimeout, async () =>
        {
            var ports = await api.ListAsync("list ports", "ports", "", cancellationToken) ?? [];
            return ports.OfType<JsonObject>().Where(p => bound.Contains((string)p["id"]!) && (string?)p["status"] != "ACTIVE")
                .Select(p => $"{p["name"]} {p["status"]}").ToList();
        });
        if (notActive.Count > 0) report.Fail($"bound ports not ACTIVE: {string.Join(", ", notActive)}");

        // Ports made by the soak that it does not know of (a create whose answer was lost and that was not found).
        var known = churn.Ports.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var port in (await api.ListAsync("list ports", "ports", "", cancellationToken) ?? []).OfType<JsonObject>()
                     .Where(p => ((string?)p["name"])?.StartsWith("soak-port-", StringComparison.Ordinal) == true && !known.Contains((string)p["id"]!)))
        {
            report.Leaks++;
            report.LeakDetails.Add($"port {port["name"]} ({port["id"]}) exists but the soak does not know it");
        }

        // Every host's kernel holds its desired state: the host's own reconcilers plan nothing.
        var shards = topology.Database is null ? 1 : topology.Controllers.Count;
        foreach (var host in topology.Hosts)
        {
            var held = await DesiredStateAsync(topology, host, shards, resync: false);
            var plan = await WaitAsync(options.SettleTimeout, async () => await PlanAsync(topology, host, await DesiredStateAsync(topology, host, shards, resync: false)));
            if (plan.Count > 0) report.Fail($"{host.Name}: the kernel does not hold the desired state; its reconcilers plan {plan.Count} changes: {string.Join("; ", plan.Take(10))}");
            var recomputed = await DesiredStateAsync(topology, host, shards, resync: true);
            if (recomputed != held)
                report.Fail($"{host.Name}: the calculator's state differed from its recomputation from the store");
            var again = await WaitAsync(options.SettleTimeout, () => PlanAsync(topology, host, recomputed));
            if (again.Count > 0) report.Fail($"{host.Name}: the kernel does not hold the state recomputed from the store: {string.Join("; ", again.Take(10))}");
        }

        // The IPAM audit: no leaked, doubly claimed or unrecorded address (nothing is in flight now: no grace). Leaks
        // left by requests that faults cut off are released by the controllers' collection (grace 20 s, every 10 s):
        // wait for it, as long as the settle time.
        var audit = "";
        var remaining = -1;
        await WaitAsync(options.SettleTimeout, async () =>
        {
            try { audit = await CalicoctlAsync(topology, "ipam", "audit", "--grace", "0s", "--json"); }
            catch (CommandFailedException e) { audit = e.Message; }
            var json = audit.IndexOf('{') is var at and >= 0 ? audit[at..audit.LastIndexOf('}')] + "}" : "";
            remaining = json.Length == 0 ? -1 : (int?)JsonNode.Parse(json)?["remaining"] ?? -1;
            return remaining == 0 ? [] : [audit];
        });
        if (remaining != 0)
        {
            report.Leaks += Math.Max(1, remaining);
            report.LeakDetails.Add($"IPAM audit: {audit}");
        }

        // BGP: every host reports its session to the router Established (calicoctl bgp status, from the compute silos).
        if (topology.Router is not null)
        {
            var down = await WaitAsync(options.SettleTimeout, async () =>
            {
                // Exit 1 when any session of any host is not established (or a host is dead): the message says which.
                try { return EstablishedToRouter(await CalicoctlAsync(topology, "bgp", "status"), topology.Hosts); }
                catch (CommandFailedException e) { return [e.Message]; }
            });
            if (down.Count > 0) report.Fail($"hosts without an Established BGP session to the router (calicoctl bgp status): {string.Join(", ", down)}");
        }

        // Traffic: every steady VM reaches the next.
        var unreachable = await WaitAsync(options.SettleTimeout, () => UnreachableAsync(steady));
        if (unreachable.Count > 0) report.Fail($"steady VMs that cannot reach the next: {string.Join(", ", unreachable)}");
    }

    /// <summary>The hosts for which `calicoctl bgp status` (a "host NAME (...)" line, then one line per peer) shows no Established session to the router.</summary>
    private static List<string> EstablishedToRouter(string status, IReadOnlyList<ComputeHost> hosts)
    {
        var established = new HashSet<string>(StringComparer.Ordinal);
        string? current = null;
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("host ", StringComparison.Ordinal)) current = line.Split(' ')[1];
            else if (current is not null && line.TrimStart().StartsWith(NamespaceTopology.RouterAddress + " ", StringComparison.Ordinal)
                && line.Contains("Established", StringComparison.Ordinal)) established.Add(current);
        }
        return [.. hosts.Where(h => !established.Contains(h.Name)).Select(h => $"{h.Name} (calicoctl bgp status: {status.Trim().ReplaceLineEndings(" | ")})")];
    }

    /// <summary>The steady VMs whose ping to the next one (a ring over the hosts: across the racks in BGP mode) went unanswered.</summary>
    private static async Task<List<string>> UnreachableAsync(IReadOnlyList<VirtualMachine> steady)
    {
        var answered = await Task.WhenAll(steady.Select((vm, i) => vm.PingAsync(steady[(i + 1) % steady.Count].Address!, 1)));
        return [.. steady.Select((v, i) => (v, i)).Where(p => !answered[p.i]).Select(p => $"{p.v.Name} -> {steady[(p.i + 1) % steady.Count].Name}")];
    }

    /// <summary>Observes until the list of problems is empty or the time is up; returns the last list.</summary>
    private static async Task<List<string>> WaitAsync(TimeSpan within, Func<Task<List<string>>> problems)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var found = await problems();
            if (found.Count == 0 || DateTime.UtcNow > deadline) return found;
            await Task.Delay(1000);
        }
    }

    private static Task<string> CalicoctlAsync(NamespaceTopology topology, params string[] args) => topology.CalicoctlAsync(args);

    private static Task<string> DesiredStateAsync(NamespaceTopology topology, ComputeHost host, int shards, bool resync) =>
        CalicoctlAsync(topology, ["host", "desired-state", "--host", host.Name, "--shards", $"{shards}", .. resync ? new[] { "--resync" } : []]);

    /// <summary>What the host's own reconcilers would change to make its kernel hold <paramref name="desired"/> (empty: nothing).</summary>
    private static async Task<List<string>> PlanAsync(NamespaceTopology topology, ComputeHost host, string desired)
    {
        var file = Path.Combine(topology.TempDirectory, $"desired-{host.Name}.json");
        await File.WriteAllTextAsync(file, desired);
        var output = await host.Namespace.ExecAsync("dotnet", topology.SiloDll, "dataplane", "plan", "--file", file,
            "--dhcp-state-directory", Path.Combine(topology.TempDirectory, host.Name, "dhcp"),
            "--bird-state-directory", Path.Combine(topology.TempDirectory, host.Name, "bird"),
            // The agents' own BIRD timer (the others are the defaults), which their bird.conf carries.
            "--bird-graceful-restart-wait", TopologyOptions.Span(NamespaceTopology.BirdGracefulRestartWait));
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (lines is [.., "no changes"]) return [];
        // A reconciler that finds dnsmasq running adopts it with one SIGHUP whatever the files hold (the agent before it
        // may have died between writing a file and signalling): with the files equal ("write file" absent) that line
        // is the plan command's own adoption, not a difference.
        var changes = lines.Where(l => !AdoptionReload().IsMatch(l) && !ChangeCount().IsMatch(l)).ToList();
        return changes;
    }
}
