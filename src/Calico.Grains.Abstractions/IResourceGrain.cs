using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Grains;

/// <summary>
/// A grain that owns one resource, keyed by its id. Every write is validated first and persisted before it is
/// visible; a failed write changes nothing. <c>expectedRevision</c> makes a write conditional (optimistic
/// concurrency): a mismatch is refused with <see cref="Calico.Model.Validation.ResourceConflictException"/>.
/// After each write the desired-state calculator is told; it also re-reads the store periodically, so a lost
/// notification only delays convergence.
/// </summary>
public interface IResourceGrain<T> : IGrainWithStringKey where T : class
{
    /// <summary>The resource, or null if it does not exist.</summary>
    Task<Versioned<T>?> GetAsync();

    /// <summary>Creates the resource (with <paramref name="tags"/>, none when null); refused if it exists.</summary>
    Task<Versioned<T>> CreateAsync(T value, ValueList<string>? tags = null);

    /// <summary>Replaces the resource (creating it when <paramref name="expectedRevision"/> is null and it is missing).</summary>
    Task<Versioned<T>> PutAsync(T value, long? expectedRevision = null);

    /// <summary>
    /// Replaces the resource's tags (each 1..255 characters, no duplicates; see <see cref="ResourceTags"/>): a write
    /// like any other (the revision grows), the value unchanged. Refused if the resource is missing.
    /// </summary>
    Task<Versioned<T>> SetTagsAsync(ValueList<string> tags, long? expectedRevision = null);

    /// <summary>Deletes the resource (and its tags); <see cref="Calico.Model.Validation.ResourceNotFoundException"/> if missing.</summary>
    Task DeleteAsync(long? expectedRevision = null);
}

public interface INetworkGrain : IResourceGrain<Network>;

public interface ISubnetGrain : IResourceGrain<Subnet>;

public interface IEndpointGrain : IResourceGrain<WorkloadEndpoint>
{
    /// <summary>
    /// <see cref="IResourceGrain{T}.PutAsync"/> for a request that sets binding:host_id without naming fixed_ips.
    /// When it binds a port that is unbound now (and <paramref name="value"/> keeps its fixed IPs), each address IPAM
    /// chose while the port had no host moves into the new host's blocks if the host has room
    /// (<c>Ipam:ReassignOnFirstBind</c>), unless a floating IP points at it: the new address is allocated, the port
    /// stored with it, then the old one released. The stored port is returned, with the addresses it holds now.
    /// </summary>
    Task<Versioned<WorkloadEndpoint>> BindAsync(WorkloadEndpoint value, long expectedRevision);

    /// <summary>
    /// Stores the port's row in the per-network listing if it is missing (a port stored before that listing existed);
    /// every write stores it anyway. A no-op for a port that does not exist.
    /// </summary>
    Task EnsureNetworkRowAsync();

    /// <summary>
    /// The agent of <paramref name="host"/> saw the port's VM arrive there (the port's tap went live) while the port
    /// was migrating to it (<see cref="WorkloadEndpoint.MigrationTarget"/>): stores that (ArrivedOn), after which every
    /// host treats the port as bound to <paramref name="host"/>. False, storing nothing, when the port is not (or no
    /// longer) migrating to that host, or its VM has already arrived.
    /// </summary>
    Task<bool> TakeOverAsync(string host);
}

/// <summary>
/// Fills the per-network listing of ports once (key 0): asks every stored port for its row, then remembers (stored)
/// that it did. Ports written since keep their rows themselves.
/// </summary>
public interface INetworkPortListingGrain : IGrainWithIntegerKey
{
    /// <summary>Returns once every port stored before the listing existed has its row.</summary>
    Task EnsureCompleteAsync();
}

public interface ISecurityGroupGrain : IResourceGrain<SecurityGroup>;

public interface IFloatingIpGrain : IResourceGrain<FloatingIp>;

public interface IRouterGrain : IResourceGrain<Router>;

public interface IIpPoolGrain : IResourceGrain<IpPool>;

/// <summary>A project's quotas (keyed by project id): the limits set for it, the rest being the configured defaults.</summary>
public interface IProjectQuotaGrain : IGrainWithStringKey
{
    /// <summary>The project's own limits, or null when none were set.</summary>
    Task<ProjectQuota?> GetAsync();

    /// <summary>Sets the named resources' limits, keeping the others the project has.</summary>
    Task<ProjectQuota> SetAsync(ValueList<QuotaLimit> limits);

    /// <summary>Back to the defaults for every resource.</summary>
    Task ResetAsync();
}

public interface IQosPolicyGrain : IResourceGrain<QosPolicy>;

/// <summary>
/// A subnet pool. It also hands out its prefixes: allocations from one pool are serialised by its grain, and a
/// CIDR handed out stays reserved (in memory) until the subnet holding it is stored or the caller gives it back, so
/// two subnet creates never get the same CIDR. Updates and deletes are checked against its subnets in the same turns.
/// </summary>
public interface ISubnetPoolGrain : IResourceGrain<SubnetPool>
{
    /// <summary>The reason a delete is refused while subnets hold prefixes of the pool (Neutron's words).</summary>
    const string HasAllocations = "Subnet pool has existing allocations";

    /// <summary>
    /// A CIDR for subnet <paramref name="subnetId"/> of <paramref name="projectId"/>: <paramref name="requested"/> if
    /// it lies in the pool and overlaps no subnet in the cluster, else the lowest free prefix of
    /// <paramref name="prefixLength"/> (the pool's default when null). Reserved until <see cref="ReleaseAsync"/>.
    /// </summary>
    Task<SubnetPoolAllocation> AllocateAsync(string subnetId, string projectId, int? prefixLength, IpPrefix? requested);

    /// <summary>Ends the reservation for the subnet (stored now, or never to be).</summary>
    Task ReleaseAsync(string subnetId);
}

/// <summary>What <see cref="ISubnetPoolGrain.AllocateAsync"/> gave: a CIDR, or a refusal with Neutron's exception name and text.</summary>
[GenerateSerializer, Immutable]
public sealed record SubnetPoolAllocation(
    [property: Id(0)] IpPrefix? Cidr,
    [property: Id(1)] string? RefusalType = null,
    [property: Id(2)] string? Refusal = null);

/// <summary>
/// An operator's BGP peer, keyed by its address (<see cref="BgpPeer.Key"/>): one peer per address, so a second one
/// is refused as a conflict. A peer that a host it selects would have to reach at its own address is refused.
/// </summary>
public interface IBgpPeerGrain : IResourceGrain<BgpPeer>;

/// <summary>The cluster's BGP settings (key <see cref="BgpConfiguration.DefaultKey"/>), and the listings of the peers and the sessions.</summary>
public interface IBgpConfigurationGrain : IResourceGrain<BgpConfiguration>
{
    /// <summary>Every stored peer, in address order.</summary>
    Task<IReadOnlyList<Versioned<BgpPeer>>> ListPeersAsync();

    /// <summary>Each registered host's BGP sessions as its compute silo last reported them (by host name), or one host's.</summary>
    Task<IReadOnlyList<HostBgpSessions>> ListSessionsAsync(string? host = null);
}

/// <summary>
/// A host's BGP sessions as last reported (<see cref="Sessions"/> null: its BIRD was not read — direct mode, BIRD
/// restarting, or no report yet), when, and whether the host is alive.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record HostBgpSessions(
    [property: Id(0)] string Host,
    [property: Id(1)] bool Alive,
    [property: Id(2)] DateTimeOffset? ReportedAt,
    [property: Id(3)] IReadOnlyList<BgpSession>? Sessions);
