namespace Calico.Model.Validation;

/// <summary>One reason an input was refused: the field (a dotted path such as <c>rules[2].port_range_min</c>) and why.</summary>
[GenerateSerializer, Immutable]
public sealed record ValidationError([property: Id(0)] string Field, [property: Id(1)] string Reason)
{
    public override string ToString() => $"{Field}: {Reason}";
}
