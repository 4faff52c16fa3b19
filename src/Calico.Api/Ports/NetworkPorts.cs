using Calico.Api.Http;
using Calico.Datastore;
using Calico.Grains;
using Calico.Grains.Resources;
using Calico.Model.Resources;

namespace Calico.Api.Ports;

/// <summary>
/// The ports of one network, found through their rows (<see cref="NetworkPortRow"/>, one range of an index) rather
/// than by reading every port of the cluster, and confirmed one by one with the port's grain (a row can outlive a
/// port whose write failed). A port's row is stored before the port, so a port that is stored is always found:
/// with the writer's own check after storing (see References), a network delete that looks here cannot miss a port
/// that did not see the delete. Before the first look, every port stored before the rows existed is given its row.
/// </summary>
internal sealed class NetworkPorts(ResourceStore store, IGrainStateCatalog catalog)
{
    private readonly Lock _lock = new();
    private Task? _complete;

    /// <summary>Whether a port on the network has <paramref name="macAddress"/>.</summary>
    public async Task<bool> MacInUseAsync(string networkId, string macAddress, CancellationToken cancellationToken)
    {
        await EnsureCompleteAsync();
        await foreach (var (_, row) in catalog.ListAsync<NetworkPortRow>(GrainTypes.NetworkPort, NetworkPortRow.MacPrefix(networkId, macAddress), cancellationToken))
            if (await ConfirmAsync(row) is not null) return true;
        return false;
    }

    /// <summary>A port on the network (the first confirmed), or null when it has none.</summary>
    public async Task<Versioned<WorkloadEndpoint>?> AnyAsync(string networkId, CancellationToken cancellationToken)
    {
        await EnsureCompleteAsync();
        await foreach (var (_, row) in catalog.ListAsync<NetworkPortRow>(GrainTypes.NetworkPort, NetworkPortRow.NetworkPrefix(networkId), cancellationToken))
            if (await ConfirmAsync(row) is { } port) return port;
        return null;
    }

    /// <summary>Every port on the network, as each port's grain has it now.</summary>
    public async Task<IReadOnlyList<Versioned<WorkloadEndpoint>>> ListAsync(string networkId, CancellationToken cancellationToken)
    {
        await EnsureCompleteAsync();
        var rows = new List<NetworkPortRow>();
        await foreach (var (_, row) in catalog.ListAsync<NetworkPortRow>(GrainTypes.NetworkPort, NetworkPortRow.NetworkPrefix(networkId), cancellationToken))
            rows.Add(row);
        var ports = await Task.WhenAll(rows.Select(ConfirmAsync));
        return [.. ports.OfType<Versioned<WorkloadEndpoint>>()];
    }

    private async Task<Versioned<WorkloadEndpoint>?> ConfirmAsync(NetworkPortRow row)
    {
        var port = await store.Grains.GetGrain<IEndpointGrain>(row.PortId).GetAsync();
        return row.Describes(port?.Value) ? port : null;
    }

    /// <summary>Once per process after it succeeded; a failure is retried by the next request.</summary>
    private Task EnsureCompleteAsync()
    {
        lock (_lock)
        {
            if (_complete is null || _complete.IsFaulted || _complete.IsCanceled)
                _complete = store.Grains.GetGrain<INetworkPortListingGrain>(0).EnsureCompleteAsync();
            return _complete;
        }
    }
}
