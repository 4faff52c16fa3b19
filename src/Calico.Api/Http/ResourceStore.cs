using Calico.Datastore;
using Calico.Grains;
using Calico.Grains.Resources;

namespace Calico.Api.Http;

/// <summary>
/// Reads resources for the API: one by id from its grain (the owner, always current), all of a kind from the
/// store's catalog (what the grains persisted, without activating every grain). Writes always go to the grains.
/// </summary>
internal sealed class ResourceStore(IGrainFactory grains, IGrainStateCatalog catalog)
{
    public IGrainFactory Grains => grains;

    public IGrainStateCatalog Catalog => catalog;

    public async Task<IReadOnlyList<Versioned<T>>> ListAsync<T>(string grainType, CancellationToken cancellationToken) where T : class
    {
        var list = new List<Versioned<T>>();
        await foreach (var (_, state) in catalog.ListAsync<ResourceState<T>>(grainType, cancellationToken))
        {
            // Deleted resources keep a tombstone (no value) so their revision is never reused.
            if (state.Value is { } value) list.Add(new Versioned<T>(value, state.Revision, state.UpdatedAt, state.CreatedAt, state.Tags));
        }
        return list;
    }

    public Task<Versioned<T>?> GetAsync<TGrain, T>(string id) where TGrain : IResourceGrain<T> where T : class =>
        grains.GetGrain<TGrain>(id).GetAsync();

    /// <summary>
    /// The resource <paramref name="id"/> when it exists and <paramref name="caller"/> may see its project; otherwise
    /// <paramref name="notFound"/> is thrown (a resource of another project is not found, as in Neutron).
    /// </summary>
    public async Task<Versioned<T>> GetVisibleAsync<TGrain, T>(Auth.Caller caller, string id, Func<T, string> projectOf, Func<string, ApiException> notFound)
        where TGrain : IResourceGrain<T> where T : class =>
        await GetAsync<TGrain, T>(id) is { } found && caller.CanSee(projectOf(found.Value)) ? found : throw notFound(id);
}
