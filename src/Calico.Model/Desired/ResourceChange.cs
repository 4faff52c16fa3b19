using Calico.Model.Resources;

namespace Calico.Model.Desired;

/// <summary>The kinds of resource. Routers are the API's alone (no data path): no change of one reaches the calculator.</summary>
public enum ResourceKind { Host = 1, Network, Subnet, Endpoint, SecurityGroup, FloatingIp, IpPool, IpBlock, QosPolicy, SubnetPool, Router, BgpPeer, BgpConfiguration }

/// <summary>
/// A resource as stored after a write: its new value, or null once deleted. <see cref="Revision"/> increases with
/// every write of that resource (deletes included), so a stale change can be recognised and ignored.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ResourceChange(
    [property: Id(0)] ResourceKind Kind,
    [property: Id(1)] string Key,
    [property: Id(2)] long Revision,
    [property: Id(3)] object? Value)
{
    /// <summary>
    /// When the grain that owns the resource stored this change (null for what a load or resync read from the store):
    /// where the time each host takes to apply a change is counted from.
    /// </summary>
    [Id(4)]
    public DateTimeOffset? WrittenAt { get; init; }

    public static ResourceKind KindOf(object value) => value switch
    {
        HostSpec => ResourceKind.Host,
        Network => ResourceKind.Network,
        Subnet => ResourceKind.Subnet,
        WorkloadEndpoint => ResourceKind.Endpoint,
        SecurityGroup => ResourceKind.SecurityGroup,
        FloatingIp => ResourceKind.FloatingIp,
        IpPool => ResourceKind.IpPool,
        IpBlock => ResourceKind.IpBlock,
        QosPolicy => ResourceKind.QosPolicy,
        SubnetPool => ResourceKind.SubnetPool,
        BgpPeer => ResourceKind.BgpPeer,
        BgpConfiguration => ResourceKind.BgpConfiguration,
        _ => throw new ArgumentException($"{value.GetType().Name} is not a resource", nameof(value)),
    };
}
