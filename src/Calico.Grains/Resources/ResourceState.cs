using Calico.Model.Collections;

namespace Calico.Grains.Resources;

/// <summary>
/// What a resource grain persists. A delete keeps the record with <see cref="Value"/> null and the revision
/// bumped (a tombstone), so revisions only ever grow and a stale notification can always be told apart.
/// </summary>
[GenerateSerializer]
public sealed class ResourceState<T> where T : class
{
    [Id(0)] public T? Value { get; set; }

    [Id(1)] public long Revision { get; set; }

    [Id(2)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>When the resource was created: the first write of a value after none (a re-creation after a delete starts anew).</summary>
    [Id(3)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The resource's tags (null: none; states stored before tags existed read as none). A delete clears them.</summary>
    [Id(4)] public ValueList<string>? Tags { get; set; }
}
