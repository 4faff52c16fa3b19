using System.Net;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Grains.Tests;

internal static class Samples
{
    public static HostSpec Host(string name, string ipv4) => new(name, IPAddress.Parse(ipv4), null, null, ValueMap.Empty);

    public static Network Network(string id = "net-1") => new(id, id, "proj", true, 1500, false, false);

    public static Subnet Subnet(string id = "sub-1") =>
        new(id, "net-1", id, "proj", IpPrefix.Parse("10.65.0.0/24"), IPAddress.Parse("10.65.0.1"),
            ValueList<IPAddress>.Empty, ValueList<HostRoute>.Empty, ValueList<AllocationPool>.Empty, true);

    public static WorkloadEndpoint Endpoint(string id, string? host, string ip, params string[] groups) =>
        new(id, "net-1", id, "proj", host, "fa:16:3e:00:00:" + (id.GetHashCode(StringComparison.Ordinal) & 0xff).ToString("x2", System.Globalization.CultureInfo.InvariantCulture),
            ValueList.Create(new FixedIp("sub-1", IPAddress.Parse(ip))), groups.ToValueList(),
            ValueList<AllowedAddressPair>.Empty, true, "vm", "compute:nova");

    public static SecurityGroup Group(string id, params SecurityGroupRule[] rules) => new(id, id, "proj", "", rules.ToValueList());

    public static SecurityGroupRule TcpRule(string id, int port) =>
        new(id, RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Tcp, port, port, null, null);
}
