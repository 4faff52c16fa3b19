using System.Net;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Model.Desired;

/// <summary>What kind of dataplane object a desired item describes; also the order reconcilers apply them in.</summary>
public enum DesiredKind
{
    Interface = 1,
    IpSetMember = 2,
    Policy = 3,
    Route = 4,
    FloatingNat = 5,
    DhcpSubnet = 6,
    DhcpHost = 7,
    IpPool = 8,
    BgpNode = 9,
    BgpPeer = 10,
}

/// <summary>Identifies one desired item on a host; keys are unique within a host's desired state.</summary>
[GenerateSerializer, Immutable]
public readonly record struct DesiredKey([property: Id(0)] DesiredKind Kind, [property: Id(1)] string Id) : IComparable<DesiredKey>
{
    public int CompareTo(DesiredKey other)
    {
        var kind = Kind.CompareTo(other.Kind);
        return kind != 0 ? kind : string.CompareOrdinal(Id, other.Id);
    }

    public override string ToString() => $"{Kind}:{Id}";
}

/// <summary>One object a host's dataplane must hold. Immutable with value equality, so changes are found by comparing.</summary>
[GenerateSerializer, Immutable]
public abstract record DesiredItem
{
    public abstract DesiredKey Key { get; }
}

/// <summary>
/// A local workload's tap interface: its addresses (for routes and anti-spoofing), MAC and groups.
/// <see cref="PortSecurityOff"/>: no anti-spoofing and no policy of its own (Neutron's port_security_enabled false;
/// inverted so that an item from a silo that predates it means what it meant there). <see cref="Qos"/>: the limits
/// of the port's effective QoS policy (null: none, which is also what an item from an older silo means), which the
/// Linux dataplane's QoS component programs as tc on the tap.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record WorkloadInterfaceItem(
    [property: Id(0)] string Name,
    [property: Id(1)] string EndpointId,
    [property: Id(2)] string MacAddress,
    [property: Id(3)] ValueList<IpPrefix> Addresses,
    [property: Id(4)] bool AdminUp,
    [property: Id(5)] ValueList<string> SecurityGroupIds,
    [property: Id(6)] ValueList<AllowedAddressPair> AllowedAddressPairs,
    [property: Id(7)] int Mtu,
    [property: Id(8)] bool PortSecurityOff = false,
    [property: Id(9)] WorkloadQos? Qos = null) : DesiredItem
{
    [System.Text.Json.Serialization.JsonIgnore]
    public bool PortSecurity => !PortSecurityOff;

    public override DesiredKey Key => new(DesiredKind.Interface, Name);

    /// <summary>The interface of a bound port on its network's MTU; its addresses as host prefixes, IPv4 first, in address order.</summary>
    public static WorkloadInterfaceItem For(WorkloadEndpoint endpoint, int mtu, WorkloadQos? qos = null)
    {
        var addresses = endpoint.Addresses.Select(IpPrefix.Host)
            .OrderBy(p => p.Version).ThenBy(p => p.Address, Comparer<IPAddress>.Create(IpAddresses.Compare)).ToValueList();
        return new WorkloadInterfaceItem(endpoint.InterfaceName, endpoint.Id, endpoint.MacAddress, addresses,
            endpoint.AdminStateUp, endpoint.SecurityGroupIds, endpoint.AllowedAddressPairs, mtu, endpoint.PortSecurityOff, qos);
    }
}

/// <summary>
/// The QoS limits a workload's interface must get: the rules of its effective policy (the port's own, else its
/// network's), never empty (a policy without rules limits nothing, so it travels as no QoS at all).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record WorkloadQos([property: Id(0)] string PolicyId, [property: Id(1)] ValueList<QosRule> Rules)
{
    /// <summary>The port's own policy, else its network's; null when neither names one that exists and has rules.</summary>
    public static string? EffectivePolicyId(IIntentView intent, WorkloadEndpoint endpoint) =>
        endpoint.QosPolicyId ?? intent.Network(endpoint.NetworkId)?.QosPolicyId;

    public static WorkloadQos? Of(QosPolicy? policy) =>
        policy is { Rules.Count: > 0 } ? new WorkloadQos(policy.Id, policy.Rules) : null;

    public static WorkloadQos? For(IIntentView intent, WorkloadEndpoint endpoint) =>
        EffectivePolicyId(intent, endpoint) is { } id ? Of(intent.QosPolicy(id)) : null;
}

