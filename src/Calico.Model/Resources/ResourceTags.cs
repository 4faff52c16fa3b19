using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>Neutron's rules for the tags of a resource (standard-attr-tag): each 1 to 255 characters, none twice.</summary>
public static class ResourceTags
{
    public const int MaxLength = 255;

    /// <summary>Why <paramref name="tag"/> cannot be a tag, or null when it can.</summary>
    public static string? Problem(string? tag) => tag switch
    {
        null => "a tag must be a string",
        { Length: 0 } => "a tag must not be empty",
        { Length: > MaxLength } => $"'{tag[..20]}...' is {tag.Length} characters, more than the {MaxLength} a tag may have",
        _ => null,
    };

    public static IReadOnlyList<ValidationError> Validate(IReadOnlyList<string> tags, string field = "tags")
    {
        var v = new Validator();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tags.Count; i++)
        {
            if (Problem(tags[i]) is { } problem) v.Add($"{field}[{i}]", problem);
            else if (!seen.Add(tags[i])) v.Add($"{field}[{i}]", $"duplicate item in the list: '{tags[i]}'");
        }
        return v.Errors;
    }
}
