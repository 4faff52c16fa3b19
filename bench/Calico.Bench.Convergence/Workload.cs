using System.Diagnostics;
using System.Net;
using Calico.Topology;
using Calico.Topology.Nodes;

namespace Calico.Bench.Convergence;

/// <summary>
/// One VM's port, made ready to be bound the way Nova makes it: the port created unbound through the API (the API
/// chooses its id and MAC; the subnet's IPAM its address), then the VM plugged on its host — a namespace whose eth0
/// has the port's MAC behind a veth whose host end carries the tap name derived from the port id. The bind itself
/// (binding:host_id) is what the benchmark times.
/// </summary>
internal sealed record Workload(int Number, ComputeHost Host, string PortId, IPAddress Address, VirtualMachine Vm)
{
    public static async Task<(Workload Workload, double CreateMilliseconds)> CreateAsync(NamespaceTopology topology, SeedNetwork seed,
        int number, ComputeHost host, CancellationToken cancellationToken)
    {
        var name = $"vm{number}";
        var started = Stopwatch.GetTimestamp();
        var port = await topology.Api.CreatePortAsync(seed.NetworkId, seed.SubnetId, address: null, host: null, deviceId: name,
            [seed.SecurityGroupId], cancellationToken: cancellationToken);
        var created = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var id = (string)port["id"]!;
        var address = IPAddress.Parse((string)port["fixed_ips"]![0]!["ip_address"]!);
        var vm = await topology.AddVmAsync(name, host, id, (string)port["mac_address"]!);
        return (new Workload(number, host, id, address, vm), created);
    }

    public override string ToString() => $"vm{Number} ({Address}, port {PortId}, {Vm.TapName} on {Host.Name})";
}
