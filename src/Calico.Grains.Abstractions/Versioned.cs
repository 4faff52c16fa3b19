namespace Calico.Grains;

/// <summary>A stored resource with its revision (bumped by every write) and the time of the last write.</summary>
[GenerateSerializer, Immutable]
public sealed record Versioned<T>([property: Id(0)] T Value, [property: Id(1)] long Revision, [property: Id(2)] DateTimeOffset UpdatedAt);
