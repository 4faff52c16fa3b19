namespace Calico.Model.Validation;

/// <summary>Input refused; nothing was changed. Carries every reason, each naming its field.</summary>
[GenerateSerializer]
public sealed class InvalidInputException : Exception
{
    public InvalidInputException(IReadOnlyList<ValidationError> errors)
        : base(string.Join("; ", errors))
    {
        Errors = errors;
    }

    public InvalidInputException(string field, string reason) : this([new ValidationError(field, reason)]) { }

    [Id(0)] public IReadOnlyList<ValidationError> Errors { get; }
}

/// <summary>The named resource does not exist.</summary>
[GenerateSerializer]
public sealed class ResourceNotFoundException(string kind, string id)
    : Exception($"{kind} {id} could not be found")
{
    [Id(0)] public string Kind { get; } = kind;

    [Id(1)] public string Id { get; } = id;
}

/// <summary>
/// The change conflicts with what is stored: it already exists, a revision precondition failed, or an
/// address is already in use. Nothing was changed.
/// </summary>
[GenerateSerializer]
public sealed class ResourceConflictException(string kind, string id, string reason)
    : Exception($"{kind} {id}: {reason}")
{
    [Id(0)] public string Kind { get; } = kind;

    [Id(1)] public string Id { get; } = id;

    [Id(2)] public string Reason { get; } = reason;
}
