namespace Calico.Nftables;

/// <summary>
/// The difference between a desired table and the table the kernel holds, as one transaction in an order the kernel
/// accepts at every step (references must exist when made, and be gone before what they name is deleted):
/// <list type="number">
/// <item>create the table if missing;</item>
/// <item>unlink: flush the chains to rewrite or remove, then delete sets and chains whose declaration changed;</item>
/// <item>declare new sets and maps, then new chains (and base-chain policy updates);</item>
/// <item>add elements (before the rules that use them), then the rules of new and rewritten chains;</item>
/// <item>removals last: elements, then removed maps and sets, then removed chains.</item>
/// </list>
/// Unchanged objects cost nothing: they are skipped by reference (desired tables share unchanged parts) or by
/// comparing rule hashes and elements, so one endpoint's change is a transaction of a few operations whatever the
/// table's size. The kernel applies the whole transaction atomically, so packets never see an intermediate state.
/// </summary>
public static class NftDiff
{
    public static NftPlan Plan(NftTable desired, NftTable? kernel)
    {
        ArgumentNullException.ThrowIfNull(desired);
        if (kernel is not null && kernel.Id != desired.Id) throw new ArgumentException($"cannot compare table {desired.Id} with {kernel.Id}");
        var id = desired.Id;
        var current = kernel ?? new NftTable(id);
        var tx = new NftTransaction();
        if (kernel is null) tx.Add(new NftAddTable(id));

        var (chainNames, setNames) = Candidates(desired, current);

        // Sets: new, re-declared (delete + add), changed elements, removed.
        var setsNew = new List<NftSet>();
        var setsRecreated = new List<NftSet>();
        // Keys: the only keys that may differ, when the desired elements were derived from the kernel's (else null).
        var setsChanged = new List<(NftSet Desired, NftSet Kernel, List<NftValue>? Keys)>();
        var setsRemoved = new List<NftSet>();
        foreach (var name in setNames)
        {
            desired.Sets.TryGetValue(name, out var set);
            current.Sets.TryGetValue(name, out var existing);
            if (set is null) { if (existing is not null) setsRemoved.Add(existing); }
            else if (existing is null) setsNew.Add(set);
            else if (ReferenceEquals(set, existing)) continue;
            else if (!set.Type.Equals(existing.Type)) setsRecreated.Add(set);
            else if (set.Elements.TryGetChangedKeysSince(existing.Elements, out var keys))
            {
                if (keys.Any(k => Differs(set.Elements, existing.Elements, k))) setsChanged.Add((set, existing, keys));
            }
            else if (!set.Elements.Equals(existing.Elements)) setsChanged.Add((set, existing, null));
        }
        var recreatedSetNames = setsRecreated.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);

        // Chains: new, re-created (a hook cannot change in place), rules rewritten, base policy updated, removed.
        var chainsNew = new List<NftChain>();
        var chainsRecreated = new List<NftChain>();
        var chainsRewritten = new List<NftChain>();
        var policyUpdates = new List<NftChain>();
        var chainsRemoved = new List<NftChain>();
        foreach (var name in chainNames)
        {
            desired.Chains.TryGetValue(name, out var chain);
            current.Chains.TryGetValue(name, out var existing);
            if (chain is null) { if (existing is not null) chainsRemoved.Add(existing); continue; }
            if (existing is null) { chainsNew.Add(chain); continue; }
            if (ReferenceEquals(chain, existing)) continue;
            if (!Equals(chain.Base, existing.Base))
            {
                if (chain.Base is null || existing.Base is null || !chain.Base.IsUpdatableFrom(existing.Base)) { chainsRecreated.Add(chain); continue; }
                policyUpdates.Add(chain);
            }
            if (!chain.RuleHashes.Equals(existing.RuleHashes)) chainsRewritten.Add(chain);
        }
        // A chain whose rules use a re-declared set is flushed before the set goes, so its rules are added again
        // (rare: only then is every chain looked at).
        if (recreatedSetNames.Count > 0)
        {
            var touched = chainsNew.Concat(chainsRecreated).Concat(chainsRewritten).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            chainsRewritten.AddRange(desired.Chains.Values.Where(c => !touched.Contains(c.Name) &&
                c.Rules.Any(r => r.SetReferences.Any(recreatedSetNames.Contains))));
        }

        foreach (var chain in chainsNew.Concat(chainsRecreated).Concat(chainsRewritten)) ThrowIfInvalid(desired.ReferenceErrors(chain));
        foreach (var set in setsNew.Concat(setsRecreated).Concat(setsChanged.Select(s => Touched(s.Desired, s.Keys)))) ThrowIfInvalid(desired.ReferenceErrors(set));

