using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.AspNetCore.Routing;

namespace Calico.Api.Tags;

/// <summary>A collection whose resources carry tags (Neutron's standard-attr-tag).</summary>
internal interface ITaggableCollection<T> : IReadableCollection where T : class
{
    /// <summary>The resource if the caller may see it; the collection's 404 otherwise.</summary>
    Task<Versioned<T>> GetVisibleAsync(Caller caller, string id);

    IResourceGrain<T> Grain(string id);

    string ProjectOf(T value);
}

/// <summary>
/// <c>/v2.0/{collection}/{id}/tags</c>, as Neutron's tag extension: GET lists (200), PUT replaces all
/// (<c>{"tags": [...]}</c>, 200), DELETE removes all (204); <c>…/tags/{tag}</c>: GET answers 204 when the resource has
/// the tag (404 <c>TagNotFound</c> otherwise), PUT adds it (201), DELETE removes it (204, or 404). Tags are stored with
/// the resource by its grain (a write like any other: the revision grows); seeing them needs what seeing the resource
/// needs, changing them what changing it needs (its project or an admin).
/// </summary>
internal static class TagRoutes
{
    public static void MapTags<TCollection, T>(this RouteGroupBuilder api, string collection)
        where TCollection : class, ITaggableCollection<T> where T : class
    {
        var all = $"/{collection}/{{id}}/tags";
        var one = all + "/{tag}";
        api.MapGet(all, async (HttpContext h, string id, TCollection c) =>
            List((await c.GetVisibleAsync(Caller.Of(h), Existing<TCollection>(id))).TagList));
        api.MapGet(one, async (HttpContext h, string id, string tag, TCollection c) =>
        {
            CheckTag(tag);
            var resource = await c.GetVisibleAsync(Caller.Of(h), Existing<TCollection>(id));
            return resource.TagList.Contains(tag) ? Results.NoContent() : throw NotFound(tag);
        });
        api.MapPut(all, async (HttpContext h, string id, TCollection c, RequestBody bodies) =>
        {
            var tags = await bodies.ReadTagsAsync(h);
            return List((await ChangeAsync(h, c, Existing<TCollection>(id), _ => tags)).TagList);
        });
        api.MapPut(one, async (HttpContext h, string id, string tag, TCollection c) =>
        {
            CheckTag(tag);
            await ChangeAsync(h, c, Existing<TCollection>(id), current => current.Contains(tag) ? current : current.Append(tag).ToValueList());
            return Results.StatusCode(StatusCodes.Status201Created);
        });
        api.MapDelete(all, async (HttpContext h, string id, TCollection c) =>
        {
            await ChangeAsync(h, c, Existing<TCollection>(id), _ => ValueList<string>.Empty);
            return Results.NoContent();
        });
        api.MapDelete(one, async (HttpContext h, string id, string tag, TCollection c) =>
        {
            CheckTag(tag);
            await ChangeAsync(h, c, Existing<TCollection>(id),
                current => current.Contains(tag) ? current.Where(t => t != tag).ToValueList() : throw NotFound(tag));
            return Results.NoContent();
        });
    }

    private static IResult List(ValueList<string> tags) => Results.Json(new JsonObject { ["tags"] = StandardAttributes.Strings(tags) });

    private static ApiException NotFound(string tag) => ApiException.NotFound("TagNotFound", $"Tag {tag} could not be found.");

    private static void CheckTag(string tag)
    {
        if (ResourceTags.Problem(tag) is { } problem) throw new InvalidInputException("tag", problem);
    }

    private static string Existing<TCollection>(string id) where TCollection : IReadableCollection =>
        Ids.CanExist(id) ? id : throw TCollection.NotFound(id);

    /// <summary>Read-modify-write of the tags with the revision as precondition (retried), by the owner or an admin.</summary>
    private static async Task<Versioned<T>> ChangeAsync<T>(HttpContext http, ITaggableCollection<T> collection, string id,
        Func<ValueList<string>, ValueList<string>> change) where T : class
    {
        var caller = Caller.Of(http);
        for (var attempt = 1; ; attempt++)
        {
            var current = await collection.GetVisibleAsync(caller, id);
            Projects.RequireOwner(caller, collection.ProjectOf(current.Value), $"The tags of {id}");
            var next = change(current.TagList);
            if (next.Equals(current.TagList)) return current;
            try
            {
                return await collection.Grain(id).SetTagsAsync(next, current.Revision);
            }
            catch (ResourceConflictException) when (attempt < 5)
            {
                // Written meanwhile: apply the change again to what is there now.
            }
        }
    }
}
