using Calico.Netlink.Namespaces;

namespace Calico.Nftables;

/// <summary>
/// <see cref="INftables"/> on the kernel: transactions rendered to one nft script and run through libnftables in
/// process; tables read back as nft's JSON (<c>nft -j list table</c>); the generation read over netlink.
/// Transactions that only add or remove elements of plain (non-interval) sets and maps are written as an nfnetlink
/// batch of our own instead (<see cref="UseNativeElements"/>): same atomicity, cost independent of the table's size.
/// The context's change notifications tell which transactions of others touched which table.
/// </summary>
public sealed class NftablesKernel : INftables, IDisposable
{
    private readonly NftablesContext _context;
    private readonly bool _ownsContext;

    public NftablesKernel(NftablesContext context, bool ownsContext = false, bool useNativeElements = true)
    {
        _context = context;
        _ownsContext = ownsContext;
        UseNativeElements = useNativeElements;
    }

    /// <summary>
    /// A kernel accessor with a context of its own, in <paramref name="networkNamespace"/> or the current namespace;
    /// <paramref name="watchChanges"/> listens to change notifications (<see cref="ChangesSince"/>), off to compare.
    /// </summary>
    public static NftablesKernel Open(NetworkNamespace? networkNamespace = null, bool useNativeElements = true, bool watchChanges = true) =>
        new(NftablesContext.Open(networkNamespace, watchChanges), ownsContext: true, useNativeElements);

    /// <summary>Whether element-only transactions bypass libnftables (on by default; off to compare).</summary>
    public bool UseNativeElements { get; }

    public NftablesContext Context => _context;

    public void Apply(NftTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (transaction.IsEmpty) return;
        var description = $"apply {transaction.Count} operation(s) to table {transaction.Operations[0].Table} in {_context.Where}";
        if (UseNativeElements && _context.TryCommitElements(transaction, description)) return;
        _context.Run(transaction.Render(), description: description);
    }

    public NftTable? ReadTable(NftTableId table)
    {
        string json;
        try
        {
            json = _context.Run($"list table {table}", NftOutputFlags.Json, $"read table {table} in {_context.Where}");
        }
        catch (NftablesException e) when (e.IsNotFound)
        {
            return null;
        }
        return NftJsonReader.ReadTable(json, table);
    }

    public uint GetGeneration() => _context.GetGeneration();

    public NftChanges? ChangesSince(NftTableId table, uint after, uint upTo) => _context.Changes(table, after, upTo);

    public void Dispose()
    {
        if (_ownsContext) _context.Dispose();
    }
}