        // 2. Unlink.
        foreach (var chain in chainsRewritten.Concat(chainsRecreated).Concat(chainsRemoved)) tx.Add(new NftFlushChain(id, chain.Name));
        var recreatedChainNames = chainsRecreated.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var elementsRemoved = 0;
        var elementsAdded = 0;
        var deferredRemovals = new List<NftDeleteElements>();
        var additions = new List<NftAddElements>();
        foreach (var (set, existing, keys) in setsChanged)
        {
            var removed = new List<NftValue>();
            var replaced = new List<NftValue>();
            var added = new List<NftElement>();
            foreach (var element in keys is null ? existing.Elements : Present(existing.Elements, keys))
            {
                if (!set.Elements.TryGetValue(element.Key, out var value)) removed.Add(element.Key);
                else if (!Equals(value, element.Value)) replaced.Add(element.Key);
            }
            foreach (var element in keys is null ? set.Elements : Present(set.Elements, keys))
            {
                if (!existing.Elements.TryGetValue(element.Key, out var value) || !Equals(value, element.Value)) added.Add(element);
            }
            // A map element pointing at a chain that is about to be re-created must go before the chain does.
            var early = replaced.Concat(removed.Where(k => existing.Elements.TryGetValue(k, out var v) &&
                v is NftVerdict { Chain: { } target } && recreatedChainNames.Contains(target))).ToList();
            if (early.Count > 0) tx.Add(new NftDeleteElements(id, set.Name, early) { SetType = set.Type });
            var late = removed.Except(early).ToList();
            if (late.Count > 0) deferredRemovals.Add(new NftDeleteElements(id, set.Name, late) { SetType = set.Type });
            if (added.Count > 0) additions.Add(new NftAddElements(id, set.Name, added) { SetType = set.Type });
            // A map element whose value changes counts once, as added.
            elementsRemoved += removed.Count;
            elementsAdded += added.Count;
        }
        foreach (var set in setsRecreated) tx.Add(new NftDeleteSet(id, set.Name, current.Sets[set.Name].IsMap));
        foreach (var chain in chainsRecreated) tx.Add(new NftDeleteChain(id, chain.Name));

        // 3. Declare.
        foreach (var set in setsNew.Concat(setsRecreated)) tx.Add(new NftAddSet(id, set.Name, set.Type));
        foreach (var chain in chainsNew.Concat(chainsRecreated).Concat(policyUpdates)) tx.Add(new NftAddChain(id, chain.Name, chain.Base));

        // 4. Data, then the rules that use it.
        foreach (var set in setsNew.Concat(setsRecreated).Where(s => s.Elements.Count > 0))
        {
            tx.Add(new NftAddElements(id, set.Name, [.. set.Elements]) { SetType = set.Type });
            elementsAdded += set.Elements.Count;
        }
        foreach (var addition in additions) tx.Add(addition);
        foreach (var chain in chainsNew.Concat(chainsRecreated).Concat(chainsRewritten))
        {
            foreach (var rule in chain.Rules) tx.Add(new NftAddRule(id, chain.Name, rule));
        }

        // 5. Removals.
        foreach (var removal in deferredRemovals) tx.Add(removal);
        foreach (var set in setsRemoved) tx.Add(new NftDeleteSet(id, set.Name, set.IsMap));
        foreach (var chain in chainsRemoved) tx.Add(new NftDeleteChain(id, chain.Name));

        return new NftPlan(tx)
        {
            TableCreated = kernel is null,
            ChainsAdded = chainsNew.Count,
            ChainsRewritten = chainsRewritten.Count + chainsRecreated.Count + policyUpdates.Count(c => !chainsRewritten.Contains(c)),
            ChainsRemoved = chainsRemoved.Count,
            SetsAdded = setsNew.Count + setsRecreated.Count,
            SetsRemoved = setsRemoved.Count,
            ElementsAdded = elementsAdded,
            ElementsRemoved = elementsRemoved,
        };
    }

    /// <summary>
    /// The names worth comparing, sorted (scripts render in name order): only those touched in between when one table
    /// was derived from the other (the usual case: the desired table is the last one applied plus a change), so that
    /// planning one endpoint's change costs the same at any table size; otherwise every name of either table.
    /// </summary>
    private static (List<string> Chains, List<string> Sets) Candidates(NftTable desired, NftTable current)
    {
        if (desired.TryGetChangesSince(current, out var chains, out var sets) || current.TryGetChangesSince(desired, out chains, out sets))
            return ([.. chains.Order(StringComparer.Ordinal)], [.. sets.Order(StringComparer.Ordinal)]);
        return (Merge(desired.Chains.Keys, current.Chains.Keys), Merge(desired.Sets.Keys, current.Sets.Keys));
    }

    /// <summary>The union of two ordinally sorted name sequences, sorted, in one pass.</summary>
    private static List<string> Merge(IEnumerable<string> left, IEnumerable<string> right)
    {
        var result = new List<string>();
        using var l = left.GetEnumerator();
        using var r = right.GetEnumerator();
        bool hasLeft = l.MoveNext(), hasRight = r.MoveNext();
        while (hasLeft || hasRight)
        {
            var order = !hasLeft ? 1 : !hasRight ? -1 : string.CompareOrdinal(l.Current, r.Current);
            result.Add(order <= 0 ? l.Current : r.Current);
            if (order <= 0) hasLeft = l.MoveNext();
            if (order >= 0) hasRight = r.MoveNext();
        }
        return result;
    }

    // Element-level lineage (NftElements.TryGetChangedKeysSince): compare only the keys a change touched.
    private static bool Differs(NftElements desired, NftElements kernel, NftValue key)
    {
        var inDesired = desired.TryGetValue(key, out var value);
        var inKernel = kernel.TryGetValue(key, out var existing);
        return inDesired != inKernel || !Equals(value, existing);
    }

    private static IEnumerable<NftElement> Present(NftElements elements, List<NftValue> keys)
    {
        foreach (var key in keys)
        {
            if (elements.TryGetValue(key, out var value)) yield return new NftElement(key, value);
        }
    }

    /// <summary>The set with only the touched elements, for reference checks that need not look at the rest.</summary>
    private static NftSet Touched(NftSet set, List<NftValue>? keys) =>
        keys is null ? set : NftSet.Observed(set.Name, set.Type, NftElements.Of(Present(set.Elements, keys)));

    private static void ThrowIfInvalid(IEnumerable<string> errors)
    {
        var list = errors.ToList();
        if (list.Count > 0) throw new ArgumentException("the desired table is inconsistent: " + string.Join("; ", list));
    }
}
