using System.Net;
using Calico.Model.Desired;
using Calico.Model.Resources;

namespace Calico.Grains;

/// <summary>
/// What <c>calicoctl</c> asks the cluster for (key 0, on a controller silo): read-only views over the store and the
/// grains that own the facts. Owns nothing and changes nothing; every answer is computed when asked.
/// </summary>
public interface IOperatorGrain : IGrainWithIntegerKey
{
    /// <summary>The silos (controllers and compute) and every registered host: alive, the version applied and the lag.</summary>
    Task<ClusterStatus> GetStatusAsync();

    /// <summary>Every registered host (or the one named; empty when it is not registered), with its liveness and endpoint counts.</summary>
    Task<IReadOnlyList<HostSummary>> ListHostsAsync(string? host = null);

    /// <summary>Every stored port, or those bound to <paramref name="host"/> and/or on <paramref name="network"/> (an id or a name).</summary>
    Task<IReadOnlyList<EndpointSummary>> ListEndpointsAsync(string? host = null, string? network = null);

    /// <summary>The port with this id, else every port with this name (none: an empty list), each with its status.</summary>
    Task<IReadOnlyList<EndpointSummary>> FindEndpointsAsync(string idOrName);

    /// <summary>The IP pools, each subnet's address use, and its blocks by host.</summary>
    Task<IpamSummary> GetIpamAsync();

    /// <summary>
    /// The host's complete desired state, as its calculator shard holds it (the shard is found here, so the caller
    /// need not know <c>Calculator:Shards</c>); empty for a host the calculator does not know.
    /// </summary>
    Task<IReadOnlyList<DesiredItem>> GetDesiredStateAsync(string host);

    /// <summary>A security group, or null.</summary>
    Task<SecurityGroup?> GetSecurityGroupAsync(string id);

    /// <summary>The port holding <paramref name="address"/> as a fixed IP, or the port a floating IP with that address points at.</summary>
    Task<AddressOwner?> FindAddressAsync(IPAddress address);
}

/// <summary>Who holds an address: a port's fixed IP, or a floating IP (then <see cref="FixedAddress"/> is where it is NATed to).</summary>
[GenerateSerializer, Immutable]
public sealed record AddressOwner(
    [property: Id(0)] string PortId,
    [property: Id(1)] string? FloatingIpId,
    [property: Id(2)] IPAddress? FixedAddress);

/// <summary>A silo of the cluster as membership lists it, with its roles (controller: it hosts the control-plane grains; compute: a host reports from it).</summary>
[GenerateSerializer, Immutable]
public sealed record SiloSummary(
    [property: Id(0)] string Name,
    [property: Id(1)] string Address,
    [property: Id(2)] string Status,
    [property: Id(3)] IReadOnlyList<string> Roles,
    [property: Id(4)] DateTimeOffset StartedAt,
    [property: Id(5)] DateTimeOffset IAmAliveAt,
    [property: Id(6)] string? Host);

/// <summary>
/// A registered host: alive or dead, when it last reported, the desired-state version its agent applied against the
/// version its host grain holds (<see cref="Lag"/>: versions behind; null when the two are of different epochs, the
/// agent then takes a snapshot), its endpoints by status.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record HostSummary(
    [property: Id(0)] HostSpec Spec,
    [property: Id(1)] bool Alive,
    [property: Id(2)] DateTimeOffset? ReportedAt,
    [property: Id(3)] string? Silo,
    [property: Id(4)] string? AgentVersion,
    [property: Id(5)] DesiredStateCursor? Applied,
    [property: Id(6)] DesiredStateCursor? Desired,
    [property: Id(7)] int Endpoints,
    [property: Id(8)] int Active,
    [property: Id(9)] int Down,
    [property: Id(10)] int Error,
    [property: Id(11)] DateTimeOffset? FirstSeen)
{
    public long? Lag => Applied is { } a && Desired is { } d && a.Epoch == d.Epoch ? Math.Max(0, d.Version - a.Version) : null;

    /// <summary>In step: alive and at the version its grain holds.</summary>
    public bool InStep => Alive && Lag == 0;
}

[GenerateSerializer, Immutable]
public sealed record ClusterStatus(
    [property: Id(0)] IReadOnlyList<SiloSummary> Silos,
    [property: Id(1)] IReadOnlyList<HostSummary> Hosts,
    [property: Id(2)] TimeSpan DeadAfter);

/// <summary>
/// A port as an operator looks at it: where it is bound, its addresses, and its status as its host reported it
/// (DOWN with the reason when unbound, its host dead or not reporting it yet).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record EndpointSummary(
    [property: Id(0)] WorkloadEndpoint Port,
    [property: Id(1)] string? NetworkName,
    [property: Id(2)] EndpointStatusKind Status,
    [property: Id(3)] string? Reason,
    [property: Id(4)] DateTimeOffset? ReportedAt);

[GenerateSerializer, Immutable]
public sealed record IpamBlockSummary(
    [property: Id(0)] string SubnetId,
    [property: Id(1)] string Cidr,
    [property: Id(2)] string? Host,
    [property: Id(3)] int Allocated,
    [property: Id(4)] int Size);

[GenerateSerializer, Immutable]
public sealed record IpamSubnetSummary(
    [property: Id(0)] string SubnetId,
    [property: Id(1)] string Name,
    [property: Id(2)] string NetworkId,
    [property: Id(3)] string Cidr,
    [property: Id(4)] string? Pool,
    [property: Id(5)] int BlockLength,
    [property: Id(6)] double Capacity,
    [property: Id(7)] int Allocated,
    [property: Id(8)] bool Disabled);

[GenerateSerializer, Immutable]
public sealed record IpamSummary(
    [property: Id(0)] IReadOnlyList<IpPool> Pools,
    [property: Id(1)] IReadOnlyList<IpamSubnetSummary> Subnets,
    [property: Id(2)] IReadOnlyList<IpamBlockSummary> Blocks);

/// <summary>
/// What a host's dataplane would change now to hold the desired state its agent applied last, computed by the agent
/// on the host (only it can read its kernel): one line per change, none when the kernel holds it.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record HostPlan(
    [property: Id(0)] string Host,
    [property: Id(1)] string Silo,
    [property: Id(2)] DesiredStateCursor? Applied,
    [property: Id(3)] int Items,
    [property: Id(4)] IReadOnlyList<string> Changes,
    [property: Id(5)] DateTimeOffset At);

/// <summary>
/// A compute silo's agent, as an observer the host grain holds (each report carries it): answers requests that only
/// the host can answer, because they read its kernel.
/// </summary>
public interface IHostAgent : IGrainObserver
{
    /// <summary>Plans the desired state the agent applied last against the kernel; changes nothing.</summary>
    Task<HostPlan> PlanAsync();
}
