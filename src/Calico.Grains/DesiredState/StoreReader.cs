using Calico.Datastore;
using Calico.Grains.Ipam;
using Calico.Grains.Resources;
using Calico.Model.Desired;
using Calico.Model.Resources;

namespace Calico.Grains.DesiredState;

/// <summary>
/// Reads every stored resource as the calculator shards need it (a silo-wide service). Shards that activate together
/// on one silo (at start, or after another controller died) share one read, and with it the resource records
/// themselves, so the intent each of them holds costs its indexes only.
/// </summary>
public sealed class StoreReader(IGrainStateCatalog catalog)
{
    private readonly object _lock = new();
    private Task<IReadOnlyList<ResourceChange>>? _reading;

    /// <summary>Every resource (deleted ones as tombstones with their revision); joins a read already under way.</summary>
    public Task<IReadOnlyList<ResourceChange>> LoadAsync(CancellationToken cancellationToken)
    {
        Task<IReadOnlyList<ResourceChange>> reading;
        lock (_lock)
        {
            // Off the grain scheduler, and not cancelled by one caller while others wait for it.
            if (_reading is not { IsCompleted: false }) _reading = Task.Run(() => ReadAsync(CancellationToken.None));
            reading = _reading;
        }
        return reading.WaitAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<ResourceChange>> ReadAsync(CancellationToken cancellationToken)
    {
        var changes = new List<ResourceChange>();
        await Load<HostSpec>(GrainTypes.Host, ResourceKind.Host);
        await Load<Network>(GrainTypes.Network, ResourceKind.Network);
        await Load<Subnet>(GrainTypes.Subnet, ResourceKind.Subnet);
        await Load<SecurityGroup>(GrainTypes.SecurityGroup, ResourceKind.SecurityGroup);
        await Load<WorkloadEndpoint>(GrainTypes.Endpoint, ResourceKind.Endpoint);
        await Load<FloatingIp>(GrainTypes.FloatingIp, ResourceKind.FloatingIp);
        await Load<IpPool>(GrainTypes.IpPool, ResourceKind.IpPool);
        await Load<QosPolicy>(GrainTypes.QosPolicy, ResourceKind.QosPolicy);
        await Load<BgpPeer>(GrainTypes.BgpPeer, ResourceKind.BgpPeer);
        await Load<BgpConfiguration>(GrainTypes.BgpConfiguration, ResourceKind.BgpConfiguration);
        // Blocks are rows of the subnets' IPAM grains; a released block is a tombstone (no block) with its revision.
        await foreach (var (key, state) in catalog.ListAsync<IpBlockState>(GrainTypes.IpBlock, cancellationToken))
            changes.Add(new ResourceChange(ResourceKind.IpBlock, key, state.Revision, state.Block));
        return changes;

        async Task Load<T>(string grainType, ResourceKind kind) where T : class
        {
            await foreach (var (key, state) in catalog.ListAsync<ResourceState<T>>(grainType, cancellationToken))
                changes.Add(new ResourceChange(kind, key, state.Revision, state.Value));
        }
    }
}
