using System.Collections.Immutable;

namespace Calico.Dataplane.Linux.Nftables;

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

    private NftTable(NftTableId id, ImmutableSortedDictionary<string, NftChain> chains, ImmutableSortedDictionary<string, NftSet> sets)
    {
        Id = id;
        Chains = chains;
        Sets = sets;
    }

    public NftTableId Id { get; }

    /// <summary>Chains by name, sorted by name (so scripts render the same every time).</summary>
    public ImmutableSortedDictionary<string, NftChain> Chains { get; }

    /// <summary>Sets and maps by name (they share one namespace in nftables).</summary>
    public ImmutableSortedDictionary<string, NftSet> Sets { get; }

    public NftTable WithChain(NftChain chain) => new(Id, Chains.SetItem(chain.Name, chain), Sets);

    public NftTable WithoutChain(string name) => new(Id, Chains.Remove(name), Sets);

    public NftTable WithSet(NftSet set) => new(Id, Chains, Sets.SetItem(set.Name, set));

    public NftTable WithoutSet(string name) => new(Id, Chains, Sets.Remove(name));

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
