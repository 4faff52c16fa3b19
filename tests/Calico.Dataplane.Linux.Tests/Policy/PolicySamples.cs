using System.Net;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Dataplane.Linux.Tests.Policy;

/// <summary>Desired items for policy tests, in the shapes the calculation emits them.</summary>
internal static class PolicySamples
{
    public static WorkloadInterfaceItem Endpoint(string name, string mac, string[] addresses, string[] groups, bool adminUp = true,
        params AllowedAddressPair[] pairs) =>
        new(name, "port-" + name, mac, addresses.Select(a => IpPrefix.Host(IPAddress.Parse(a))).ToValueList(), adminUp,
            groups.ToValueList(), pairs.ToValueList(), 1500);

    public static AllowedAddressPair Pair(string prefix, string? mac = null) => new(IpPrefix.Parse(prefix), mac);

    public static SecurityGroupPolicyItem Group(string id, params SecurityGroupRule[] rules) => new(id, rules.ToValueList(), Stateful: true);

    public static SecurityGroupRule Ingress(string id, int? protocol = null, int? from = null, int? to = null, string? prefix = null,
        string? remoteGroup = null, EtherType etherType = EtherType.IPv4) =>
        new(id, RuleDirection.Ingress, etherType, protocol, from, to, prefix is null ? null : IpPrefix.Parse(prefix), remoteGroup);

    public static SecurityGroupRule Egress(string id, int? protocol = null, int? from = null, int? to = null, string? prefix = null,
        string? remoteGroup = null, EtherType etherType = EtherType.IPv4) =>
        new(id, RuleDirection.Egress, etherType, protocol, from, to, prefix is null ? null : IpPrefix.Parse(prefix), remoteGroup);

    /// <summary>A set of one member: its bucket holding it alone.</summary>
    public static IpSetMembersItem Member(string group, string prefix) => Members(group, prefix).Single();

    /// <summary>The bucket items of a group's member set.</summary>
    public static IEnumerable<IpSetMembersItem> Members(string group, params string[] prefixes) =>
        IpSetMembersItem.Split(group, prefixes.Select(MemberPrefix));

    /// <summary>The change that adds a member to (or removes it from) the group's set as <paramref name="held"/> has it.</summary>
    public static DesiredChange MemberChange(IEnumerable<DesiredItem> held, string group, string prefix, bool present)
    {
        var member = MemberPrefix(prefix);
        var key = MemberBuckets.KeyOf(group, MemberBuckets.Of(member));
        return IpSetMembersItem.Change(held.OfType<IpSetMembersItem>().SingleOrDefault(i => i.Key == key), group, member, present);
    }

    private static IpPrefix MemberPrefix(string prefix) => prefix.Contains('/') ? IpPrefix.Parse(prefix) : IpPrefix.Host(IPAddress.Parse(prefix));

    public static FloatingNatItem Floating(string floating, string fixedAddress, string iface) =>
        new(IPAddress.Parse(floating), IPAddress.Parse(fixedAddress), iface, "fip-" + floating);

    public static IpPoolItem Pool(string name, string cidr, bool outgoingNat) => new(name, IpPrefix.Parse(cidr), outgoingNat);

    /// <summary>
    /// A web server and a database on one host: "web" lets anyone reach 80 and 443, SSH from the operators' network,
    /// ping; "db" lets members of "web" reach 5432; both leave freely (Neutron's default egress). The web server has a
    /// floating IP and a VRRP pair; the pool masquerades outgoing traffic.
    /// </summary>
    public static DesiredItem[] WebAndDatabase() =>
    [
        Endpoint("tapweb0000001", "fa:16:3e:00:00:01", ["10.65.0.3"], ["web"], pairs: Pair("10.65.0.100/32", "fa:16:3e:00:00:99")),
        Endpoint("tapdb00000002", "fa:16:3e:00:00:02", ["10.65.0.4", "fd00:65::4"], ["db"]),
        Group("web",
            Ingress("web-http", IpProtocols.Tcp, 80, 80),
            Ingress("web-https", IpProtocols.Tcp, 443, 443),
            Ingress("web-ssh", IpProtocols.Tcp, 22, 22, prefix: "192.0.2.0/24"),
            Ingress("web-ping", IpProtocols.Icmp, 8, 0),
            Egress("web-out-v4"),
            Egress("web-out-v6", etherType: EtherType.IPv6)),
        Group("db",
            Ingress("db-pg", IpProtocols.Tcp, 5432, 5432, remoteGroup: "web"),
            Ingress("db-ping6", IpProtocols.Icmpv6, etherType: EtherType.IPv6),
            Egress("db-out-v4")),
        .. Members("web", "10.65.0.3", "10.65.0.100", "10.65.1.7"),
        Floating("172.24.4.10", "10.65.0.3", "tapweb0000001"),
        Pool("pool-v4", "10.65.0.0/16", outgoingNat: true),
    ];

    public static Dictionary<DesiredKey, DesiredItem> State(IEnumerable<DesiredItem> items) => items.ToDictionary(i => i.Key);

    public static DesiredChange Set(DesiredItem item) => new(item.Key, item);

    public static DesiredChange Remove(DesiredItem item) => new(item.Key, null);
}
