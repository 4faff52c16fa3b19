namespace Calico.Nftables;

/// <summary>What one reconciliation changes: the transaction, and counts of objects by what happens to them.</summary>
public sealed record NftPlan(NftTransaction Transaction)
{
    public bool TableCreated { get; init; }
    public int ChainsAdded { get; init; }
    public int ChainsRewritten { get; init; }
    public int ChainsRemoved { get; init; }
    public int SetsAdded { get; init; }
    public int SetsRemoved { get; init; }
    public int ElementsAdded { get; init; }
    public int ElementsRemoved { get; init; }

    public bool IsEmpty => Transaction.IsEmpty;

    /// <summary>Kernel objects that differed from what was desired (a rewritten chain counts once, each element once).</summary>
    public int ObjectsChanged => (TableCreated ? 1 : 0) + ChainsAdded + ChainsRewritten + ChainsRemoved + SetsAdded + SetsRemoved +
                                 ElementsAdded + ElementsRemoved;

    public override string ToString() => IsEmpty
        ? "nothing to change"
        : string.Join(", ", new[]
        {
            TableCreated ? "table created" : null,
            Count(ChainsAdded, "chain", "added"), Count(ChainsRewritten, "chain", "rewritten"), Count(ChainsRemoved, "chain", "removed"),
            Count(SetsAdded, "set", "added"), Count(SetsRemoved, "set", "removed"),
            Count(ElementsAdded, "element", "added"), Count(ElementsRemoved, "element", "removed"),
        }.OfType<string>()) + $" ({Transaction.Count} operations)";

    private static string? Count(int count, string noun, string verb) => count == 0 ? null : $"{count} {noun}{(count == 1 ? "" : "s")} {verb}";
}
