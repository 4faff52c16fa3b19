using Microsoft.AspNetCore.Routing;

namespace Calico.Api.Http;

/// <summary>A Neutron collection that can be listed (<c>GET /v2.0/{collection}</c>) and shown (<c>GET …/{id}</c>).</summary>
internal interface IReadableCollection
{
    /// <summary>The 404 for an id that names none of the collection's resources, as Neutron words it.</summary>
    static abstract ApiException NotFound(string id);

    Task<IResult> ListAsync(HttpContext http);

    Task<IResult> ShowAsync(HttpContext http, string id);
}

/// <summary>
/// <c>POST /v2.0/{collection}</c>, one resource (<c>{"network": {...}}</c>) or several (<c>{"networks": [...]}</c>,
/// see <see cref="BulkCreates"/>). A creatable collection is deletable: a bulk create that fails part-way takes back
/// the resources it created through the collection's own delete.
/// </summary>
internal interface ICreatableCollection : IDeletableCollection
{
    /// <summary>The resource's key in a request and an answer (<c>network</c>); the bulk key is this plus "s".</summary>
    string Singular { get; }

    /// <summary>Creates one resource from <paramref name="body"/> (checked here) and returns it as it is shown.</summary>
    Task<JsonObject> CreateAsync(HttpContext http, RequestObject body);
}

/// <summary>A collection that creates a bulk list itself (all in one write where it can), rather than item by item.</summary>
internal interface IBulkCreatableCollection : ICreatableCollection
{
    /// <summary>Creates every item or none; a refusal names the item (see <see cref="BulkCreates.ItemRefused"/>).</summary>
    Task<IReadOnlyList<JsonObject>> CreateAllAsync(HttpContext http, IReadOnlyList<RequestObject> items);
}

/// <summary><c>PUT /v2.0/{collection}/{id}</c>.</summary>
internal interface IUpdatableCollection
{
    Task<IResult> UpdateAsync(HttpContext http, string id);
}

/// <summary><c>DELETE /v2.0/{collection}/{id}</c>.</summary>
internal interface IDeletableCollection
{
    Task<IResult> DeleteAsync(HttpContext http, string id);
}

internal static class CollectionRoutes
{
    /// <summary>
    /// Maps the routes of <paramref name="collection"/> to the operations <typeparamref name="T"/> (a singleton from
    /// the container) implements: list and show always, create, update and delete when it implements them. A method
    /// it does not implement is not mapped.
    /// </summary>
    public static void MapCollection<T>(this RouteGroupBuilder api, string collection) where T : class, IReadableCollection
    {
        var all = "/" + collection;
        var one = all + "/{id}";
        api.MapGet(all, (HttpContext h, T e) => e.ListAsync(h));
        api.MapGet(one, (HttpContext h, string id, T e) => e.ShowAsync(h, Existing<T>(id)));
        if (typeof(T).IsAssignableTo(typeof(ICreatableCollection)))
            api.MapPost(all, (HttpContext h, T e, RequestBody bodies) => BulkCreates.CreateAsync(h, (ICreatableCollection)e, bodies));
        if (typeof(T).IsAssignableTo(typeof(IUpdatableCollection)))
            api.MapPut(one, (HttpContext h, string id, T e) => ((IUpdatableCollection)e).UpdateAsync(h, Existing<T>(id)));
        if (typeof(T).IsAssignableTo(typeof(IDeletableCollection)))
            api.MapDelete(one, (HttpContext h, string id, T e) => ((IDeletableCollection)e).DeleteAsync(h, Existing<T>(id)));
    }

    /// <summary>
    /// The path's id, or the collection's 404 when no resource could have it (see <see cref="Ids.CanExist"/>): checked
    /// before the body is read or any grain is asked, so an empty, blank or odd id never reaches a lookup.
    /// </summary>
    private static string Existing<T>(string id) where T : IReadableCollection => Ids.CanExist(id) ? id : throw T.NotFound(id);
}
