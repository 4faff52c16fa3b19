using System.Net;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;

namespace Calico.Topology.Commands;

/// <summary>
/// <c>topology up [--hosts N] [--vms-per-host M]</c>: the tests' topology, by hand. Builds it, creates the seed's
/// network through the API with VMs spread over the hosts (vm1 10.65.0.2 on h1, vm2 10.65.0.3 on h2, ...), prints how
/// to reach everything, and keeps it until Ctrl-C (or SIGTERM, SIGHUP), then removes everything.
/// </summary>
public static class UpCommand
{
    /// <summary>The last line printed once everything is up; the tests wait for it.</summary>
    public const string ReadyMarker = "ready:";

    /// <summary>Runs with arguments checked by <see cref="TopologyCommandLine"/>.</summary>
    public static async Task<int> RunAsync(int hosts, int vmsPerHost, TextWriter output, TextWriter error, int racks = 1)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);

        using var stop = new StopSignals();
        NamespaceTopology? topology = null;
        try
        {
            output.WriteLine($"up: building {hosts} hosts with {vmsPerHost} VMs each (the first build of the silo takes a while) ...");
            topology = await NamespaceTopology.StartAsync(new TopologyOptions
            {
                Hosts = hosts,
                Racks = racks,
                Kind = RunPrefix.ManualKind,
                ReportInterval = TimeSpan.FromSeconds(2),
                DeadAfter = TimeSpan.FromSeconds(10),
                RouteResyncInterval = TimeSpan.FromSeconds(5),
                Log = line => error.WriteLine("topology: " + line),
            }, stop.Token);
            output.WriteLine($"up: {topology.Prefix} silos ready; creating the seed network and VMs through the API ...");
            var seed = await SeedNetwork.CreateAsync(topology, [new("icmp"), new("tcp", 1, 65535), new("udp", 1, 65535)]);
            var vms = new List<VirtualMachine>();
            var n = 0;
            for (var round = 0; round < vmsPerHost; round++)
            {
                foreach (var host in topology.Hosts)
                {
                    n++;
                    vms.Add(await seed.LaunchVmAsync($"vm{n}", host, IPAddress.Parse($"10.65.0.{1 + n}")));
                }
            }
            var statuses = new Dictionary<string, string>();
            foreach (var vm in vms)
            {
                try
                {
                    statuses[vm.Name] = await Eventually.UntilAsync($"port of {vm.Name} ACTIVE", () => topology.Api.PortStatusAsync(vm.PortId),
                        s => s == "ACTIVE", TimeSpan.FromSeconds(30));
                }
                catch (TimeoutException)
                {
                    statuses[vm.Name] = "(not ACTIVE yet)";
                }
            }
            Describe(topology, vms, statuses, output);
            output.WriteLine($"{ReadyMarker} {topology.Prefix}");
            try { await Task.Delay(Timeout.Infinite, stop.Token); }
            catch (OperationCanceledException) { }
            output.WriteLine($"up: removing {topology.Prefix} ...");
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsStopRequested)
        {
            error.WriteLine("up: interrupted; removing what was built");
            return 1;
        }
        catch (Exception e) when (e is TopologyException or Calico.Topology.Api.NeutronApiException or CommandFailedException or TimeoutException or IOException or HttpRequestException)
        {
            error.WriteLine($"up: failed: {e.Message}");
            return 1;
        }
        finally
        {
            if (topology is not null)
            {
                await topology.DisposeAsync();
                output.WriteLine($"up: removed everything of {topology.Prefix}");
            }
        }
    }

    private static void Describe(NamespaceTopology t, IReadOnlyList<VirtualMachine> vms, IReadOnlyDictionary<string, string> statuses, TextWriter o)
    {
        var os = string.Join(' ', t.Controller.OpenStackCommand);
        o.WriteLine();
        o.WriteLine($"Topology {t.Prefix} is up: {t.Hosts.Count} compute hosts, {vms.Count} VMs. Data and logs: {t.TempDirectory}");
        o.WriteLine();
        o.WriteLine($"  {"node",-12} {"namespace",-26} {"address",-15} notes");
        o.WriteLine($"  {"fabric",-12} {t.Fabric.Namespace.Name,-26} {"172.18.203.0/24",-15} bridge {Fabric.Bridge}{(t.Router is null ? "" : " (rack r1)")}");
        if (t.Router is { } router)
            o.WriteLine($"  {"router",-12} {router.Name,-26} {NamespaceTopology.RouterAddress,-15} rack r2 {NamespaceTopology.RackTwoSubnet} and {NamespaceTopology.RackTwoIpv6Subnet} on its bridge br1 (gateways {NamespaceTopology.RackTwoGateway}, {NamespaceTopology.RackTwoIpv6Gateway}); BIRD: every host's route reflector, at {NamespaceTopology.RouterAddress} and {NamespaceTopology.RouterIpv6Address}");
        o.WriteLine($"  {"controller",-12} {t.Controller.Namespace.Name,-26} {t.Controller.Address,-15} Neutron API {t.Controller.ApiEndpoint} (no auth); log {t.Controller.Silo.LogPath}");
        foreach (var h in t.Hosts)
            o.WriteLine($"  {"host " + h.Name,-12} {h.Namespace.Name,-26} {h.Address,-15} compute silo, binding:host_id {h.Name}; log {h.Silo.LogPath}");
        foreach (var vm in vms)
            o.WriteLine($"  {vm.Name + " on " + vm.Host.Name,-12} {vm.Namespace.Name,-26} {vm.Address,-15} port {vm.PortId} {statuses.GetValueOrDefault(vm.Name)}, mac {vm.MacAddress}, host side {vm.TapName}");
        o.WriteLine();
        o.WriteLine("Try (as root, from any shell):");
        o.WriteLine($"  {os} network list");
        o.WriteLine($"  {os} port list --long");
        o.WriteLine($"  {os} network agent list");
        foreach (var h in t.Hosts)
            o.WriteLine($"  ip -n {h.Namespace.Name} route show proto 80");
        if (t.Router is { } r)
        {
            o.WriteLine($"  ip -n {t.Hosts[0].Namespace.Name} route show proto bird      # the other rack's blocks, learned over BGP");
            o.WriteLine($"  ip -n {t.Hosts[0].Namespace.Name} -6 route show proto bird   # the same for IPv6 (a dual-stack network's ports), over IPv6 sessions");
            o.WriteLine($"  ip netns exec {t.Controller.Namespace.Name} dotnet {Path.Combine(AppContext.BaseDirectory, "calicoctl.dll")} bgp status --gateway {t.Controller.Address}:30000");
            o.WriteLine($"  birdc -s {Path.Combine(t.TempDirectory, "tor", "bird.ctl")} show protocols    # the router's sessions");
        }
        if (vms.Count > 0)
        {
            var from = vms[0];
            var to = vms.FirstOrDefault(v => v.Host != from.Host) ?? vms[^1];
            o.WriteLine($"  ip -n {from.Namespace.Name} route");
            o.WriteLine($"  ip netns exec {from.Namespace.Name} ping -c 3 {to.Address}");
        }
        o.WriteLine($"  ip netns exec {t.Hosts[0].Namespace.Name} curl -s {t.Hosts[0].Silo.HealthBase}readyz");
        o.WriteLine($"  tail -f {t.Hosts[0].Silo.LogPath}");
        o.WriteLine($"  ip netns exec {t.Hosts[0].Namespace.Name} nft list table inet calico    # the host's policy");
        o.WriteLine("Policy is on: security group seed-open lets ICMP, TCP and UDP in; VMs reach their own host only for DHCP, DNS and metadata.");
        o.WriteLine("A VM of your own: create a port bound to a host (openstack port create --host h1 ...), then");
        o.WriteLine("  ip -n <host ns> link add tap<first 11 characters of the port id> address <fe:...> type veth peer name eth0 address <port MAC> netns <vm ns>");
        o.WriteLine();
        o.WriteLine("Ctrl-C removes everything. If this process is killed instead, scripts/topology.sh down removes what it left.");
    }
}
