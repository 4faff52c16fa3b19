using System.Net;
using System.Text.Json.Nodes;
using Calico.Topology;
using Calico.Topology.Nodes;

namespace Calico.EndToEnd.Tests.Fixtures;

/// <summary>
/// A dual-stack network made through the Neutron API as a user would: an IPv4 subnet (10.66.0.0/24), an IPv6 SLAAC
/// subnet (fd00:66::/64), and a security group letting IPv6 in (one ingress rule, ethertype IPv6). VMs are launched
/// on it Nova's way: a port (IPv4 from IPAM, IPv6 its EUI-64 address), bound to a host, then the VM plugged.
/// </summary>
public sealed record SlaacNetwork(string NetworkId, JsonObject Ipv4Subnet, JsonObject Ipv6Subnet, string GroupId, JsonObject IngressRule)
{
    public static async Task<SlaacNetwork> CreateAsync(NamespaceTopology topology, string name)
    {
        var api = topology.Api;
        var network = (string)(await api.CreateNetworkAsync(name))["id"]!;
        var v4 = await api.CreateSubnetAsync(network, "10.66.0.0/24", "10.66.0.1", name + "-v4");
        var v6 = await api.CreateAsync("subnets", "subnet", new JsonObject
        {
            ["network_id"] = network, ["name"] = name + "-v6", ["ip_version"] = 6, ["cidr"] = "fd00:66::/64",
            ["gateway_ip"] = "fd00:66::1", ["ipv6_ra_mode"] = "slaac", ["ipv6_address_mode"] = "slaac",
        });
        var group = (string)(await api.CreateSecurityGroupAsync(name + "-in", "IPv6 in"))["id"]!;
        var rule = await AddIngressRuleAsync(topology, group);
        return new SlaacNetwork(network, v4, v6, group, rule);
    }

    /// <summary>The group's ingress rule for IPv6 (ethertype IPv6, any protocol), again.</summary>
    public static Task<JsonObject> AddIngressRuleAsync(NamespaceTopology topology, string group) =>
        topology.Api.CreateAsync("security-group-rules", "security_group_rule", new JsonObject
        {
            ["security_group_id"] = group, ["direction"] = "ingress", ["ethertype"] = "IPv6",
        });

    /// <summary>A VM on <paramref name="host"/>, in the group: its port's IPv6 (EUI-64) address and the VM, plugged.</summary>
    public async Task<(VirtualMachine Vm, IPAddress Address)> LaunchAsync(NamespaceTopology topology, string name, ComputeHost host)
    {
        var port = await topology.Api.CreateAsync("ports", "port", new JsonObject
        {
            ["network_id"] = NetworkId, ["name"] = name, ["device_owner"] = "compute:nova", ["device_id"] = name,
            ["binding:host_id"] = host.Name, ["security_groups"] = new JsonArray(GroupId),
        });
        var address = IPAddress.Parse(port["fixed_ips"]!.AsArray().Select(f => (string)f!["ip_address"]!).Single(a => a.Contains(':', StringComparison.Ordinal)));
        return (await topology.AddVmAsync(name, host, (string)port["id"]!, (string)port["mac_address"]!), address);
    }
}
