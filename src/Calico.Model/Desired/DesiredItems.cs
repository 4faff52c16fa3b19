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

/// <summary>A local workload's tap interface: its addresses (for routes and anti-spoofing), MAC and groups.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkloadInterfaceItem(
    [property: Id(0)] string Name,
    [property: Id(1)] string EndpointId,
    [property: Id(2)] string MacAddress,
    [property: Id(3)] ValueList<IpPrefix> Addresses,
    [property: Id(4)] bool AdminUp,
    [property: Id(5)] ValueList<string> SecurityGroupIds,
    [property: Id(6)] ValueList<AllowedAddressPair> AllowedAddressPairs,
    [property: Id(7)] int Mtu) : DesiredItem
{
    public override DesiredKey Key => new(DesiredKind.Interface, Name);
}

public enum RouteKind { Local = 1, ViaHost = 2, Blackhole = 3 }

/// <summary>
/// A route the host must hold: to a local workload on its tap (Local), to a remote workload or block via the
/// host that owns it (ViaHost), or a blackhole for a block this host owns.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RouteItem(
    [property: Id(0)] IpPrefix Destination,
    [property: Id(1)] RouteKind Kind,
    [property: Id(2)] string? InterfaceName,
    [property: Id(3)] IPAddress? Gateway,
    [property: Id(4)] string? ViaHost) : DesiredItem
{
    public override DesiredKey Key => new(DesiredKind.Route, Destination.ToString());

    public static RouteItem Local(IpPrefix destination, string interfaceName) => new(destination, RouteKind.Local, interfaceName, null, null);

    public static RouteItem Via(IpPrefix destination, IPAddress gateway, string host) => new(destination, RouteKind.ViaHost, null, gateway, host);

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

/// <summary>One address of a remote group's member set (any member, anywhere in the cluster).</summary>
[GenerateSerializer, Immutable]
public sealed record IpSetMemberItem([property: Id(0)] string GroupId, [property: Id(1)] IpPrefix Member) : DesiredItem
{
    public override DesiredKey Key => new(DesiredKind.IpSetMember, $"{GroupId}|{Member}");
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

/// <summary>A DHCP-enabled subnet with a local port: what dnsmasq tells the workloads on it.</summary>
[GenerateSerializer, Immutable]
public sealed record DhcpSubnetItem(
    [property: Id(0)] string SubnetId,
    [property: Id(1)] IpPrefix Cidr,
    [property: Id(2)] IPAddress? Gateway,
    [property: Id(3)] ValueList<IPAddress> DnsNameservers,
    [property: Id(4)] ValueList<HostRoute> HostRoutes,
    [property: Id(5)] int Mtu) : DesiredItem
{
    public override DesiredKey Key => new(DesiredKind.DhcpSubnet, SubnetId);
}

/// <summary>A static DHCP lease for a local port's fixed address.</summary>
[GenerateSerializer, Immutable]
public sealed record DhcpHostItem(
    [property: Id(0)] string EndpointId,
    [property: Id(1)] string MacAddress,
    [property: Id(2)] IPAddress Address,
    [property: Id(3)] string SubnetId,
    [property: Id(4)] string Hostname,
    [property: Id(5)] string InterfaceName) : DesiredItem
{
    public override DesiredKey Key => new(DesiredKind.DhcpHost, $"{EndpointId}|{Address}");
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