public enum RouteKind { Local = 1, ViaHost = 2, Blackhole = 3 }

/// <summary>
/// A route the host must hold: to a local workload on its tap (Local), to a remote workload or block via the
/// host that owns it (ViaHost), or a blackhole for a block this host owns.
/// <see cref="Standby"/>: a live migration's route, held at a lower priority (a higher metric, the dataplane's
/// <c>Dataplane:MigrationRouteMetric</c>) beside the normal one for the same destination, under a key of its own: on
/// the migration's target the route to the tap that is waiting for the VM (the dataplane promotes it to normal
/// priority as soon as the tap is live, without waiting for the control plane), on its source the route via the target
/// that takes over when the source's tap goes with the VM. False in an item from a silo that predates it.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RouteItem(
    [property: Id(0)] IpPrefix Destination,
    [property: Id(1)] RouteKind Kind,
    [property: Id(2)] string? InterfaceName,
    [property: Id(3)] IPAddress? Gateway,
    [property: Id(4)] string? ViaHost,
    [property: Id(5)] bool Standby = false) : DesiredItem
{
    /// <summary>What follows the destination in a standby route's key.</summary>
    public const string StandbySuffix = " standby";

    public override DesiredKey Key => new(DesiredKind.Route, Standby ? Destination + StandbySuffix : Destination.ToString());

    public static RouteItem Local(IpPrefix destination, string interfaceName, bool standby = false) =>
        new(destination, RouteKind.Local, interfaceName, null, null, standby);

    public static RouteItem Via(IpPrefix destination, IPAddress gateway, string host, bool standby = false) =>
        new(destination, RouteKind.ViaHost, null, gateway, host, standby);

    public static RouteItem Blackhole(IpPrefix destination) => new(destination, RouteKind.Blackhole, null, null, null);
}

/// <summary>The rules of one security group used by a local endpoint.</summary>
[GenerateSerializer, Immutable]
public sealed record SecurityGroupPolicyItem(
    [property: Id(0)] string GroupId,
    [property: Id(1)] ValueList<SecurityGroupRule> Rules,
    [property: Id(2)] bool Stateful) : DesiredItem
{
    public override DesiredKey Key => new(DesiredKind.Policy, GroupId);
}

