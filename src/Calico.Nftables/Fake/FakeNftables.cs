using System.Net;
using System.Numerics;
using Calico.Netlink;

namespace Calico.Nftables;

/// <summary>
/// An in-memory nftables with the kernel's transaction semantics for the operations this project uses (checked
/// against the kernel by the namespace tests): a transaction applies entirely or not at all; adding what exists is
/// fine unless it differs (EEXIST), removing what is missing is ENOENT, removing what is still referred to is EBUSY,
/// a base chain's hook cannot change (EOPNOTSUPP). Every committed transaction increments the generation.
/// Tests can inject failures (<see cref="FailNext"/>) and edit "by hand" (<see cref="DeleteRule"/>, ...), as an
/// operator with the nft command would. Like the kernel with a listener, it announces every transaction to a change
/// log (<see cref="ChangesSince"/>), unless made without notifications; tests can lose them
/// (<see cref="LoseNotifications"/>) or commit one unannounced (<see cref="ApplyUnannounced"/>).
/// </summary>
public sealed partial class FakeNftables : INftables
{
    private readonly Lock _gate = new();
    private readonly List<(int Errno, Func<NftTransaction, bool> When)> _failures = [];
    private readonly List<NftTransaction> _committed = [];
    private Dictionary<NftTableId, FakeTable> _tables = [];
    private readonly NftChangeLog? _changes;
    private uint _generation = 1;
    private int? _failNextRead;
    private bool _unannounced;

    public FakeNftables(bool notifications = true) => _changes = notifications ? new NftChangeLog() : null;

    /// <summary>Transactions committed so far, by anyone (the reconciler or a test).</summary>
    public IReadOnlyList<NftTransaction> Committed { get { lock (_gate) return [.. _committed]; } }

    public IReadOnlyList<NftTableId> Tables { get { lock (_gate) return [.. _tables.Keys]; } }

    public uint Generation { get { lock (_gate) return _generation; } }

    /// <summary>How many reads of a table there were: a generation check that finds nothing changed reads none.</summary>
    public int Reads { get; private set; }

