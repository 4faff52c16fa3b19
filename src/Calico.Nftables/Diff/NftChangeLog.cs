namespace Calico.Nftables;

/// <summary>
/// What the change notifications say about one table over a stretch of generations: how many of those
/// transactions changed something in it, or, when some were not seen whole, why (<see cref="Incomplete"/>).
/// </summary>
public readonly record struct NftChanges(string? Incomplete, int TableCommits, int OtherCommits)
{
    public const string Overflow = "overflow";
    public const string Gap = "gap";

    public bool Complete => Incomplete is null;

    /// <summary>Every transaction in the stretch was seen, and none of them touched the table.</summary>
    public bool Untouched => Complete && TableCommits == 0;
}

/// <summary>
/// The nftables transactions announced by change notifications (multicast group NFNLGRP_NFTABLES), one record per
/// generation: which tables its messages named. The kernel sends, for each committed transaction, one message per
/// object created or deleted (NFT_MSG_NEW*/DEL*, each naming its table and family), then NFT_MSG_NEWGEN with the
/// new generation; so the messages since the last NEWGEN belong to the next one.
/// <para>
/// Pure bookkeeping, fed by <see cref="Native.NftablesMonitor"/> from the socket and by <see cref="FakeNftables"/>
/// in tests. When the kernel dropped notifications (ENOBUFS), <see cref="Lost"/> forgets everything up to the
/// generation current at that moment: a transaction whose messages may have been dropped has a generation no
/// later than that, because the kernel moves the generation before it sends the transaction's messages.
/// </para>
/// Not thread-safe: the owner serialises calls.
/// </summary>
public sealed class NftChangeLog
{
    /// <summary>Generations remembered; a question about older ones is answered "gap".</summary>
    public const int Capacity = 4096;

    private readonly Dictionary<uint, Transaction> _transactions = [];
    private readonly Queue<uint> _order = new();
    private HashSet<(byte Family, string Table)> _pending = [];
    private bool _pendingUnknown;
    private uint? _latest;
    private uint? _lostThrough;

    /// <summary>Transactions recorded since the log was created (for tests and diagnostics).</summary>
    public int Recorded { get; private set; }

    /// <summary>A message of the transaction in progress named <paramref name="table"/> of <paramref name="family"/> (nfgenmsg's family); null: it named none we could read, so it may concern any table.</summary>
    public void Change(byte family, string? table)
    {
        if (table is null) _pendingUnknown = true;
        else _pending.Add((family, table));
    }

    /// <summary>NFT_MSG_NEWGEN: the transaction whose messages came since the last one committed as <paramref name="generation"/>.</summary>
    public void Generation(uint generation)
    {
        var tables = _pending;
        var unknown = _pendingUnknown;
        _pending = [];
        _pendingUnknown = false;
        if (_latest is null || After(generation, _latest.Value)) _latest = generation;
        if (_lostThrough is { } lost && !After(generation, lost)) return;
        if (_transactions.TryAdd(generation, new Transaction(unknown, tables)))
        {
            _order.Enqueue(generation);
            Recorded++;
        }
        while (_order.Count > Capacity) _transactions.Remove(_order.Dequeue());
    }

    /// <summary>Notifications were dropped; <paramref name="currentGeneration"/> is the kernel's generation read after the loss was reported.</summary>
    public void Lost(uint currentGeneration)
    {
        _transactions.Clear();
        _order.Clear();
        _pending = [];
        _pendingUnknown = false;
        if (_lostThrough is null || After(currentGeneration, _lostThrough.Value)) _lostThrough = currentGeneration;
        if (_latest is null || After(currentGeneration, _latest.Value)) _latest = currentGeneration;
    }

    /// <summary>Whether the NEWGEN of <paramref name="generation"/> (or a later one) has arrived, or that generation counts as lost.</summary>
    public bool HasSeen(uint generation) => _latest is { } latest && !After(generation, latest);

    /// <summary>What the transactions after <paramref name="after"/>, up to and including <paramref name="upTo"/>, did to <paramref name="table"/>.</summary>
    public NftChanges Summarise(NftTableId table, uint after, uint upTo)
    {
        var key = (table.Family.ProtocolFamily(), table.Name);
        int touched = 0, others = 0;
        for (var generation = after; generation != upTo;)
        {
            generation = Next(generation);
            if (!_transactions.TryGetValue(generation, out var transaction) || touched + others >= Capacity)
            {
                var overflow = _lostThrough is { } lost && !After(generation, lost);
                return new NftChanges(overflow ? NftChanges.Overflow : NftChanges.Gap, touched, others);
            }
            if (transaction.Unknown || transaction.Tables.Contains(key)) touched++;
            else others++;
        }
        return new NftChanges(null, touched, others);
    }

    /// <summary>The generation after <paramref name="generation"/>: the kernel skips 0 when it wraps.</summary>
    public static uint Next(uint generation) => generation == uint.MaxValue ? 1 : generation + 1;

    /// <summary>Serial-number order (RFC 1982), so that a wrap of the counter keeps the order.</summary>
    private static bool After(uint a, uint b) => (int)(a - b) > 0;

    private sealed record Transaction(bool Unknown, HashSet<(byte Family, string Table)> Tables);
}