/// <summary>
/// Part of a remote group's member set (members anywhere in the cluster): those whose prefix falls in
/// <see cref="Bucket"/>, one of <see cref="MemberBuckets.Count"/>, sorted. A group's set travels as at most that many
/// items rather than one per member, so a host holding tens of thousands of members holds a few hundred items, and a
/// member change rewrites one bucket (about a 64th of the set).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record IpSetMembersItem : DesiredItem
{
    public IpSetMembersItem(string groupId, int bucket, ValueList<IpPrefix> members)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        if (bucket < 0 || bucket >= MemberBuckets.Count)
            throw new ArgumentOutOfRangeException(nameof(bucket), $"bucket {bucket} is outside 0..{MemberBuckets.Count - 1}");
        if (members.IsEmpty) throw new ArgumentException("a member bucket holds at least one member", nameof(members));
        var sorted = true;
        for (var i = 0; i < members.Count; i++)
        {
            if (MemberBuckets.Of(members[i]) != bucket)
                throw new ArgumentException($"member {members[i]} belongs in bucket {MemberBuckets.Of(members[i])}, not {bucket}", nameof(members));
            if (i > 0 && MemberBuckets.Compare(members[i - 1], members[i]) >= 0) sorted = false;
        }
        // Held sorted and distinct, so that equal sets are equal items.
        if (!sorted) members = members.Distinct().Order(MemberBuckets.Comparer).ToValueList();
        (GroupId, Bucket, Packed, _members) = (groupId, bucket, MemberBuckets.Pack(members), members);
    }

    [Id(0)] public string GroupId { get; }

    [Id(1)] public int Bucket { get; }

    /// <summary>
    /// The members as they travel: 5 bytes an IPv4 address, 17 an IPv6 one, one more for a shorter prefix (see
    /// <see cref="MemberBuckets.Pack"/>). A snapshot holds tens of thousands of members; packed, they cost one array
    /// per bucket to send and receive instead of an object per address.
    /// </summary>
    [Id(2)] private byte[] Packed { get; }

    [NonSerialized] private ValueList<IpPrefix>? _members;

    /// <summary>The members, sorted (decoded from the packed form on first use after a deserialization).</summary>
    public ValueList<IpPrefix> Members => _members ??= MemberBuckets.Unpack(Packed);

    public override DesiredKey Key => MemberBuckets.KeyOf(GroupId, Bucket);

    public bool Equals(IpSetMembersItem? other) =>
        other is not null && GroupId == other.GroupId && Bucket == other.Bucket && Packed.AsSpan().SequenceEqual(other.Packed);

    public override int GetHashCode() => HashCode.Combine(GroupId, Bucket, Packed.Length);

    /// <summary>
    /// The change that adds <paramref name="member"/> to the group's set, or removes it, given the bucket item held
    /// now under <see cref="MemberBuckets.KeyOf"/> (null: none).
    /// </summary>
    public static DesiredChange Change(IpSetMembersItem? held, string groupId, IpPrefix member, bool present)
    {
        var bucket = MemberBuckets.Of(member);
        var key = MemberBuckets.KeyOf(groupId, bucket);
        var members = held?.Members.Items ?? [];
        var next = present ? members.Add(member) : members.Remove(member);
        return new DesiredChange(key, next.IsEmpty ? null : new IpSetMembersItem(groupId, bucket, next.Distinct().ToValueList()));
    }

    /// <summary>The bucket items of a member set: one per non-empty bucket, members sorted.</summary>
    public static IEnumerable<IpSetMembersItem> Split(string groupId, IEnumerable<IpPrefix> members) =>
        members.Distinct().GroupBy(MemberBuckets.Of).OrderBy(g => g.Key)
            .Select(g => new IpSetMembersItem(groupId, g.Key, g.Order(MemberBuckets.Comparer).ToValueList()));
}

/// <summary>How a remote group's members are spread over <see cref="IpSetMembersItem"/> buckets: a stable hash.</summary>
public static class MemberBuckets
{
    /// <summary>Buckets per group: fixed, so a bucket's items never move as the set grows.</summary>
    public const int Count = 64;

    public static readonly IComparer<IpPrefix> Comparer = Comparer<IpPrefix>.Create(Compare);

    /// <summary>FNV-1a over the address bytes and the length: the same in every process and version.</summary>
    public static int Of(IpPrefix prefix)
    {
        Span<byte> bytes = stackalloc byte[16];
        prefix.Address.TryWriteBytes(bytes, out var written);
        var hash = 2166136261u;
        foreach (var b in bytes[..written]) hash = (hash ^ b) * 16777619u;
        hash = (hash ^ (uint)prefix.Length) * 16777619u;
        return (int)(hash % Count);
    }

    /// <summary>
    /// Each prefix as a tag byte then its address: 4 an IPv4 host, 6 an IPv6 host, 5 / 7 an IPv4 / IPv6 prefix whose
    /// length follows the address.
    /// </summary>
    public static byte[] Pack(IReadOnlyList<IpPrefix> members)
    {
        var size = 0;
        foreach (var m in members) size += 1 + (m.Version == 4 ? 4 : 16) + (m.IsHost ? 0 : 1);
        var packed = new byte[size];
        var at = 0;
        foreach (var m in members)
        {
            packed[at++] = (byte)(m.Version == 4 ? (m.IsHost ? 4 : 5) : (m.IsHost ? 6 : 7));
            m.Address.TryWriteBytes(packed.AsSpan(at), out var written);
            at += written;
            if (!m.IsHost) packed[at++] = (byte)m.Length;
        }
        return packed;
    }

    public static ValueList<IpPrefix> Unpack(ReadOnlySpan<byte> packed)
    {
        var members = System.Collections.Immutable.ImmutableArray.CreateBuilder<IpPrefix>();
        var at = 0;
        while (at < packed.Length)
        {
            var tag = packed[at++];
            var bytes = tag is 4 or 5 ? 4 : tag is 6 or 7 ? 16 : throw new FormatException($"unknown member tag {tag} at byte {at - 1}");
            var address = new System.Net.IPAddress(packed.Slice(at, bytes));
            at += bytes;
            members.Add(tag is 4 or 6 ? IpPrefix.Host(address) : new IpPrefix(address, packed[at++]));
        }
        return new ValueList<IpPrefix>(members.ToImmutable());
    }

