using Calico.Datastore;
using Calico.Grains.Ipam;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;

namespace Calico.Grains.Resources;

/// <summary>Orleans grain type names, which are also the keys the store lists resources by.</summary>
public static class GrainTypes
{
    public const string Host = "host";
    public const string Network = "network";
    public const string Subnet = "subnet";
    public const string Endpoint = "endpoint";
    public const string SecurityGroup = "security-group";
    public const string FloatingIp = "floating-ip";
    public const string Router = "router";
    public const string IpPool = "ip-pool";
    public const string QosPolicy = "qos-policy";
    public const string SubnetPool = "subnet-pool";
    /// <summary>Rows only (no grain class): one per port, keyed network|mac|port, written by the port's grain (<see cref="NetworkPortRow"/>).</summary>
    public const string NetworkPort = "network-port";
    public const string NetworkPortListing = "network-port-listing";
    /// <summary>Rows only (no grain class): one per IP block, written by the subnet's IPAM grain.</summary>
    public const string IpBlock = "ip-block";
    public const string SubnetIpam = "subnet-ipam";
    public const string IpamAudit = "ipam-audit";
    public const string HostDesiredState = "host-desired-state";
    public const string Calculator = "desired-state-calculator";
    public const string ProjectQuota = "project-quota";
    public const string BgpPeer = "bgp-peer";
    public const string BgpConfiguration = "bgp-configuration";
    public const string Operator = "operator";
}

[GrainType(GrainTypes.Network)]
public sealed class NetworkGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<Network>> state,
    TimeProvider time, ILogger<NetworkGrain> logger)
    : ResourceGrain<Network>(state, time, logger), INetworkGrain
{
    protected override ResourceKind Kind => ResourceKind.Network;

    protected override string IdOf(Network value) => value.Id;
}

[GrainType(GrainTypes.Subnet)]
public sealed class SubnetGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<Subnet>> state,
    TimeProvider time, ILogger<SubnetGrain> logger)
    : ResourceGrain<Subnet>(state, time, logger), ISubnetGrain
{
    protected override ResourceKind Kind => ResourceKind.Subnet;

    protected override string IdOf(Subnet value) => value.Id;

    protected override void ValidateChange(Subnet? current, Subnet next)
    {
        // Ports hold addresses from the CIDR; moving it or the subnet's network would strand them.
        if (current is null) return;
        if (current.Cidr != next.Cidr) throw new InvalidInputException("cidr", "cannot be changed");
        if (current.NetworkId != next.NetworkId) throw new InvalidInputException("network_id", "cannot be changed");
    }
}

[GrainType(GrainTypes.SecurityGroup)]
public sealed class SecurityGroupGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<SecurityGroup>> state,
    TimeProvider time, ILogger<SecurityGroupGrain> logger)
    : ResourceGrain<SecurityGroup>(state, time, logger), ISecurityGroupGrain
{
    protected override ResourceKind Kind => ResourceKind.SecurityGroup;

    protected override string IdOf(SecurityGroup value) => value.Id;
}

[GrainType(GrainTypes.FloatingIp)]
public sealed class FloatingIpGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<FloatingIp>> state,
    TimeProvider time, ILogger<FloatingIpGrain> logger)
    : ResourceGrain<FloatingIp>(state, time, logger), IFloatingIpGrain
{
    protected override ResourceKind Kind => ResourceKind.FloatingIp;

    protected override string IdOf(FloatingIp value) => value.Id;

    protected override void ValidateChange(FloatingIp? current, FloatingIp next)
    {
        if (current is not null && !current.FloatingIpAddress.Equals(next.FloatingIpAddress))
            throw new InvalidInputException("floating_ip_address", "cannot be changed");
    }
}

/// <summary>A QoS policy with its rules (one write changes a rule: the policy is replaced whole).</summary>
[GrainType(GrainTypes.QosPolicy)]
public sealed class QosPolicyGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<QosPolicy>> state,
    TimeProvider time, ILogger<QosPolicyGrain> logger)
    : ResourceGrain<QosPolicy>(state, time, logger), IQosPolicyGrain
{
    protected override ResourceKind Kind => ResourceKind.QosPolicy;

    protected override string IdOf(QosPolicy value) => value.Id;
}

/// <summary>
/// A router: the API's record of its gateway, interfaces and extra routes. Nothing of it reaches the desired state
/// (Calico routes every workload on its host), so the calculator is not told of its writes.
/// </summary>
[GrainType(GrainTypes.Router)]
public sealed class RouterGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<Router>> state,
    TimeProvider time, ILogger<RouterGrain> logger)
    : ResourceGrain<Router>(state, time, logger), IRouterGrain
{
    protected override ResourceKind Kind => ResourceKind.Router;

    protected override bool InDesiredState => false;

    protected override string IdOf(Router value) => value.Id;
}

