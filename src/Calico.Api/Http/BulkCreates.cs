namespace Calico.Api.Http;

/// <summary>
/// <c>POST /v2.0/{collection}</c> with one resource or a list (Neutron's bulk create, <c>{"networks": [...]}</c>).
/// A list is all or nothing: its items are created in order, and the first one refused stops it with that item's own
/// status and type, its message prefixed with the item (<c>subnets[2]: ...</c>); the items created before it are then
/// deleted again, last first, through the collection's own delete. The store has no transaction across grains, so
/// a collection that can store a whole list in one write does so (<see cref="IBulkCreatableCollection"/>); otherwise
/// a bulk create is not atomic to others: while it runs, and until a refusal has been undone, a concurrent reader may
/// see its first items (Neutron's own bulk emulation for plugins without native bulk does the same). An item whose
/// undo fails (the store became unavailable) is named in the refusal, so the caller can delete it.
/// </summary>
internal static class BulkCreates
{
    public static async Task<IResult> CreateAsync(HttpContext http, ICreatableCollection collection, RequestBody bodies)
    {
        var singular = collection.Singular;
        var plural = singular + "s";
        var (items, bulk) = await bodies.ReadCreateAsync(http, singular);
        if (!bulk) return NeutronResults.Created(singular, await collection.CreateAsync(http, items[0]));

        var created = collection is IBulkCreatableCollection native
            ? await native.CreateAllAsync(http, items)
            : await OneByOneAsync(http, collection, items, plural);
        return Results.Json(new JsonObject { [plural] = new JsonArray([.. created]) }, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IReadOnlyList<JsonObject>> OneByOneAsync(HttpContext http, ICreatableCollection collection, IReadOnlyList<RequestObject> items, string plural)
    {
        var created = new List<JsonObject>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            try
            {
                created.Add(await collection.CreateAsync(http, items[i]));
            }
            catch (Exception e)
            {
                // Undone whatever the failure, even a caller gone away (an undo that then fails leaves its items, as a
                // single create stored before the caller left is left).
                throw ItemRefused(e, plural, i, await UndoAsync(http, collection, created));
            }
        }
        return created;
    }

    /// <summary>
    /// The refusal of item <paramref name="index"/> of a bulk create, its message prefixed with the item, naming the
    /// items created before it that could not be taken back (<paramref name="left"/>); not a refusal (the store
    /// unavailable): <paramref name="error"/> itself unless items were left.
    /// </summary>
    public static Exception ItemRefused(Exception error, string plural, int index, IReadOnlyList<string> left)
    {
        var leftOver = left.Count == 0 ? "" : $" The {plural} created before it could not all be deleted again; delete them: {string.Join(", ", left)}.";
        if (NeutronErrors.Refusal(error) is { } refusal)
            return new ApiException(refusal.Status, refusal.Type, $"{plural}[{index}]: {refusal.Message}{leftOver}", refusal.Detail);
        return left.Count > 0 ? new InvalidOperationException($"{plural}[{index}] failed and{leftOver}", error) : error;
    }

    /// <summary>Deletes <paramref name="created"/>, last first; returns the ids it could not delete.</summary>
    private static async Task<IReadOnlyList<string>> UndoAsync(HttpContext http, ICreatableCollection collection, List<JsonObject> created)
    {
        var left = new List<string>();
        for (var i = created.Count - 1; i >= 0; i--)
        {
            var id = (string)created[i]["id"]!;
            try
            {
                await collection.DeleteAsync(http, id);
            }
            catch (Exception)
            {
                left.Add(id);
            }
        }
        return left;
    }
}
