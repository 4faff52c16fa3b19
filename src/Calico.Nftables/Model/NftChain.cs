using System.Text;

namespace Calico.Nftables;

/// <summary>
/// What makes a chain a base chain: the hook it is attached to, its type and priority, and its policy. The kernel can
/// change the policy of a base chain in place, nothing else.
/// </summary>
public sealed record NftBaseChain(NftChainType Type, NftHook Hook, int Priority, NftPolicy Policy = NftPolicy.Accept)
{
    /// <summary>Read back with settings this project never makes (another hook, a device): never equal to a desired one.</summary>
    public bool IsForeign { get; private init; }

    internal static NftBaseChain Foreign { get; } = new(NftChainType.Filter, NftHook.Input, 0) { IsForeign = true };

    /// <summary>Whether <paramref name="other"/> can become this by an update (only the policy differs).</summary>
    public bool IsUpdatableFrom(NftBaseChain other) =>
        !IsForeign && !other.IsForeign && Type == other.Type && Hook == other.Hook && Priority == other.Priority;

    internal StringBuilder Render(StringBuilder text) => text
        .Append("{ type ").Append(NftSyntax.Keyword(Type))
        .Append(" hook ").Append(NftSyntax.Keyword(Hook))
        .Append(" priority ").Append(Priority)
        .Append("; policy ").Append(NftSyntax.Keyword(Policy)).Append("; }");
}

/// <summary>A chain of our table and its rules, in order. Keep chains few and their rules static; data goes in sets.</summary>
public sealed record NftChain
{
    public NftChain(string name, IEnumerable<NftRule> rules, NftBaseChain? baseChain = null)
        : this(rules.ToNftList(), NftSyntax.Identifier(name, "chain name"), baseChain)
    {
        if (baseChain is { IsForeign: true }) throw new ArgumentException($"chain {name}: a foreign base chain cannot be desired", nameof(baseChain));
        if (Rules.Any(r => r is null || r.IsObserved)) throw new ArgumentException($"chain {name}: rules must be built, not read back", nameof(rules));
    }

    // Unchecked, for chains read back; the argument order keeps it apart from the public constructor's overloads.
    private NftChain(NftList<NftRule> rules, string name, NftBaseChain? baseChain)
    {
        Name = name;
        Rules = rules;
        Base = baseChain;
        RuleHashes = Rules.Select(r => r.Hash).ToNftList();
    }

    public NftChain(string name, NftBaseChain? baseChain = null, params NftRule[] rules) : this(name, rules, baseChain)
    {
    }

    public string Name { get; }

    public NftBaseChain? Base { get; }

    public NftList<NftRule> Rules { get; }

    /// <summary>The rules' hashes in order: two chains with the same hashes (and base) hold the same rules.</summary>
    public NftList<string?> RuleHashes { get; }

    public bool IsBase => Base is not null;

    /// <summary>A chain as read back: its name is taken as the kernel has it, its rules are known by hash.</summary>
    internal static NftChain Observed(string name, IEnumerable<NftRule> rules, NftBaseChain? baseChain) =>
        new(rules.ToNftList(), name, baseChain);

    /// <summary>Whether the kernel chain <paramref name="other"/> already holds what this chain describes.</summary>
    public bool HasSameContent(NftChain other) =>
        ReferenceEquals(this, other) ||
        (Equals(Base, other.Base) && RuleHashes.Equals(other.RuleHashes));
}