/// <summary>
/// An IP pool. A pool that contains a subnet's CIDR sets that subnet's block size and whether automatic allocation
/// is allowed, so after each write the IPAM grains of the subnets it overlaps (before or after) are told.
/// </summary>
[GrainType(GrainTypes.IpPool)]
public sealed partial class IpPoolGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<IpPool>> state,
    IGrainStateCatalog catalog,
    TimeProvider time, ILogger<IpPoolGrain> logger)
    : ResourceGrain<IpPool>(state, time, logger), IIpPoolGrain
{
    protected override ResourceKind Kind => ResourceKind.IpPool;

    protected override string IdOf(IpPool value) => value.Name;

    protected override void ValidateChange(IpPool? current, IpPool next)
    {
        if (current is null) return;
        if (current.Cidr != next.Cidr) throw new InvalidInputException("cidr", "cannot be changed");
        if (current.BlockSize != next.BlockSize) throw new InvalidInputException("block_size", "cannot be changed");
    }

    protected override async Task OnStoredAsync(IpPool? previous, IpPool? current)
    {
        var cidrs = new[] { previous?.Cidr, current?.Cidr }.OfType<IpPrefix>().ToList();
        try
        {
            await foreach (var (id, subnet) in catalog.ListAsync<ResourceState<Subnet>>(GrainTypes.Subnet))
                if (subnet.Value is { } s && cidrs.Any(c => c.Overlaps(s.Cidr)))
                    await GrainFactory.GetGrain<ISubnetIpamGrain>(id).PoolsChangedAsync();
        }
        catch (Exception ex)
        {
            // Stored already; an IPAM grain reads the pools again whenever it activates.
            LogPoolNotifyFailed(Logger, ex, Key);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell the subnets' IPAM about IP pool {Pool}")]
    private static partial void LogPoolNotifyFailed(ILogger logger, Exception ex, string pool);
}

/// <summary>
/// A port; its first bind may move its addresses into the host's blocks (EndpointGrain.Bind.cs). It keeps nothing
/// but its stored state (its status lives with its host's grain), so it is collected after two idle minutes: a
/// controller with 100,000 ports holds activations only for those touched lately.
/// </summary>
[GrainType(GrainTypes.Endpoint)]
[CollectionAgeLimit(Minutes = 2)]
public sealed partial class EndpointGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<WorkloadEndpoint>> state,
    IServiceProvider services,
    IGrainStateCatalog catalog,
    IOptions<IpamOptions> ipamOptions,
    TimeProvider time, ILogger<EndpointGrain> logger)
    : ResourceGrain<WorkloadEndpoint>(state, time, logger), IEndpointGrain
{
    private const string RowStateName = "state";

    private readonly IGrainStorage _storage = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Calico);
    private readonly IGrainStateCatalog _catalog = catalog;
    private readonly IOptions<IpamOptions> _ipamOptions = ipamOptions;

    protected override ResourceKind Kind => ResourceKind.Endpoint;

    protected override string IdOf(WorkloadEndpoint value) => value.Id;

    protected override void ValidateChange(WorkloadEndpoint? current, WorkloadEndpoint next)
    {
        if (current is not null && current.NetworkId != next.NetworkId)
            throw new InvalidInputException("network_id", "cannot be changed");
    }

    public async Task EnsureNetworkRowAsync()
    {
        if (State.Value is { } port) await WriteRowAsync(NetworkPortRow.Of(port));
    }

    /// <summary>The port's network row is stored before the port is (see <see cref="NetworkPortRow"/>).</summary>
    protected override async Task BeforeStoreAsync(WorkloadEndpoint? current, WorkloadEndpoint? next)
    {
        if (next is not null && (current is null || NetworkPortRow.Of(current) != NetworkPortRow.Of(next)))
            await WriteRowAsync(NetworkPortRow.Of(next));
    }

    /// <summary>The row of what is no longer stored goes after the port's write; if that fails, readers ignore the row.</summary>
    protected override async Task OnStoredAsync(WorkloadEndpoint? previous, WorkloadEndpoint? current)
    {
        if (previous is null || (current is not null && NetworkPortRow.Of(previous) == NetworkPortRow.Of(current))) return;
        var key = NetworkPortRow.Of(previous).Key;
        try
        {
            var row = new GrainState<NetworkPortRow>();
            await _storage.ReadStateAsync(RowStateName, NetworkPortRow.RowId(key), row);
            if (row.RecordExists) await _storage.ClearStateAsync(RowStateName, NetworkPortRow.RowId(key), row);
        }
        catch (Exception ex)
        {
            LogRowClearFailed(Logger, ex, key);
        }
    }

    /// <summary>Stores the row unless it is there already (read first: a cleared row keeps a version to write over).</summary>
    private async Task WriteRowAsync(NetworkPortRow wanted)
    {
        var row = new GrainState<NetworkPortRow>();
        await _storage.ReadStateAsync(RowStateName, NetworkPortRow.RowId(wanted.Key), row);
        if (row.RecordExists && row.State == wanted) return;
        row.State = wanted;
        await _storage.WriteStateAsync(RowStateName, NetworkPortRow.RowId(wanted.Key), row);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not clear network row {Row} of a port no longer there; readers ignore it")]
    private static partial void LogRowClearFailed(ILogger logger, Exception ex, string row);
}
