using System.Collections.Immutable;

namespace Calico.Nftables;

/// <summary>
/// One table as a whole: what a host's nftables dataplane must hold (desired), or what the kernel holds (read back,
/// where rules are known by their hashes only). Immutable; changing one chain or element shares everything else, so
/// a reconciler comparing two versions skips unchanged objects by reference.
/// </summary>
public sealed record NftTable
{
    public NftTable(NftTableId id, IEnumerable<NftChain>? chains = null, IEnumerable<NftSet>? sets = null)
    {
        Id = id;
        Chains = ToDictionary(chains ?? [], c => c.Name, "chain");
        Sets = ToDictionary(sets ?? [], s => s.Name, "set");
    }

    // A table made by With*/Without* remembers the one it was made from and the name it touched, so that comparing
    // it with an ancestor (or descendant) looks at the touched names only. The chain is cut at MaxLineage, so old
    // versions are not kept alive for ever; beyond it, comparing falls back to a walk over all names.
    private const int MaxLineage = 256;
    private readonly NftTable? _parent;
    private readonly string? _touchedChain;
    private readonly string? _touchedSet;
    private readonly int _lineage;

    private NftTable(NftTable parent, ImmutableSortedDictionary<string, NftChain> chains, ImmutableSortedDictionary<string, NftSet> sets,
        string? touchedChain, string? touchedSet)
    {
        Id = parent.Id;
        Chains = chains;
        Sets = sets;
        if (parent._lineage < MaxLineage)
        {
            _parent = parent;
            _lineage = parent._lineage + 1;
            _touchedChain = touchedChain;
            _touchedSet = touchedSet;
        }
    }

    public NftTableId Id { get; }

    /// <summary>Chains by name, sorted by name (so scripts render the same every time).</summary>
    public ImmutableSortedDictionary<string, NftChain> Chains { get; }

    /// <summary>Sets and maps by name (they share one namespace in nftables).</summary>
    public ImmutableSortedDictionary<string, NftSet> Sets { get; }

    public NftTable WithChain(NftChain chain) => new(this, Chains.SetItem(chain.Name, chain), Sets, chain.Name, null);

    public NftTable WithoutChain(string name) => new(this, Chains.Remove(name), Sets, name, null);

    public NftTable WithSet(NftSet set) => new(this, Chains, Sets.SetItem(set.Name, set), null, set.Name);

    public NftTable WithoutSet(string name) => new(this, Chains, Sets.Remove(name), null, name);

    public NftTable WithElement(string set, NftElement element) => WithSet(GetSet(set).WithElement(element));

    public NftTable WithoutElement(string set, NftValue key) => WithSet(GetSet(set).WithoutElement(key));

    /// <summary>
    /// What nft would refuse about <paramref name="chain"/>'s rules here: a set or chain they name that does not exist,
    /// a map used as a set or the reverse, a key of the wrong type, a jump to a base chain.
    /// </summary>
    public IEnumerable<string> ReferenceErrors(NftChain chain)
    {
        foreach (var rule in chain.Rules)
        {
            foreach (var statement in rule.Statements)
            {
                var error = statement switch
                {
                    NftSetMatch m => SetError(m.Set, m.KeyType, NftDataType.Foreign),
                    NftVerdictMapStatement v => SetError(v.Map, v.KeyType, NftDataType.Verdict),
                    NftVerdictStatement { Verdict.Chain: { } target } => ChainError(target),
                    _ => null,
                };
                if (error is not null) yield return $"chain {chain.Name}, rule '{rule.Body}': {error}";
            }
        }
    }

    /// <summary>What nft would refuse about <paramref name="set"/>'s elements here: verdicts naming missing or base chains.</summary>
    public IEnumerable<string> ReferenceErrors(NftSet set)
    {
        foreach (var element in set.Elements)
        {
            if (element.Value is NftVerdict { Chain: { } target } && ChainError(target) is { } error)
                yield return $"map {set.Name}, element {element}: {error}";
        }
    }

    /// <summary>
    /// The names of chains and sets that may differ between this table and <paramref name="ancestor"/>, when this
    /// table was derived from it by With*/Without* calls; false when it was not (or too long ago).
    /// </summary>
    internal bool TryGetChangesSince(NftTable ancestor, out HashSet<string> chains, out HashSet<string> sets)
    {
        chains = new HashSet<string>(StringComparer.Ordinal);
        sets = new HashSet<string>(StringComparer.Ordinal);
        for (var table = this; table is not null; table = table._parent)
        {
            if (ReferenceEquals(table, ancestor)) return true;
            if (table._touchedChain is { } chain) chains.Add(chain);
            if (table._touchedSet is { } set) sets.Add(set);
        }
        return false;
    }

    public bool Equals(NftTable? other) =>
        other is not null && Id == other.Id &&
        Chains.Count == other.Chains.Count && Chains.All(kv => other.Chains.TryGetValue(kv.Key, out var c) && kv.Value.Equals(c)) &&
        Sets.Count == other.Sets.Count && Sets.All(kv => other.Sets.TryGetValue(kv.Key, out var s) && kv.Value.Equals(s));

    public override int GetHashCode() => HashCode.Combine(Id, Chains.Count, Sets.Count);

    public override string ToString() => $"table {Id} ({Chains.Count} chains, {Sets.Count} sets)";

    private NftSet GetSet(string name) =>
        Sets.TryGetValue(name, out var set) ? set : throw new KeyNotFoundException($"table {Id} has no set {name}");

    private string? SetError(string name, NftDataType key, NftDataType value)
    {
        if (!Sets.TryGetValue(name, out var set)) return $"no set or map named {name}";
        if (value == NftDataType.Verdict && set.Type.Value != NftDataType.Verdict) return $"{name} is not a verdict map";
        if (value != NftDataType.Verdict && set.IsMap) return $"{name} is a map, not a set";
        return set.Type.Key == key ? null : $"{name} holds {set.Type.Key}, the rule looks up {key}";
    }

    private string? ChainError(string target)
    {
        if (!Chains.TryGetValue(target, out var chain)) return $"no chain named {target}";
        return chain.IsBase ? $"{target} is a base chain (nft cannot jump to one)" : null;
    }

    private static ImmutableSortedDictionary<string, T> ToDictionary<T>(IEnumerable<T> items, Func<T, string> name, string what)
    {
        var builder = ImmutableSortedDictionary.CreateBuilder<string, T>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            ArgumentNullException.ThrowIfNull(item);
            if (!builder.TryAdd(name(item), item)) throw new ArgumentException($"two {what}s named {name(item)}");
        }
        return builder.ToImmutable();
    }
}