    public static DesiredKey KeyOf(string groupId, int bucket) => new(DesiredKind.IpSetMember, $"{groupId}|{bucket:D2}");

    /// <summary>Version, then address, then length.</summary>
    public static int Compare(IpPrefix a, IpPrefix b)
    {
        if (a.Family != b.Family) return a.Family.CompareTo(b.Family);
        Span<byte> x = stackalloc byte[16], y = stackalloc byte[16];
        a.Address.TryWriteBytes(x, out var n);
        b.Address.TryWriteBytes(y, out _);
        var c = x[..n].SequenceCompareTo(y[..n]);
        return c != 0 ? c : a.Length.CompareTo(b.Length);
    }
}

/// <summary>1:1 NAT of a floating address onto a local workload's fixed address.</summary>
[GenerateSerializer, Immutable]
public sealed record FloatingNatItem(
    [property: Id(0)] IPAddress FloatingAddress,
    [property: Id(1)] IPAddress FixedAddress,
    [property: Id(2)] string InterfaceName,
    [property: Id(3)] string FloatingIpId) : DesiredItem
{
    public override DesiredKey Key => new(DesiredKind.FloatingNat, FloatingAddress.ToString());
}

/// <summary>
/// A DHCP-enabled subnet with a local port: what dnsmasq tells the workloads on it. <see cref="Ipv6Mode"/>: for an
/// IPv6 subnet, how its workloads get their addresses (<see cref="Subnet.Slaac"/>, <see cref="Subnet.DhcpV6Stateless"/>,
/// <see cref="Subnet.DhcpV6Stateful"/>: the subnet's ipv6_address_mode, else its ipv6_ra_mode, as the host is the
/// workloads' only router); null for IPv4, for an IPv6 subnet without a mode (configured statically), and in an item
/// from a silo that predates it.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record DhcpSubnetItem(
    [property: Id(0)] string SubnetId,
    [property: Id(1)] IpPrefix Cidr,
    [property: Id(2)] IPAddress? Gateway,
    [property: Id(3)] ValueList<IPAddress> DnsNameservers,
    [property: Id(4)] ValueList<HostRoute> HostRoutes,
    [property: Id(5)] int Mtu,
    [property: Id(6)] string? Ipv6Mode = null) : DesiredItem
{
    public override DesiredKey Key => new(DesiredKind.DhcpSubnet, SubnetId);

    /// <summary>The item of <paramref name="subnet"/> for ports on a network of this MTU.</summary>
    public static DhcpSubnetItem For(Subnet subnet, int mtu) =>
        new(subnet.Id, subnet.Cidr, subnet.GatewayIp, subnet.DnsNameservers, subnet.HostRoutes, mtu,
            subnet.IpVersion == 6 ? subnet.Ipv6AddressMode ?? subnet.Ipv6RaMode : null);
}

/// <summary>A static DHCP lease for a local port's fixed address, with the port's own DHCP options.</summary>
[GenerateSerializer, Immutable]
public sealed record DhcpHostItem(
    [property: Id(0)] string EndpointId,
    [property: Id(1)] string MacAddress,
    [property: Id(2)] IPAddress Address,
    [property: Id(3)] string SubnetId,
    [property: Id(4)] string Hostname,
    [property: Id(5)] string InterfaceName,
    [property: Id(6)] ValueList<ExtraDhcpOption> Options = default) : DesiredItem
{
    public override DesiredKey Key => new(DesiredKind.DhcpHost, $"{EndpointId}|{Address}");

    /// <summary>
    /// The lease of <paramref name="address"/> (a fixed IP of <paramref name="endpoint"/> in <paramref name="subnetId"/>):
    /// named by the port's dns_name, or as Neutron names a port without one (host-10-65-0-3); the port's options of the address's IP version.
    /// </summary>
    public static DhcpHostItem For(WorkloadEndpoint endpoint, IPAddress address, string subnetId)
    {
        var version = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 6 : 4;
        return new DhcpHostItem(endpoint.Id, endpoint.MacAddress, address, subnetId,
            string.IsNullOrEmpty(endpoint.DnsName) ? HostnameFor(address) : endpoint.DnsName.ToLowerInvariant(), endpoint.InterfaceName,
            endpoint.ExtraDhcpOptions.Where(o => o.IpVersion == version).ToValueList());
    }

    /// <summary>The DHCP host name Neutron gives a port without a DNS name: host-10-65-0-3.</summary>
    public static string HostnameFor(IPAddress address) =>
        "host-" + address.ToString().Replace('.', '-').Replace(':', '-');
}

