using System.Net;
using Calico.Topology.Nodes;

namespace Calico.Topology;

/// <summary>An ingress rule to open in the workloads' security group: "icmp", "tcp" or "udp", with an optional port range.</summary>
public sealed record IngressRule(string Protocol, int? PortMin = null, int? PortMax = null);

/// <summary>
/// The seed's workload network, created through the Neutron API: network + subnet 10.65.0.0/24 (gateway 10.65.0.1)
/// and a security group that lets in what the caller names (plus Neutron's default egress rules). VMs are launched
/// the way Nova does it: a port with a fixed IP bound to a host (device_owner compute:nova), then the VM plugged
/// behind the tap named after that port. Addresses are static for now (DHCP arrives separately).
/// </summary>
public sealed class SeedNetwork
{
    public static readonly IPNetwork Cidr = IPNetwork.Parse("10.65.0.0/24");
    public static readonly IPAddress Gateway = IPAddress.Parse("10.65.0.1");

    private readonly NamespaceTopology _topology;

    private SeedNetwork(NamespaceTopology topology, string networkId, string subnetId, string securityGroupId)
    {
        _topology = topology;
        NetworkId = networkId;
        SubnetId = subnetId;
        SecurityGroupId = securityGroupId;
    }

    public string NetworkId { get; }

    public string SubnetId { get; }

    public string SecurityGroupId { get; }

    public static async Task<SeedNetwork> CreateAsync(NamespaceTopology topology, IEnumerable<IngressRule> ingress, string name = "seed")
    {
        ArgumentNullException.ThrowIfNull(topology);
        var api = topology.Api;
        var network = await api.CreateNetworkAsync($"{name}-net");
        var networkId = (string)network["id"]!;
        var subnet = await api.CreateSubnetAsync(networkId, Cidr.ToString(), Gateway.ToString(), $"{name}-subnet");
        var group = await api.CreateSecurityGroupAsync($"{name}-open", "Lets in what the topology's probes use");
        var groupId = (string)group["id"]!;
        foreach (var rule in ingress) await api.AddIngressRuleAsync(groupId, rule.Protocol, rule.PortMin, rule.PortMax);
        return new SeedNetwork(topology, networkId, (string)subnet["id"]!, groupId);
    }

    /// <summary>
    /// Creates the port (bound to <paramref name="host"/>, in <paramref name="securityGroups"/> or the network's open
    /// group), plugs the VM and, unless told not to (to try DHCP), configures <paramref name="address"/>/24 on its eth0.
    /// </summary>
    public async Task<VirtualMachine> LaunchVmAsync(string name, ComputeHost host, IPAddress address, bool configure = true,
        IEnumerable<string>? securityGroups = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        var port = await _topology.Api.CreatePortAsync(NetworkId, SubnetId, address, host.Name, deviceId: name, securityGroups ?? [SecurityGroupId]);
        var vm = await _topology.AddVmAsync(name, host, (string)port["id"]!, (string)port["mac_address"]!);
        if (configure) await vm.ConfigureStaticAsync(address, Cidr.PrefixLength, Gateway);
        return vm;
    }
}
