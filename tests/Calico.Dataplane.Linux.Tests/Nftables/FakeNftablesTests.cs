using System.Net;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>
/// The fake's semantics, the ones the kernel tests check against the kernel: all-or-nothing transactions, and the
/// errors nft reports for adding what differs, removing what is missing or still used.
/// </summary>
public sealed class FakeNftablesTests
{
    private static readonly NftTableId Calico = NftablesReconciler.DefaultTable;
    private readonly FakeNftables _fake = new();

    public FakeNftablesTests() => _fake.Apply(NftDiff.Plan(SampleTables.Empty().WithEndpoint(1), null).Transaction);

    [Fact]
    public void A_failing_transaction_changes_nothing_and_keeps_the_generation()
    {
        var before = _fake.ReadTable(Calico);
        var generation = _fake.GetGeneration();
        var tx = new NftTransaction()
            .Add(new NftAddChain(Calico, "cali-new", null))
            .Add(new NftAddElements(Calico, "cali-ep-tap00000000001", [new NftElement(new NftAddress(IPAddress.Parse("10.9.9.9")))]))
            .Add(new NftDeleteChain(Calico, "does-not-exist"));

        var ex = Assert.Throws<NftablesException>(() => _fake.Apply(tx));

        Assert.Equal(Errno.ENOENT, ex.Errno);
        Assert.Equal(generation, _fake.GetGeneration());
        Assert.Equal(before, _fake.ReadTable(Calico));
    }

    [Fact]
    public void Injected_failures_refuse_the_whole_transaction_then_stop()
    {
        var before = _fake.ReadTable(Calico);
        _fake.FailNext(Errno.EBUSY, count: 2);
        var tx = new NftTransaction().Add(new NftAddChain(Calico, "cali-new", null));

        Assert.True(Assert.Throws<NftablesException>(() => _fake.Apply(tx)).IsTransient);
        Assert.True(Assert.Throws<NftablesException>(() => _fake.Apply(tx)).IsTransient);
        Assert.Equal(before, _fake.ReadTable(Calico));
        _fake.Apply(tx);
        Assert.Contains("cali-new", _fake.ReadTable(Calico)!.Chains.Keys);
    }

    [Fact]
    public void Every_committed_transaction_moves_the_generation_by_one()
    {
        var generation = _fake.GetGeneration();

        _fake.Apply(new NftTransaction().Add(new NftAddChain(Calico, "cali-new", null)));
        _fake.DeleteRule(Calico, "filter-forward", 0);

        Assert.Equal(generation + 2, _fake.GetGeneration());
    }

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Refuses_what_the_kernel_refuses(string what, NftOperation operation, int errno)
    {
        var ex = Assert.Throws<NftablesException>(() => _fake.Apply(new NftTransaction().Add(operation)));
        Assert.True(errno == ex.Errno, $"{what}: expected {Errno.Name(errno)}, got {ex.ErrnoName}: {ex.Message}");
    }

    public static TheoryData<string, NftOperation, int> Refusals() => new()
    {
        { "map element with another value", new NftAddElements(Calico, SampleTables.FromWorkloads, [new NftElement(new NftInterfaceName("tap00000000001"), NftVerdict.Drop)]), Errno.EEXIST },
        { "set re-declared with another type", new NftAddSet(Calico, "cali-ep-tap00000000001", new NftSetType(NftDataType.Ipv6Address)), Errno.EEXIST },
        { "missing element deleted", new NftDeleteElements(Calico, "cali-ep-tap00000000001", [new NftAddress(IPAddress.Parse("10.9.9.9"))]), Errno.ENOENT },
        { "missing chain flushed", new NftFlushChain(Calico, "nosuch"), Errno.ENOENT },
        { "chain with rules deleted", new NftDeleteChain(Calico, "cali-fw-tap00000000001"), Errno.EBUSY },
        { "set used by a rule deleted", new NftDeleteSet(Calico, "cali-ep-tap00000000001", false), Errno.EBUSY },
        { "base chain hook changed", new NftAddChain(Calico, "filter-forward", new NftBaseChain(NftChainType.Filter, NftHook.Input, 0)), Errno.EOPNOTSUPP },
        { "regular chain made a base chain", new NftAddChain(Calico, "cali-fw-tap00000000001", new NftBaseChain(NftChainType.Filter, NftHook.Input, 0)), Errno.EOPNOTSUPP },
        { "map element jumping to a missing chain", new NftAddElements(Calico, SampleTables.FromWorkloads, [new NftElement(new NftInterfaceName("tap9"), NftVerdict.Jump("nosuch"))]), Errno.ENOENT },
        { "rule using a missing set", new NftAddRule(Calico, "cali-fw-tap00000000001", new NftRule(new NftSetMatch(NftSelector.Ipv4Source, "nosuch"))), Errno.ENOENT },
        { "anything in a missing table", new NftAddChain(new NftTableId(NftFamily.Ip, "other"), "c", null), Errno.ENOENT },
    };

    [Fact]
    public void Chains_referenced_by_a_map_cannot_be_deleted_even_when_empty()
    {
        _fake.Apply(new NftTransaction().Add(new NftFlushChain(Calico, "cali-fw-tap00000000001")));

        var ex = Assert.Throws<NftablesException>(() => _fake.Apply(new NftTransaction().Add(new NftDeleteChain(Calico, "cali-fw-tap00000000001"))));

        Assert.Equal(Errno.EBUSY, ex.Errno);
    }

    [Fact]
    public void Interval_sets_refuse_overlaps_and_accept_adjacent_prefixes()
    {
        _fake.Apply(new NftTransaction()
            .Add(new NftAddSet(Calico, "v4", new NftSetType(NftDataType.Ipv4Address, interval: true)))
            .Add(new NftAddElements(Calico, "v4", [Element("10.2.0.0/25"), Element("10.2.0.128/25")])));

        Assert.Throws<NftablesException>(() => _fake.Apply(new NftTransaction().Add(new NftAddElements(Calico, "v4", [Element("10.2.0.7/32")]))));
        Assert.Equal(2, _fake.ReadTable(Calico)!.Sets["v4"].Elements.Count);

        static NftElement Element(string prefix) => new(NftAddress.Parse(prefix));
    }

    [Fact]
    public void Adding_what_exists_unchanged_is_not_an_error()
    {
        var before = _fake.ReadTable(Calico);

        _fake.Apply(NftDiff.Plan(SampleTables.Empty().WithEndpoint(1), null).Transaction.Operations
            .Where(o => o is NftAddTable or NftAddChain or NftAddSet or NftAddElements)
            .Aggregate(new NftTransaction(), (tx, o) => tx.Add(o)));

        Assert.Equal(before, _fake.ReadTable(Calico));
    }
}
