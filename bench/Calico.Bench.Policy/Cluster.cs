using System.Net;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Bench.Policy;

/// <summary>
/// One host's desired state at a given size: local endpoints spread over security groups (each endpoint in one group,
/// every other one in a second), each group with a few port rules and two remote-group rules (itself and the next
/// group), and the remote groups' members anywhere in the cluster: every address of every group is in a set here.
/// </summary>
internal sealed record Cluster(int Endpoints, int Groups, int Members)
{
    public static string Interface(int endpoint) => $"tap{endpoint:x11}";

    public static string Group(int group) => $"sg-{group:d4}";

    public IEnumerable<DesiredItem> Items()
    {
        for (var g = 0; g < Groups; g++) yield return GroupItem(g);
        for (var e = 0; e < Endpoints; e++) yield return Endpoint(e);
        foreach (var group in Enumerable.Range(0, Members).GroupBy(m => m % Groups))
            foreach (var bucket in IpSetMembersItem.Split(Group(group.Key), group.Select(MemberAddress))) yield return bucket;
        for (var e = 0; e < Endpoints; e += 10)
            yield return new FloatingNatItem(new IPAddress([172, 24, (byte)(e >> 8), (byte)e]), Address(e), Interface(e), $"fip-{e}");
        yield return new IpPoolItem("pool", IpPrefix.Parse("10.64.0.0/10"), OutgoingNat: true);
    }

    /// <summary>An endpoint whose groups (hence chains) already exist: the common case of a VM being started.</summary>
    public WorkloadInterfaceItem Endpoint(int endpoint)
    {
        var groups = endpoint % 2 == 0
            ? [Group(endpoint % Groups)]
            : new[] { Group(endpoint % Groups), Group((endpoint / 2 + 1) % Groups) }.Distinct().Order(StringComparer.Ordinal).ToArray();
        return new WorkloadInterfaceItem(Interface(endpoint), $"port-{endpoint}", Mac(endpoint), ValueList.Create(IpPrefix.Host(Address(endpoint))),
            true, groups.ToValueList(), ValueList<AllowedAddressPair>.Empty, 1500);
    }

    public static IpPrefix MemberAddress(int member) =>
        IpPrefix.Host(new IPAddress([10, (byte)(100 + (member >> 16)), (byte)(member >> 8), (byte)member]));

    /// <summary>The change that adds member <paramref name="member"/> to its group's set as <paramref name="held"/> holds it, or removes it.</summary>
    public DesiredChange MemberChange(IReadOnlyDictionary<DesiredKey, DesiredItem> held, int member, bool present)
    {
        var group = Group(member % Groups);
        var address = MemberAddress(member);
        var bucket = held.GetValueOrDefault(MemberBuckets.KeyOf(group, MemberBuckets.Of(address))) as IpSetMembersItem;
        return IpSetMembersItem.Change(bucket, group, address, present);
    }

    public SecurityGroupPolicyItem GroupItem(int group) => new(Group(group), ValueList.Create(
        new SecurityGroupRule($"{group}-ssh", RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Tcp, 22, 22, IpPrefix.Parse("192.0.2.0/24"), null),
        new SecurityGroupRule($"{group}-http", RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Tcp, 80, 80, null, null),
        new SecurityGroupRule($"{group}-ping", RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Icmp, 8, null, null, null),
        new SecurityGroupRule($"{group}-self", RuleDirection.Ingress, EtherType.IPv4, null, null, null, null, Group(group)),
        new SecurityGroupRule($"{group}-next", RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Tcp, 5432, 5432, null, Group((group + 1) % Groups)),
        new SecurityGroupRule($"{group}-out4", RuleDirection.Egress, EtherType.IPv4, null, null, null, null, null),
        new SecurityGroupRule($"{group}-out6", RuleDirection.Egress, EtherType.IPv6, null, null, null, null, null)), Stateful: true);

    private static IPAddress Address(int endpoint) => new([10, 65, (byte)(endpoint >> 8), (byte)endpoint]);

    private static string Mac(int endpoint) => $"fa:16:3e:00:{(endpoint >> 8) & 0xff:x2}:{endpoint & 0xff:x2}";
}
