using System.Net;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Model.Tests;

/// <summary>Builders for valid resources; tests change what they are about with <c>with</c>.</summary>
public static class Sample
{
    public static HostSpec Host(string name, string ipv4, string? ipv6 = null) =>
        new(name, IPAddress.Parse(ipv4), ipv6 is null ? null : IPAddress.Parse(ipv6), null, ValueMap.Empty);

    public static Network Network(string id = "net-1", int mtu = 1500) => new(id, id, "proj", true, mtu, false, false);

    public static Subnet Subnet(string id = "sub-1", string cidr = "10.65.0.0/24", string? gateway = "10.65.0.1", string network = "net-1") =>
        new(id, network, id, "proj", IpPrefix.Parse(cidr), gateway is null ? null : IPAddress.Parse(gateway),
            ValueList<IPAddress>.Empty, ValueList<HostRoute>.Empty, ValueList<AllocationPool>.Empty, true);

    public static WorkloadEndpoint Endpoint(string id, string? host, params string[] ips) =>
        new(id, "net-1", id, "proj", host, MacFor(id),
            ips.Select(ip => new FixedIp(ip.Contains(':') ? "sub-6" : "sub-1", IPAddress.Parse(ip))).ToValueList(),
            ValueList.Create("sg-default"), ValueList<AllowedAddressPair>.Empty, true, "vm-" + id, "compute:nova");

    public static string MacFor(string id)
    {
        var h = (uint)id.GetHashCode(StringComparison.Ordinal);
        return $"fa:16:3e:{(h >> 16) & 0xff:x2}:{(h >> 8) & 0xff:x2}:{h & 0xff:x2}";
    }

    public static SecurityGroupRule Rule(string id, RuleDirection direction = RuleDirection.Ingress, int? protocol = IpProtocols.Tcp,
        int? from = 22, int? to = 22, string? remoteGroup = null, string? prefix = null, EtherType ether = EtherType.IPv4) =>
        new(id, direction, ether, protocol, from, to, prefix is null ? null : IpPrefix.Parse(prefix), remoteGroup);

    public static SecurityGroup Group(string id, params SecurityGroupRule[] rules) =>
        new(id, id, "proj", "", rules.ToValueList());
}
