using System.Diagnostics;
using System.Net;
using Calico.Topology.Api;

namespace Calico.Bench.Scale;

/// <summary>
/// The population of one shape, created through the API: networks with one IPv4 subnet each, sized so that every host
/// has about 50 ports per network (one /26 block of its own) with room to spare; 20 security groups, of which 6 (0–5)
/// are named as remote groups by rules of the other 14; ports spread evenly over the hosts (port i on host i mod H), in
/// one or two groups (1.5 on average); a few floating IPs on an external network, associated with the first ports.
/// </summary>
internal sealed class Workload(NeutronClient api, Shape shape)
{
    public const int Groups = 20;
    public const int RemoteGroups = 6;
    public const int FloatingIps = 10;
    private const int PortsPerHostPerNetwork = 50;

    public List<(string Network, string Subnet)> Networks { get; } = [];

    public List<string> GroupIds { get; } = [];

    public int PortsCreated => _created;

    private int _created;
    private readonly string[] _firstPorts = new string[FloatingIps];

    /// <summary>Groups of port <paramref name="n"/>: one, and every other port a second one (1.5 on average).</summary>
    public IEnumerable<string> GroupsOf(int n)
    {
        var first = n % Groups;
        yield return GroupIds[first];
        if (n % 2 == 0) yield return GroupIds[(first + 1 + n / Groups % (Groups - 1)) % Groups];
    }

    /// <summary>Networks, groups and rules (one call at a time: few, and their order is part of the population).</summary>
    public async Task CreateStructureAsync(int extraPorts)
    {
        var perHost = (shape.Ports + shape.Hosts - 1) / shape.Hosts;
        var networks = Math.Max(1, (perHost + PortsPerHostPerNetwork - 1) / PortsPerHostPerNetwork);
        var perHostPerNetwork = (perHost + networks - 1) / networks;
        // Blocks every host claims, plus those of the unbound ports (no affinity), twice over.
        var blocks = shape.Hosts * ((perHostPerNetwork + 63) / 64) + (extraPorts + 63) / 64 + 1;
        var prefix = Math.Min(24, 32 - (int)Math.Ceiling(Math.Log2(blocks * 64.0 * 2)));
        var size = 1L << (32 - prefix);
        for (var n = 0; n < networks; n++)
        {
            var start = (10L << 24) + n * size;
            var network = await api.CreateNetworkAsync($"scale-{n}");
            var cidr = $"{Address(start)}/{prefix}";
            var subnet = await api.CreateSubnetAsync((string)network["id"]!, cidr, Address(start + 1).ToString(), $"scale-{n}-v4", enableDhcp: true);
            Networks.Add(((string)network["id"]!, (string)subnet["id"]!));
        }
        for (var g = 0; g < Groups; g++)
            GroupIds.Add((string)(await api.CreateSecurityGroupAsync($"scale-sg{g}", g < RemoteGroups ? "named as a remote group" : ""))["id"]!);
        for (var g = 0; g < Groups; g++)
        {
            await api.AddIngressRuleAsync(GroupIds[g], "tcp", 22, remoteIpPrefix: "0.0.0.0/0");
            if (g >= RemoteGroups) await AddRuleAsync(g, "tcp", 1000 + g, remoteGroup: g % RemoteGroups);
        }
    }

    /// <summary>An ingress rule in group <paramref name="group"/>, from the members of <paramref name="remoteGroup"/> or from anywhere.</summary>
    public async Task<string> AddRuleAsync(int group, string protocol, int port, int? remoteGroup)
    {
        var rule = new JsonObject
        {
            ["security_group_id"] = GroupIds[group], ["direction"] = "ingress", ["ethertype"] = "IPv4", ["protocol"] = protocol,
            ["port_range_min"] = port, ["port_range_max"] = port,
        };
        if (remoteGroup is { } r) rule["remote_group_id"] = GroupIds[r];
        else rule["remote_ip_prefix"] = "0.0.0.0/0";
        return (string)(await api.CreateAsync("security-group-rules", "security_group_rule", rule))["id"]!;
    }

    /// <summary>
    /// Creates the ports bound to their hosts, <paramref name="parallel"/> requests at a time, printing progress every
    /// 10 s; counts each host's expected workload interfaces. Throws if it takes longer than <paramref name="timeout"/>.
    /// </summary>
    public async Task CreatePortsAsync(IReadOnlyList<SimulatedHost> hosts, int parallel, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        using var cancel = new CancellationTokenSource(timeout);
        var next = -1;
        var progress = Task.Run(async () =>
        {
            while (!cancel.IsCancellationRequested && _created < shape.Ports)
            {
                try { await Task.Delay(TimeSpan.FromSeconds(10), cancel.Token); }
                catch (OperationCanceledException) { return; }
                Console.WriteLine($"  seeding: {_created} of {shape.Ports} ports after {watch.Elapsed.TotalSeconds:F0} s " +
                                  $"({_created / watch.Elapsed.TotalSeconds:F1} per s)");
            }
        });
        try
        {
            await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
            {
                for (var n = Interlocked.Increment(ref next); n < shape.Ports; n = Interlocked.Increment(ref next))
                {
                    var host = hosts[n % shape.Hosts];
                    var (network, subnet) = Networks[n / shape.Hosts % Networks.Count];
                    var port = await api.CreatePortAsync(network, subnet, null, host.Name, $"vm-{n}", GroupsOf(n), cancellationToken: cancel.Token);
                    if (n < FloatingIps) _firstPorts[n] = (string)port["id"]!;
                    Interlocked.Increment(ref _created);
                }
            }));
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw new TimeoutException($"seeding: {_created} of {shape.Ports} ports created in {timeout.TotalSeconds:F0} s " +
                                       $"({_created / watch.Elapsed.TotalSeconds:F1} per s); raise --seed-timeout-s or run a smaller shape");
        }
        finally
        {
            await cancel.CancelAsync();
            await progress;
        }
        for (var n = 0; n < shape.Ports; n++) hosts[n % shape.Hosts].ExpectedInterfaces++;
    }

    /// <summary>
    /// An external network, a router from every network's subnet to it (Neutron's rule for floating IPs), and
    /// <see cref="FloatingIps"/> floating IPs associated with the first ports.
    /// </summary>
    public async Task CreateFloatingIpsAsync()
    {
        var external = await api.CreateAsync("networks", "network", new JsonObject { ["name"] = "scale-ext", ["router:external"] = true });
        await api.CreateSubnetAsync((string)external["id"]!, "198.18.0.0/24", "198.18.0.1", "scale-ext-v4", enableDhcp: false);
        await api.CreateRouterAsync("scale-router", (string)external["id"]!, Networks.Select(n => n.Subnet));
        foreach (var port in _firstPorts.Take(Math.Min(FloatingIps, shape.Ports)))
            await api.CreateAsync("floatingips", "floatingip", new JsonObject { ["floating_network_id"] = (string)external["id"]!, ["port_id"] = port });
    }

    private static IPAddress Address(long value) => new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
}
