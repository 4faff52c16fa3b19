using Calico.Datastore;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.Extensions.Logging;

namespace Calico.Grains.Resources;

/// <summary>
/// An operator's BGP peer (global, or for the hosts it selects), keyed by its address. Stored and told to the
/// calculator like any resource; the engine turns it into one peer item for the hosts it selects. Before a write it
/// checks the registered hosts: a selected host whose own address is the peer's would peer with itself.
/// </summary>
[GrainType(GrainTypes.BgpPeer)]
public sealed class BgpPeerGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<BgpPeer>> state,
    IGrainStateCatalog catalog,
    TimeProvider time, ILogger<BgpPeerGrain> logger)
    : ResourceGrain<BgpPeer>(state, time, logger), IBgpPeerGrain
{
    protected override ResourceKind Kind => ResourceKind.BgpPeer;

    protected override string IdOf(BgpPeer value) => value.Key;

    protected override async Task BeforeStoreAsync(BgpPeer? current, BgpPeer? next)
    {
        if (next is null) return;
        await foreach (var (name, host) in catalog.ListAsync<ResourceState<HostSpec>>(GrainTypes.Host))
            if (host.Value is { } h && (next.Address.Equals(h.Ipv4Address) || next.Address.Equals(h.Ipv6Address)) && next.Selects(h.Name, h.Labels))
                throw new InvalidInputException("address", $"{next.Address} is the address of host {name}, which would peer with itself; " +
                    "hosts peer with each other through the node-to-node mesh or route reflectors");
    }
}

/// <summary>
/// The cluster's BGP settings (AS number, mesh on or off), one record; and the listings of the peers (from the store)
/// and of the hosts' sessions (from each host's grain, as its compute silo last reported them).
/// </summary>
[GrainType(GrainTypes.BgpConfiguration)]
public sealed class BgpConfigurationGrain(
    [PersistentState("state", StorageNames.Calico)] IPersistentState<ResourceState<BgpConfiguration>> state,
    IGrainStateCatalog catalog,
    TimeProvider time, ILogger<BgpConfigurationGrain> logger)
    : ResourceGrain<BgpConfiguration>(state, time, logger), IBgpConfigurationGrain
{
    protected override ResourceKind Kind => ResourceKind.BgpConfiguration;

    protected override string IdOf(BgpConfiguration value) => BgpConfiguration.DefaultKey;

    public async Task<IReadOnlyList<Versioned<BgpPeer>>> ListPeersAsync()
    {
        var peers = new List<Versioned<BgpPeer>>();
        await foreach (var (_, s) in catalog.ListAsync<ResourceState<BgpPeer>>(GrainTypes.BgpPeer))
            if (s.Value is { } peer) peers.Add(new Versioned<BgpPeer>(peer, s.Revision, s.UpdatedAt, s.CreatedAt, s.Tags));
        return [.. peers.OrderBy(p => p.Value.Address, Comparer<System.Net.IPAddress>.Create(Calico.Model.Net.IpAddresses.Compare))];
    }

    public async Task<IReadOnlyList<HostBgpSessions>> ListSessionsAsync(string? host = null)
    {
        var names = new List<string>();
        if (host is not null) names.Add(host);
        else
            await foreach (var (name, s) in catalog.ListAsync<ResourceState<HostSpec>>(GrainTypes.Host))
                if (s.Value is not null) names.Add(name);
        var statuses = await Task.WhenAll(names.Select(n => GrainFactory.GetGrain<IHostGrain>(n).GetStatusAsync()));
        return [.. names.Zip(statuses)
            .Where(p => host is null || p.Second.Registration is not null || p.Second.LastReport is not null)
            .Select(p => new HostBgpSessions(p.First, p.Second.Alive, p.Second.LastReport?.At, p.Second.LastReport?.BgpSessions))
            .OrderBy(h => h.Host, StringComparer.Ordinal)];
    }
}
