namespace Calico.Grains;

/// <summary>
/// A stored resource with its revision (bumped by every write), the time of the last write, and when it was created
/// (the first write after it did not exist; the API shows it as created_at).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record Versioned<T>([property: Id(0)] T Value, [property: Id(1)] long Revision, [property: Id(2)] DateTimeOffset UpdatedAt,
    [property: Id(3)] DateTimeOffset CreatedAt = default);
