using Calico.Model.Collections;

namespace Calico.Grains;

/// <summary>
/// A stored resource with its revision (bumped by every write), the time of the last write, and when it was created
/// (the first write after it did not exist; the API shows it as created_at), and its tags (Neutron's standard-attr-tag:
/// a standard attribute like the revision, kept beside the value so that every kind has them and the desired state
/// never sees them).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record Versioned<T>([property: Id(0)] T Value, [property: Id(1)] long Revision, [property: Id(2)] DateTimeOffset UpdatedAt,
    [property: Id(3)] DateTimeOffset CreatedAt = default, [property: Id(4)] ValueList<string>? Tags = null)
{
    /// <summary>The tags, empty when none were ever set (and for states stored before tags existed).</summary>
    public ValueList<string> TagList => Tags ?? ValueList<string>.Empty;
}
