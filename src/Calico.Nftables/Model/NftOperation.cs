using System.Text;

namespace Calico.Nftables;

/// <summary>
/// One command of a transaction, typed, rendered to nft's syntax in <see cref="Render"/>. These are the only writes
/// this project makes; the fake applies the same objects with the kernel's semantics.
/// </summary>
public abstract record NftOperation(NftTableId Table)
{
    /// <summary>A short name for metrics and logs: "add-chain", "delete-element", ...</summary>
    public abstract string Kind { get; }

    public sealed override string ToString() => Render(new StringBuilder()).ToString();

    internal abstract StringBuilder Render(StringBuilder text);

    private protected StringBuilder Command(StringBuilder text, string verb) => text.Append(verb).Append(' ').Append(Table);
}

/// <summary><c>add table</c>: creates the table, or does nothing if it exists.</summary>
public sealed record NftAddTable(NftTableId Table) : NftOperation(Table)
{
    public override string Kind => "add-table";

    internal override StringBuilder Render(StringBuilder text) => Command(text, "add table");
}

/// <summary><c>delete table</c>: the table and everything in it.</summary>
public sealed record NftDeleteTable(NftTableId Table) : NftOperation(Table)
{
    public override string Kind => "delete-table";

    internal override StringBuilder Render(StringBuilder text) => Command(text, "delete table");
}

/// <summary><c>add chain</c>: creates an empty chain, or (for an existing base chain) updates its policy.</summary>
public sealed record NftAddChain(NftTableId Table, string Chain, NftBaseChain? Base) : NftOperation(Table)
{
    public override string Kind => Base is null ? "add-chain" : "add-base-chain";

    internal override StringBuilder Render(StringBuilder text)
    {
        Command(text, "add chain").Append(' ').Append(Chain);
        return Base is null ? text : Base.Render(text.Append(' '));
    }
}

/// <summary><c>flush chain</c>: removes every rule of the chain.</summary>
public sealed record NftFlushChain(NftTableId Table, string Chain) : NftOperation(Table)
{
    public override string Kind => "flush-chain";

    internal override StringBuilder Render(StringBuilder text) => Command(text, "flush chain").Append(' ').Append(Chain);
}

/// <summary><c>delete chain</c>: the chain must be empty and nothing may refer to it.</summary>
public sealed record NftDeleteChain(NftTableId Table, string Chain) : NftOperation(Table)
{
    public override string Kind => "delete-chain";

    internal override StringBuilder Render(StringBuilder text) => Command(text, "delete chain").Append(' ').Append(Chain);
}

/// <summary><c>add rule</c>: appends the rule to the chain.</summary>
public sealed record NftAddRule(NftTableId Table, string Chain, NftRule Rule) : NftOperation(Table)
{
    public override string Kind => "add-rule";

    internal override StringBuilder Render(StringBuilder text) => Rule.Render(Command(text, "add rule").Append(' ').Append(Chain).Append(' '));
}

/// <summary><c>add set</c> / <c>add map</c>: creates it empty, or does nothing if it exists with that declaration.</summary>
public sealed record NftAddSet(NftTableId Table, string Set, NftSetType Type) : NftOperation(Table)
{
    public override string Kind => Type.IsMap ? "add-map" : "add-set";

    internal override StringBuilder Render(StringBuilder text) =>
        Type.Render(Command(text, Type.IsMap ? "add map" : "add set").Append(' ').Append(Set).Append(' '));
}

/// <summary><c>delete set</c>: no rule may still refer to it.</summary>
public sealed record NftDeleteSet(NftTableId Table, string Set, bool IsMap) : NftOperation(Table)
{
    public override string Kind => IsMap ? "delete-map" : "delete-set";

    internal override StringBuilder Render(StringBuilder text) => Command(text, IsMap ? "delete map" : "delete set").Append(' ').Append(Set);
}

/// <summary><c>add element</c>: adds elements; an existing key with the same value is not an error, another value is.</summary>
public sealed record NftAddElements(NftTableId Table, string Set, IReadOnlyList<NftElement> Elements) : NftOperation(Table)
{
    public override string Kind => "add-element";

    /// <summary>The set's declaration when known: lets the kernel accessor write elements without libnftables.</summary>
    public NftSetType? SetType { get; init; }

    internal override StringBuilder Render(StringBuilder text) => RenderElements(Command(text, "add element").Append(' ').Append(Set), Elements);

    internal static StringBuilder RenderElements(StringBuilder text, IEnumerable<NftElement> elements)
    {
        text.Append(" { ");
        var first = true;
        foreach (var element in elements)
        {
            if (!first) text.Append(", ");
            first = false;
            element.Key.Render(text);
            if (element.Value is not null) element.Value.Render(text.Append(" : "));
        }
        return text.Append(" }");
    }
}

/// <summary><c>delete element</c>: by key; every key must be present.</summary>
public sealed record NftDeleteElements(NftTableId Table, string Set, IReadOnlyList<NftValue> Keys) : NftOperation(Table)
{
    public override string Kind => "delete-element";

    /// <summary>The set's declaration when known (see <see cref="NftAddElements.SetType"/>).</summary>
    public NftSetType? SetType { get; init; }

    internal override StringBuilder Render(StringBuilder text) =>
        NftAddElements.RenderElements(Command(text, "delete element").Append(' ').Append(Set), Keys.Select(k => new NftElement(k)));
}

/// <summary>
/// Operations that the kernel commits as one: all of them, or (on any error) none. Rendered as one nft script.
/// </summary>
public sealed class NftTransaction
{
    private readonly List<NftOperation> _operations = [];

    public NftTransaction()
    {
    }

    public NftTransaction(IEnumerable<NftOperation> operations) => _operations.AddRange(operations);

    public IReadOnlyList<NftOperation> Operations => _operations;

    public int Count => _operations.Count;

    public bool IsEmpty => _operations.Count == 0;

    public NftTransaction Add(NftOperation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        _operations.Add(operation);
        return this;
    }

    /// <summary>The nft script: one command per line, in order.</summary>
    public string Render()
    {
        var text = new StringBuilder();
        foreach (var operation in _operations) operation.Render(text).Append('\n');
        return text.ToString();
    }

    /// <summary>How many operations of each kind, for metrics and logs.</summary>
    public IReadOnlyDictionary<string, int> CountByKind() =>
        _operations.GroupBy(o => o.Kind).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    public override string ToString() => Render();
}
