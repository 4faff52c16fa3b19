using System.Security.Cryptography;
using System.Text;

namespace Calico.Nftables;

/// <summary>
/// One rule of a chain. Its comment carries a short hash of the rule's text (Felix does the same), written as
/// <c>comment "cal:0123456789abcdef"</c>, so that reading the kernel back compares hashes instead of parsing rule
/// bodies: a rule changed, replaced or added by hand no longer carries the hash that the desired rule has.
/// </summary>
public sealed record NftRule
{
    /// <summary>Prefix of the comment of every rule this project writes.</summary>
    public const string HashPrefix = "cal:";

    public NftRule(IEnumerable<NftStatement> statements, string? comment = null)
    {
        Statements = statements.ToNftList();
        if (Statements.Count == 0) throw new ArgumentException("a rule needs at least one statement", nameof(statements));
        if (Statements.Any(s => s is null)) throw new ArgumentException("statements must not be null", nameof(statements));
        Comment = NftSyntax.UserComment(comment);
        Body = string.Join(' ', Statements.Select(s => s.ToString()));
        Hash = ComputeHash(Body, Comment);
    }

    private NftRule(string? hash, string? observedComment, bool observed)
    {
        Statements = NftList<NftStatement>.Empty;
        Body = "";
        Hash = hash;
        Comment = observedComment;
        IsObserved = observed;
    }

    public NftRule(params NftStatement[] statements) : this((IEnumerable<NftStatement>)statements)
    {
    }

    public NftList<NftStatement> Statements { get; }

    /// <summary>Free text after the hash, for people reading `nft list`.</summary>
    public string? Comment { get; }

    /// <summary>The rule as nft reads it, without its comment.</summary>
    public string Body { get; }

    /// <summary>16 hex digits of SHA-256 over body and comment; null for a rule read back without our comment.</summary>
    public string? Hash { get; }

    /// <summary>A rule read back from the kernel: only its hash is known.</summary>
    public bool IsObserved { get; }

    public string CommentText => Comment is null ? HashPrefix + Hash : $"{HashPrefix}{Hash} {Comment}";

    public IEnumerable<string> SetReferences => Statements.Select(s => s.SetReference).OfType<string>();

    public IEnumerable<string> ChainReferences => Statements.Select(s => s.ChainReference).OfType<string>();

    /// <summary>A rule as read back: its comment gives the hash if it is one of ours.</summary>
    public static NftRule Observed(string? comment)
    {
        if (comment is null || !comment.StartsWith(HashPrefix, StringComparison.Ordinal)) return new NftRule(null, comment, observed: true);
        var hash = comment.AsSpan(HashPrefix.Length);
        var space = hash.IndexOf(' ');
        if (space >= 0) hash = hash[..space];
        return new NftRule(hash.Length == 16 ? hash.ToString() : null, comment, observed: true);
    }

    internal StringBuilder Render(StringBuilder text)
    {
        if (IsObserved) throw new InvalidOperationException("a rule read back from the kernel cannot be written again");
        return text.Append(Body).Append(" comment ").Quoted(CommentText);
    }

    public override string ToString() => IsObserved ? $"(kernel rule, comment {Comment ?? "none"})" : $"{Body} comment \"{CommentText}\"";

    private static string ComputeHash(string body, string? comment)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(comment is null ? body : body + "\0" + comment), digest);
        return Convert.ToHexStringLower(digest[..8]);
    }
}
