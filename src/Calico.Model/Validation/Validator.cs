using System.Net;
using Calico.Model.Net;

namespace Calico.Model.Validation;

/// <summary>Collects validation errors for one record; <see cref="ThrowIfAny"/> refuses the input with all of them.</summary>
public sealed class Validator
{
    private readonly List<ValidationError> _errors = [];

    public IReadOnlyList<ValidationError> Errors => _errors;

    public void Add(string field, string reason) => _errors.Add(new ValidationError(field, reason));

    public void Require(bool condition, string field, string reason)
    {
        if (!condition) Add(field, reason);
    }

    /// <summary>An identifier: 1..255 characters of letters, digits, '-', '_', '.', ':'.</summary>
    public void Id(string? value, string field)
    {
        if (IdProblem(value) is { } reason) Add(field, reason);
    }

    /// <summary>
    /// Why <paramref name="value"/> is not an identifier (1..255 characters of letters, digits, '-', '_', '.', ':'),
    /// or null when it is one. Nothing is ever stored under another key, so the API refuses such an id before any
    /// lookup: in a path it names nothing (404), in a body it is invalid input naming the field (400).
    /// </summary>
    public static string? IdProblem(string? value)
    {
        if (value is null) return "is required";
        if (value.Length == 0) return "is required (it is empty)";
        if (value.Length > 255) return "is longer than 255 characters";
        if (!value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            return $"'{value}' may contain only letters, digits, '-', '_', '.' and ':'";
        return null;
    }

    public void MaxLength(string? value, int max, string field)
    {
        if (value is not null && value.Length > max) Add(field, $"is longer than {max} characters");
    }

    public void Family(IPAddress? address, int version, string field)
    {
        if (address is not null && address.Version() != version)
            Add(field, $"{address} is not an IPv{version} address");
    }

    public void Family(IpPrefix prefix, int version, string field)
    {
        if (prefix.Version != version) Add(field, $"{prefix} is not an IPv{version} prefix");
    }

    public void Canonical(IpPrefix prefix, string field)
    {
        if (!prefix.IsCanonical)
            Add(field, $"{prefix} has host bits set; did you mean {prefix.Network}?");
    }

    public void Nested(IEnumerable<ValidationError> errors, string prefix)
    {
        foreach (var e in errors) Add($"{prefix}.{e.Field}", e.Reason);
    }

    public void ThrowIfAny()
    {
        if (_errors.Count > 0) throw new InvalidInputException([.. _errors]);
    }
}

/// <summary>A record that can say what is wrong with it.</summary>
public interface IValidatable
{
    IReadOnlyList<ValidationError> Validate();
}

public static class ValidatableExtensions
{
    /// <summary>Throws <see cref="InvalidInputException"/> naming every invalid field; returns the value otherwise.</summary>
    public static T EnsureValid<T>(this T value) where T : IValidatable
    {
        var errors = value.Validate();
        if (errors.Count > 0) throw new InvalidInputException(errors);
        return value;
    }
}
