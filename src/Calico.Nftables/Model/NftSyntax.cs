using System.Text;

namespace Calico.Nftables;

/// <summary>
/// What nft's parser accepts, checked when objects are built so that a bad name fails at its source with a message
/// naming it, not later inside a transaction that also carries everyone else's changes.
/// </summary>
internal static class NftSyntax
{
    /// <summary>nft limits comments to 128 bytes; the hash prefix takes 21 of them.</summary>
    public const int MaxUserCommentBytes = 100;

    /// <summary>
    /// Names of tables, chains and sets: nft 1.0.6 accepts no quoted identifiers, so only what its scanner reads as
    /// one string token is allowed. Bare nft keywords ("ip", "counter") are refused by nft itself; prefer prefixed
    /// names such as "cali-fw-tap1234".
    /// </summary>
    public static string Identifier(string? name, string what)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException($"{what} must not be empty", nameof(name));
        if (name.Length > 64) throw new ArgumentException($"{what} '{name}' is longer than 64 characters", nameof(name));
        if (!char.IsAsciiLetter(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw new ArgumentException($"{what} '{name}' must start with a letter and hold only letters, digits, '-', '_' and '.'", nameof(name));
        return name;
    }

    /// <summary>An interface name as the kernel allows it (1-15 bytes); a trailing '*' makes it a wildcard match.</summary>
    public static string InterfaceName(string? name, bool allowWildcard)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("interface name must not be empty", nameof(name));
        var body = allowWildcard && name.EndsWith('*') ? name[..^1] : name;
        if (body.Length is 0 or > 15 || !body.All(c => c > ' ' && c < 127 && c is not '"' and not '/' and not '*' and not '\\'))
            throw new ArgumentException($"'{name}' is not an interface name (1-15 printable characters, no quotes, '/' or '\\')", nameof(name));
        return name;
    }

    public static string? UserComment(string? comment)
    {
        if (comment is null) return null;
        if (comment.Length == 0 || Encoding.UTF8.GetByteCount(comment) > MaxUserCommentBytes ||
            comment.Any(c => c is '"' or '\\' || char.IsControl(c)))
            throw new ArgumentException($"comment '{comment}' must be 1-{MaxUserCommentBytes} bytes without quotes, backslashes or control characters", nameof(comment));
        return comment;
    }

    public static string Keyword(NftFamily family) => family switch
    {
        NftFamily.Inet => "inet",
        NftFamily.Ip => "ip",
        NftFamily.Ip6 => "ip6",
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, null),
    };

    public static string Keyword(NftHook hook) => hook.ToString().ToLowerInvariant();

    public static string Keyword(NftChainType type) => type.ToString().ToLowerInvariant();

    public static string Keyword(NftPolicy policy) => policy.ToString().ToLowerInvariant();

    public static bool TryParse<T>(string? text, out T value) where T : struct, Enum =>
        Enum.TryParse(text, ignoreCase: true, out value) && Enum.IsDefined(value) && !char.IsDigit(text![0]);

    /// <summary>Appends a string in nft's double quotes; the callers' validation guarantees there is nothing to escape.</summary>
    public static StringBuilder Quoted(this StringBuilder text, string value) => text.Append('"').Append(value).Append('"');
}
