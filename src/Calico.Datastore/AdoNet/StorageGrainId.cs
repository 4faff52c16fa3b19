namespace Calico.Datastore.AdoNet;

/// <summary>
/// What the ADO.NET provider is told a grain is called. Orleans 10 hands a storage provider the
/// <c>[PersistentState]</c> name (not the grain type), and the ADO.NET provider keys rows by that name plus the grain
/// key alone, parsing keys that look like hex numbers or GUIDs into integers (so "abc" and "ABC" meet as 0xABC, and
/// network "x" and subnet "x" share a row). Handing it the whole grain id as a string key keeps every grain apart
/// and lets the catalog recover the grain type and the exact primary key string.
/// </summary>
internal static class StorageGrainId
{
    public static GrainId From(GrainId grainId)
    {
        // The key is "type/key": it contains '/', so it never parses as a hex integer or an "N"-format GUID
        // (unless a grain type itself looks like "hex+..." — refused below rather than silently merged).
        var stored = GrainId.Create(grainId.Type, IdSpan.Create(grainId.ToString()));
        if (stored.TryGetIntegerKey(out _, out _) || stored.TryGetGuidKey(out _, out _))
        {
            throw new NotSupportedException(
                $"Grain id '{grainId}' cannot be stored by the Calico datastore: its type name makes it look like a numeric key.");
        }
        return stored;
    }
}
