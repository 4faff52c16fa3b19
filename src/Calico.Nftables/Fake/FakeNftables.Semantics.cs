using Calico.Netlink;

namespace Calico.Nftables;

public sealed partial class FakeNftables
{
    /// <summary>One operation with the kernel's rules; throws what nft would report.</summary>
    private static void Execute(Dictionary<NftTableId, FakeTable> tables, NftOperation operation)
    {
        if (operation is NftAddTable)
        {
            tables.TryAdd(operation.Table, new FakeTable());
            return;
        }
        if (!tables.TryGetValue(operation.Table, out var table)) throw Error(operation, Errno.ENOENT);
        switch (operation)
        {
            case NftDeleteTable:
                tables.Remove(operation.Table);
                break;
            case NftAddChain add:
                AddChain(table, add);
                break;
            case NftFlushChain flush:
                Chain(table, flush.Chain, operation).Rules.Clear();
                break;
            case NftDeleteChain delete:
                var chain = Chain(table, delete.Chain, operation);
                if (chain.Rules.Count > 0 || IsChainReferenced(table, delete.Chain)) throw Error(operation, Errno.EBUSY);
                table.Chains.Remove(delete.Chain);
                break;
            case NftAddRule add:
                AddRule(table, add);
                break;
            case NftAddSet add:
                if (table.Sets.TryGetValue(add.Set, out var existing))
                {
                    if (!existing.Type.Equals(add.Type)) throw Error(operation, Errno.EEXIST);
                }
                else
                {
                    table.Sets[add.Set] = new FakeSet(add.Type, []);
                }
                break;
            case NftDeleteSet delete:
                Set(table, delete.Set, operation);
                if (table.Chains.Values.Any(c => c.Rules.Any(r => r.SetReferences.Contains(delete.Set)))) throw Error(operation, Errno.EBUSY);
                table.Sets.Remove(delete.Set);
                break;
            case NftAddElements add:
                AddElements(table, add);
                break;
            case NftDeleteElements delete:
                var set = Set(table, delete.Set, operation);
                foreach (var key in delete.Keys)
                {
                    if (!set.Elements.Remove(key)) throw Error(operation, Errno.ENOENT, "element does not exist");
                }
                break;
            default:
                throw new NotSupportedException($"the fake does not know {operation.GetType().Name}");
        }
    }

    private static void AddChain(FakeTable table, NftAddChain add)
    {
        if (!table.Chains.TryGetValue(add.Chain, out var chain))
        {
            table.Chains[add.Chain] = new FakeChain(add.Base, []);
            return;
        }
        // `add chain` without a hook on an existing chain of any kind changes nothing (as the kernel does).
        if (add.Base is null) return;
        if (chain.Base is null || !add.Base.IsUpdatableFrom(chain.Base)) throw Error(add, Errno.EOPNOTSUPP);
        chain.Base = add.Base;
    }

    private static void AddRule(FakeTable table, NftAddRule add)
    {
        var chain = Chain(table, add.Chain, add);
        foreach (var statement in add.Rule.Statements)
        {
            if (statement is INftSetLookup lookup)
            {
                // Statements added for the policy compiler say what they expect the set or map to be.
                var looked = Set(table, lookup.Set, add);
                if (looked.Type.Key != lookup.KeyType || looked.Type.Value != lookup.ValueType) throw Error(add, Errno.EINVAL, "datatype mismatch");
            }
            else if (statement.SetReference is { } setName)
            {
                var set = Set(table, setName, add);
                var (keyType, isVerdictMap) = statement switch
                {
                    NftSetMatch m => (m.KeyType, false),
                    NftVerdictMapStatement v => (v.KeyType, true),
                    _ => throw new NotSupportedException(statement.GetType().Name),
                };
                if (set.Type.Key != keyType || isVerdictMap != (set.Type.Value == NftDataType.Verdict) || (!isVerdictMap && set.Type.IsMap))
                    throw Error(add, Errno.EINVAL, "datatype mismatch");
            }
            if (statement.ChainReference is { } target)
            {
                var targetChain = Chain(table, target, add);
                if (targetChain.Base is not null) throw Error(add, Errno.EOPNOTSUPP);
            }
        }
        chain.Rules.Add(add.Rule);
    }

    private static void AddElements(FakeTable table, NftAddElements add)
    {
        var set = Set(table, add.Set, add);
        foreach (var element in add.Elements)
        {
            try
            {
                NftSet.Check(add.Set, set.Type, element);
            }
            catch (ArgumentException e)
            {
                throw Error(add, Errno.EINVAL, e.Message);
            }
            if (element.Value is NftVerdict { Chain: { } target })
            {
                var targetChain = Chain(table, target, add);
                if (targetChain.Base is not null) throw Error(add, Errno.EOPNOTSUPP);
            }
            if (set.Elements.TryGetValue(element.Key, out var current))
            {
                if (!Equals(current, element.Value)) throw Error(add, Errno.EEXIST);
                continue;
            }
            if (set.Type.Interval && element.Key is NftConcatenation concatenation)
            {
                if (set.Elements.Keys.OfType<NftConcatenation>().Any(concatenation.Overlaps))
                    throw Error(add, Errno.EEXIST, "interval overlaps with an existing one");
            }
            else if (set.Type.Interval)
            {
                var (first, last) = Interval(element.Key);
                if (set.Elements.Keys.Any(k => Interval(k) is var other && other.First <= last && first <= other.Last))
                    throw Error(add, Errno.EEXIST, "interval overlaps with an existing one");
            }
            set.Elements[element.Key] = element.Value;
        }
    }

    private static bool IsChainReferenced(FakeTable table, string chain) =>
        table.Chains.Values.Any(c => c.Rules.Any(r => r.ChainReferences.Contains(chain))) ||
        table.Sets.Values.Any(s => s.Elements.Values.Any(v => v is NftVerdict { Chain: { } target } && target == chain));

    private static FakeChain Chain(FakeTable table, string name, NftOperation operation) =>
        table.Chains.TryGetValue(name, out var chain) ? chain : throw Error(operation, Errno.ENOENT);

    private static FakeSet Set(FakeTable table, string name, NftOperation operation) =>
        table.Sets.TryGetValue(name, out var set) ? set : throw Error(operation, Errno.ENOENT);

    /// <summary>An error worded as nft words it, so that the reconciler's handling is the same as with the kernel.</summary>
    private static NftablesException Error(NftOperation? operation, int errno, string? detail = null)
    {
        var command = operation?.ToString() ?? "(empty transaction)";
        var text = detail is null or "injected failure"
            ? $"Error: Could not process rule: {Errno.Describe(errno)}\n{command}\n"
            : $"Error: {detail}\n{command}\n";
        return new NftablesException($"apply to table {operation?.Table.ToString() ?? "?"} (fake)", errno, text);
    }
}