/// <summary>
/// An IP pool, on every host: the workload address space (traffic between pools is never NATed) and, with
/// <see cref="OutgoingNat"/>, the sources masqueraded when they leave the pools.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record IpPoolItem(
    [property: Id(0)] string Name,
    [property: Id(1)] IpPrefix Cidr,
    [property: Id(2)] bool OutgoingNat) : DesiredItem
{
    public override DesiredKey Key => new(DesiredKind.IpPool, Name);
}

/// <summary>
/// In BGP routing mode (<see cref="RoutingMode.Bgp"/>), what this host's BIRD is: its router id (the host's IPv4
/// address), AS number (the host's own, else the cluster's), for a route reflector its cluster id, and the host's
/// IPv6 address (<see cref="Ipv6Address"/>: the local address of its IPv6 sessions and the next hop of the IPv6
/// routes it announces; null: no IPv6 session, so its IPv6 workloads are not announced). One per host; absent in
/// direct mode, so a host without it runs no BIRD.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record BgpNodeItem(
    [property: Id(0)] IPAddress RouterId,
    [property: Id(1)] uint AsNumber,
    [property: Id(2)] IPAddress? RouteReflectorClusterId = null,
    [property: Id(3)] IPAddress? Ipv6Address = null) : DesiredItem
{
    public static readonly DesiredKey NodeKey = new(DesiredKind.BgpNode, "node");

    public override DesiredKey Key => NodeKey;
}

/// <summary>Where a peer comes from, which names its BIRD protocol (Mesh_, Global_, Node_ as in Calico).</summary>
public enum BgpPeerSource { Mesh = 0, Global = 1, Host = 2 }

/// <summary>
/// A BGP peer of this host (BGP routing mode), by its address: another registered host (<see cref="BgpPeerSource.Mesh"/>:
/// the node-to-node mesh, or a route reflector and its clients, <see cref="RouteReflectorClient"/> on the
/// reflector's side), by its IPv4 address, with its IPv6 address in <see cref="Ipv6Address"/> if it has one (a
/// second session, over IPv6, for the IPv6 routes, as Calico's bird6 mesh has it); or an operator's peer
/// (<see cref="BgpPeer"/>: global, or for selected hosts) at its IPv4 or IPv6 address, with its own AS, password and
/// multihop wish. One item serves every host that peers with it. The password never prints.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record BgpPeerItem(
    [property: Id(0)] IPAddress Address,
    [property: Id(1)] uint AsNumber,
    [property: Id(2)] string Host,
    [property: Id(3)] BgpPeerSource Source = BgpPeerSource.Mesh,
    [property: Id(4)] string? Password = null,
    [property: Id(5)] bool RouteReflectorClient = false,
    [property: Id(6)] bool Multihop = false,
    [property: Id(7)] IPAddress? Ipv6Address = null) : DesiredItem
{
    public override DesiredKey Key => new(DesiredKind.BgpPeer, Address.ToString());

    /// <summary>An operator's peer as the hosts it selects hold it (Host: empty).</summary>
    public static BgpPeerItem Of(BgpPeer peer) =>
        new(peer.Address, peer.AsNumber, "", peer.IsGlobal ? BgpPeerSource.Global : BgpPeerSource.Host, peer.Password,
            Multihop: peer.Multihop);

    // Never the password itself: items print in debug logs.
    protected override bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"Address = {Address}, AsNumber = {AsNumber}, Host = {Host}, Source = {Source}, ");
        builder.Append($"Password = {(Password is null ? "unset" : "set")}, RouteReflectorClient = {RouteReflectorClient}, Multihop = {Multihop}, ");
        builder.Append($"Ipv6Address = {Ipv6Address}");
        return true;
    }
}
