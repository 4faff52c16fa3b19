using System.Net;
using Calico.Datastore;
using Calico.Grains.DesiredState;
using Calico.Grains.Hosts;
using Calico.Grains.Ipam;
using Calico.Grains.Resources;
using Calico.Model.Desired;
using Calico.Model.Ipam;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace Calico.Grains.Operator;

/// <summary>
/// The operator's read-only views (<c>calicoctl status</c>, <c>host</c>, <c>endpoint</c>, <c>ipam show</c>,
/// <c>policy explain</c>): lists from the store's catalog, liveness and statuses from the host grains, cursors from
/// the host desired-state grains, desired states from the calculator shards, membership and roles from Orleans.
/// Owns nothing and writes nothing; stateless, so any controller may answer.
/// </summary>
[GrainType(GrainTypes.Operator)]
[Orleans.Concurrency.StatelessWorker]
public sealed class OperatorGrain(
    IGrainStateCatalog catalog,
    IClusterManifestProvider manifests,
    IOptions<HostLivenessOptions> liveness) : Grain, IOperatorGrain
{
    private static readonly GrainType ControlPlaneGrain = GrainType.Create(GrainTypes.Host);

    public async Task<ClusterStatus> GetStatusAsync()
    {
        var hosts = await ListHostsAsync();
        var reportedFrom = hosts.Where(h => h.Silo is not null).GroupBy(h => h.Silo!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => string.Join(",", g.Select(h => h.Spec.Name)), StringComparer.Ordinal);
        var members = await GrainFactory.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false);
        var manifest = manifests.Current;
        var silos = members
            .Where(m => m.Status is not SiloStatus.Dead || m.IAmAliveTime > DateTime.UtcNow - TimeSpan.FromHours(1))
            .Select(m =>
            {
                var roles = new List<string>();
                if (manifest.Silos.TryGetValue(m.SiloAddress, out var grains) && grains.Grains.ContainsKey(ControlPlaneGrain)) roles.Add("controller");
                var host = reportedFrom.GetValueOrDefault(m.SiloName);
                if (host is not null) roles.Add("compute");
                return new SiloSummary(m.SiloName, m.SiloAddress.Endpoint.ToString(), m.Status.ToString(), roles,
                    new DateTimeOffset(DateTime.SpecifyKind(m.StartTime, DateTimeKind.Utc)),
                    new DateTimeOffset(DateTime.SpecifyKind(m.IAmAliveTime, DateTimeKind.Utc)), host);
            })
            .OrderBy(s => s.Status == nameof(SiloStatus.Active) ? 0 : 1).ThenBy(s => s.Name, StringComparer.Ordinal).ToList();
        return new ClusterStatus(silos, hosts, liveness.Value.DeadAfter);
    }

    public async Task<IReadOnlyList<HostSummary>> ListHostsAsync(string? host = null)
    {
        var specs = new List<HostSpec>();
        if (host is not null)
        {
            if ((await GrainFactory.GetGrain<IHostGrain>(host).GetAsync())?.Value is { } one) specs.Add(one);
        }
        else
        {
            await foreach (var (_, state) in catalog.ListAsync<ResourceState<HostSpec>>(GrainTypes.Host))
                if (state.Value is { } spec) specs.Add(spec);
        }
        var summaries = await Task.WhenAll(specs.Select(SummaryAsync));
        return [.. summaries.OrderBy(h => h.Spec.Name, StringComparer.Ordinal)];
    }

    private async Task<HostSummary> SummaryAsync(HostSpec spec)
    {
        var grain = GrainFactory.GetGrain<IHostGrain>(spec.Name);
        var status = await grain.GetStatusAsync();
        var endpoints = (await grain.GetEndpointStatusesAsync()).Values.ToList();
        var desired = await GrainFactory.GetGrain<IHostDesiredStateGrain>(spec.Name).GetCursorAsync();
        var report = status.LastReport;
        return new HostSummary(spec, status.Alive, report?.At, report?.SiloName, report?.AgentVersion, report?.Applied, desired,
            endpoints.Count, endpoints.Count(e => e.Status == EndpointStatusKind.Active), endpoints.Count(e => e.Status == EndpointStatusKind.Down),
            endpoints.Count(e => e.Status == EndpointStatusKind.Error), status.FirstSeen);
    }

    public async Task<IReadOnlyList<EndpointSummary>> ListEndpointsAsync(string? host = null, string? network = null)
    {
        var networks = new Dictionary<string, Network>(StringComparer.Ordinal);
        await foreach (var (id, state) in catalog.ListAsync<ResourceState<Network>>(GrainTypes.Network))
            if (state.Value is { } n) networks[id] = n;
        var networkIds = network is null ? null
            : networks.Values.Where(n => n.Id == network || n.Name == network).Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        var ports = new List<WorkloadEndpoint>();
        await foreach (var (_, state) in catalog.ListAsync<ResourceState<WorkloadEndpoint>>(GrainTypes.Endpoint))
        {
            if (state.Value is not { } port) continue;
            if (host is not null && port.Host != host) continue;
            if (networkIds is not null && !networkIds.Contains(port.NetworkId)) continue;
            ports.Add(port);
        }
        if (networkIds is { Count: 0 }) throw new ResourceNotFoundException("network", network!);
        if (host is not null && ports.Count == 0 && await GrainFactory.GetGrain<IHostGrain>(host).GetAsync() is null)
            throw new ResourceNotFoundException("host", host);
        return await SummariesAsync(ports, id => networks.GetValueOrDefault(id)?.Name);
    }

    public async Task<IReadOnlyList<EndpointSummary>> FindEndpointsAsync(string idOrName)
    {
        var ports = new List<WorkloadEndpoint>();
        if ((await GrainFactory.GetGrain<IEndpointGrain>(idOrName).GetAsync())?.Value is { } byId) ports.Add(byId);
        else
        {
            await foreach (var (_, state) in catalog.ListAsync<ResourceState<WorkloadEndpoint>>(GrainTypes.Endpoint))
                if (state.Value is { } port && port.Name == idOrName) ports.Add(port);
        }
        var names = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var id in ports.Select(p => p.NetworkId).Distinct(StringComparer.Ordinal))
            names[id] = (await GrainFactory.GetGrain<INetworkGrain>(id).GetAsync())?.Value.Name;
        return await SummariesAsync(ports, id => names.GetValueOrDefault(id));
    }

    /// <summary>Each port with its status as its host reported it, or DOWN with the reason it has none.</summary>
    private async Task<IReadOnlyList<EndpointSummary>> SummariesAsync(List<WorkloadEndpoint> ports, Func<string, string?> networkName)
    {
        var statuses = new Dictionary<string, (HostStatus Host, IReadOnlyDictionary<string, EndpointStatus> Endpoints)>(StringComparer.Ordinal);
        foreach (var name in ports.Select(p => p.Host).OfType<string>().Where(h => h.Length > 0).Distinct(StringComparer.Ordinal))
        {
            var grain = GrainFactory.GetGrain<IHostGrain>(name);
            statuses[name] = (await grain.GetStatusAsync(), await grain.GetEndpointStatusesAsync());
        }
        return [.. ports.OrderBy(p => p.Host ?? "", StringComparer.Ordinal).ThenBy(p => p.Id, StringComparer.Ordinal).Select(port =>
        {
            var network = networkName(port.NetworkId);
            if (!port.IsBound) return new EndpointSummary(port, network, EndpointStatusKind.Down, "not bound to a host (binding:host_id unset)", null);
            var (hostStatus, reported) = statuses[port.Host!];
            if (hostStatus.Registration is null)
                return new EndpointSummary(port, network, EndpointStatusKind.Down, $"host {port.Host} is not registered (no compute silo of that name has started)", null);
            if (reported.GetValueOrDefault(port.Id) is { } status)
            {
                var reason = status.Message ?? (hostStatus.Alive ? null : $"host {port.Host} is dead: status as last reported");
                return new EndpointSummary(port, network, status.Status, reason, status.ReportedAt);
            }
            return new EndpointSummary(port, network, EndpointStatusKind.Down,
                hostStatus.Alive ? $"host {port.Host} has not reported it programmed yet" : $"host {port.Host} is dead", null);
        })];
    }

    public async Task<IpamSummary> GetIpamAsync()
    {
        var pools = new List<IpPool>();
        await foreach (var (_, state) in catalog.ListAsync<ResourceState<IpPool>>(GrainTypes.IpPool))
            if (state.Value is { } pool) pools.Add(pool);
        var subnets = new List<Subnet>();
        await foreach (var (_, state) in catalog.ListAsync<ResourceState<Subnet>>(GrainTypes.Subnet))
            if (state.Value is { } subnet) subnets.Add(subnet);
        var blocks = new List<IpamBlockSummary>();
        await foreach (var (key, state) in catalog.ListAsync<IpBlockState>(GrainTypes.IpBlock))
        {
            if (state.Block is not { } block || !IpBlock.TryParseKey(key, out var subnetId, out _)) continue;
            var size = (int)Math.Min(int.MaxValue, Math.Pow(2, Model.Net.IpPrefix.MaxLength(block.Cidr.Address) - block.Cidr.Length));
            blocks.Add(new IpamBlockSummary(subnetId, block.Cidr.ToString(), block.AffinityHost, state.Allocations.Length, size));
        }
        var summaries = subnets.OrderBy(s => s.Cidr.Version).ThenBy(s => s.Cidr.ToString(), StringComparer.Ordinal).Select(subnet =>
        {
            var pool = IpPools.For(pools, subnet);
            var own = blocks.Where(b => b.SubnetId == subnet.Id).ToList();
            var length = own.Count > 0 ? Model.Net.IpPrefix.Parse(own[0].Cidr).Length : IpPools.BlockLength(pool, subnet);
            double capacity;
            try
            {
                capacity = (double)new SubnetLayout(subnet, length).AutomaticCapacity;
            }
            catch (ArgumentOutOfRangeException)
            {
                capacity = double.NaN;
            }
            return new IpamSubnetSummary(subnet.Id, subnet.Name, subnet.NetworkId, subnet.Cidr.ToString(), pool?.Name, length, capacity,
                own.Sum(b => b.Allocated), pool is { Disabled: true });
        }).ToList();
        return new IpamSummary([.. pools.OrderBy(p => p.Name, StringComparer.Ordinal)], summaries,
            [.. blocks.OrderBy(b => b.Host ?? "\uffff", StringComparer.Ordinal).ThenBy(b => b.SubnetId, StringComparer.Ordinal).ThenBy(b => b.Cidr, StringComparer.Ordinal)]);
    }

    public async Task<IReadOnlyList<DesiredItem>> GetDesiredStateAsync(string host)
    {
        var push = await CalculatorShards.For(GrainFactory, ServiceProvider, host).GetHostStateAsync(host);
        return [.. push.Changes.Select(c => c.Item).OfType<DesiredItem>()];
    }

    public async Task<SecurityGroup?> GetSecurityGroupAsync(string id) =>
        (await GrainFactory.GetGrain<ISecurityGroupGrain>(id).GetAsync())?.Value;

    public async Task<AddressOwner?> FindAddressAsync(IPAddress address)
    {
        await foreach (var (_, state) in catalog.ListAsync<ResourceState<WorkloadEndpoint>>(GrainTypes.Endpoint))
            if (state.Value is { } port && port.Addresses.Contains(address)) return new AddressOwner(port.Id, null, address);
        await foreach (var (_, state) in catalog.ListAsync<ResourceState<FloatingIp>>(GrainTypes.FloatingIp))
            if (state.Value is { IsAssociated: true } fip && fip.FloatingIpAddress.Equals(address))
                return new AddressOwner(fip.PortId!, fip.Id, fip.FixedIpAddress);
        return null;
    }
}
