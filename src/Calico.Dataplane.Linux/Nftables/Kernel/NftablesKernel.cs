using Calico.Dataplane.Linux.Namespaces;

namespace Calico.Dataplane.Linux.Nftables;

/// <summary>
/// <see cref="INftables"/> on the kernel: transactions rendered to one nft script and run through libnftables in
/// process; tables read back as nft's JSON (<c>nft -j list table</c>); the generation read over netlink.
/// </summary>
public sealed class NftablesKernel : INftables, IDisposable
{
    private readonly NftablesContext _context;
    private readonly bool _ownsContext;

    public NftablesKernel(NftablesContext context, bool ownsContext = false)
    {
        _context = context;
        _ownsContext = ownsContext;
    }

    /// <summary>A kernel accessor with a context of its own, in <paramref name="networkNamespace"/> or the current namespace.</summary>
    public static NftablesKernel Open(NetworkNamespace? networkNamespace = null) => new(NftablesContext.Open(networkNamespace), ownsContext: true);

    public NftablesContext Context => _context;

    public void Apply(NftTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (transaction.IsEmpty) return;
        var table = transaction.Operations[0].Table;
        _context.Run(transaction.Render(), description: $"apply {transaction.Count} operation(s) to table {table} in {_context.Where}");
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

    public void Dispose()
    {
        if (_ownsContext) _context.Dispose();
    }
}