    /// <summary>
    /// The next <paramref name="count"/> transactions (that <paramref name="when"/> selects) fail with
    /// <paramref name="errno"/> before changing anything, as a kernel refusing the batch would.
    /// </summary>
    public void FailNext(int errno, int count = 1, Func<NftTransaction, bool>? when = null)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++) _failures.Add((errno, when ?? (_ => true)));
        }
    }

    /// <summary>The next read of a table fails with <paramref name="errno"/>.</summary>
    public void FailNextRead(int errno)
    {
        lock (_gate) _failNextRead = errno;
    }

    public void Apply(NftTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        lock (_gate)
        {
            var injected = _failures.FindIndex(f => f.When(transaction));
            if (injected >= 0)
            {
                var errno = _failures[injected].Errno;
                _failures.RemoveAt(injected);
                throw Error(transaction.Operations.FirstOrDefault(), errno, "injected failure");
            }
            if (transaction.IsEmpty) return;
            // Work on a copy: the first error leaves the committed state exactly as it was.
            var working = _tables.ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
            foreach (var operation in transaction.Operations) Execute(working, operation);
            _tables = working;
            _committed.Add(transaction);
            foreach (var operation in transaction.Operations) Announce(operation.Table);
            Bump();
        }
    }

    public NftTable? ReadTable(NftTableId table)
    {
        lock (_gate)
        {
            Reads++;
            if (_failNextRead is { } errno)
            {
                _failNextRead = null;
                throw new NftablesException($"read table {table}", errno, $"Error: {Errno.Describe(errno)}");
            }
            return _tables.TryGetValue(table, out var fake) ? fake.Observe(table) : null;
        }
    }

    public uint GetGeneration()
    {
        lock (_gate) return _generation;
    }

    public NftChanges? ChangesSince(NftTableId table, uint after, uint upTo)
    {
        lock (_gate) return _changes?.Summarise(table, after, upTo);
    }

    /// <summary>The notifications so far are dropped, as when the listener's socket overflows (ENOBUFS).</summary>
    public void LoseNotifications()
    {
        lock (_gate) _changes?.Lost(_generation);
    }

    /// <summary>Commits a transaction whose notifications never arrive: a gap in the generations announced.</summary>
    public void ApplyUnannounced(NftTransaction transaction)
    {
        lock (_gate)
        {
            _unannounced = true;
            try { Apply(transaction); }
            finally { _unannounced = false; }
        }
    }

    /// <summary>Deletes the rule at <paramref name="index"/> of a chain, as `nft delete rule ... handle N` would.</summary>
    public void DeleteRule(NftTableId table, string chain, int index) => ByHand(table, chain, rules => rules.RemoveAt(index));

    /// <summary>Replaces a rule, as `nft replace rule` would; an observed rule stands for one with any body and that comment.</summary>
    public void ReplaceRule(NftTableId table, string chain, int index, NftRule rule) => ByHand(table, chain, rules => rules[index] = rule);

    public void InsertRule(NftTableId table, string chain, int index, NftRule rule) => ByHand(table, chain, rules => rules.Insert(index, rule));

    private void ByHand(NftTableId table, string chain, Action<List<NftRule>> edit)
    {
        lock (_gate)
        {
            if (!_tables.TryGetValue(table, out var fake) || !fake.Chains.TryGetValue(chain, out var target))
                throw new InvalidOperationException($"no chain {chain} in table {table}");
            edit(target.Rules);
            Announce(table);
            Bump();
        }
    }

    private void Announce(NftTableId table)
    {
        if (!_unannounced) _changes?.Change(table.Family.ProtocolFamily(), table.Name);
    }

    private void Bump()
    {
        // The kernel skips 0 when the generation wraps.
        while (++_generation == 0)
        {
        }
        if (!_unannounced) _changes?.Generation(_generation);
    }

    private sealed class FakeChain(NftBaseChain? baseChain, List<NftRule> rules)
    {
        public NftBaseChain? Base { get; set; } = baseChain;
        public List<NftRule> Rules { get; } = rules;
    }

    private sealed class FakeSet(NftSetType type, SortedDictionary<NftValue, NftValue?> elements)
    {
        public NftSetType Type { get; } = type;
        public SortedDictionary<NftValue, NftValue?> Elements { get; } = elements;
    }

    private sealed class FakeTable
    {
        public Dictionary<string, FakeChain> Chains { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, FakeSet> Sets { get; } = new(StringComparer.Ordinal);

        public FakeTable Clone()
        {
            var copy = new FakeTable();
            foreach (var (name, chain) in Chains) copy.Chains[name] = new FakeChain(chain.Base, [.. chain.Rules]);
            foreach (var (name, set) in Sets) copy.Sets[name] = new FakeSet(set.Type, new SortedDictionary<NftValue, NftValue?>(set.Elements));
            return copy;
        }

        /// <summary>What reading the kernel back gives: rules by their comment only, as nft's JSON has them.</summary>
        public NftTable Observe(NftTableId id) => new(
            id,
            Chains.Select(kv => NftChain.Observed(kv.Key, kv.Value.Rules.Select(r => r.IsObserved ? r : NftRule.Observed(r.CommentText)), kv.Value.Base)),
            Sets.Select(kv => NftSet.Observed(kv.Key, kv.Value.Type,
                NftElements.Of(kv.Value.Elements.Select(e => new NftElement(e.Key, e.Value))))));
    }

    /// <summary>An address element as the closed interval of integers it covers, for overlap checks.</summary>
    private static (BigInteger First, BigInteger Last) Interval(NftValue value)
    {
        static BigInteger Number(IPAddress address) => new(address.GetAddressBytes(), isUnsigned: true, isBigEndian: true);
        return value switch
        {
            NftAddress a => (Number(a.Prefix.BaseAddress), Number(a.LastAddress)),
            NftAddressRange r => (Number(r.First), Number(r.Last)),
            _ => throw new InvalidOperationException($"{value} is not an interval"),
        };
    }
}
