using System.Diagnostics;
using System.Net;
using Calico.Topology;
using Calico.Topology.Nodes;

namespace Calico.Bench.Convergence;

/// <summary>
/// One VM's port, made ready to be bound the way Nova makes it: the port created unbound through the API (the API
/// chooses its id and MAC; the subnet's IPAM its address), and the VM defined on its host — its namespace, nothing
/// plugged yet. Plugging (the tap in the host, named after the port id, with eth0 of the port's MAC as its peer in the
/// VM) is the measurement's business: after the bind call in Nova's order, before it in the tap-first phase.
/// </summary>
/// <param name="Create">How long the create call (POST, unbound) took, in milliseconds.</param>
internal sealed record Workload(int Number, ComputeHost Host, string PortId, IPAddress Address, VirtualMachine Vm, double Create)
{
    public static async Task<Workload> CreateAsync(NamespaceTopology topology, SeedNetwork seed, int number, ComputeHost host,
        CancellationToken cancellationToken)
    {
        var name = $"vm{number}";
        var started = Stopwatch.GetTimestamp();
        var port = await topology.Api.CreatePortAsync(seed.NetworkId, seed.SubnetId, address: null, host: null, deviceId: name,
            [seed.SecurityGroupId], cancellationToken: cancellationToken);
        var created = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var id = (string)port["id"]!;
        var address = IPAddress.Parse((string)port["fixed_ips"]![0]!["ip_address"]!);
        var vm = await topology.DefineVmAsync(name, host, id, (string)port["mac_address"]!);
        return new Workload(number, host, id, address, vm, created);
    }

    public override string ToString() => $"vm{Number} ({Address}, port {PortId}, {Vm.TapName} on {Host.Name})";
}
