using System.Net;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Nftables.Native;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>libnftables in process, bound to a namespace of the test's own: scripts, errors, generation, read-back.</summary>
public sealed class NftablesKernelTests : IDisposable
{
    private readonly NftNamespace _ns = new();

    public void Dispose() => _ns.Dispose();

    [Fact]
    public void Commands_take_effect_in_the_bound_namespace_only()
    {
        using var elsewhere = new NftNamespace();

        _ns.Kernel.Context.Run("add table inet only-here");

        Assert.Contains("table inet only-here", _ns.Nft("list", "tables"));
        Assert.DoesNotContain("only-here", elsewhere.Nft("list", "tables"));
    }

    [Fact]
    public void An_error_names_the_command_and_carries_nfts_own_text()
    {
        var ex = Assert.Throws<NftablesException>(() => _ns.Kernel.Context.Run("add chain inet nosuch cali-a"));

        Assert.Contains("`add chain inet nosuch cali-a`", ex.Message);
        Assert.Contains("No such file or directory", ex.ErrorText);
        Assert.Equal(Errno.ENOENT, ex.Errno);
        Assert.False(ex.IsTransient);

        var syntax = Assert.Throws<NftablesException>(() => _ns.Kernel.Context.Run("add tabel inet x"));
        Assert.Contains("syntax error", syntax.ErrorText);
        Assert.Null(syntax.Errno);
    }

    [Fact]
    public void A_refused_transaction_applies_nothing()
    {
        Assert.Throws<NftablesException>(() => _ns.Kernel.Context.Run("""
            add table inet calico
            add chain inet calico cali-a
            delete chain inet calico cali-missing
            """));

        Assert.DoesNotContain("calico", _ns.Nft("list", "tables"));
    }

    [Fact]
    public void The_generation_moves_once_per_commit_by_anyone_and_not_on_a_refusal()
    {
        var start = _ns.Kernel.GetGeneration();

        _ns.Kernel.Context.Run("add table inet calico\nadd chain inet calico cali-a\nadd chain inet calico cali-b");
        var afterOurs = _ns.Kernel.GetGeneration();
        Assert.Throws<NftablesException>(() => _ns.Kernel.Context.Run("delete chain inet calico cali-missing"));
        var afterRefusal = _ns.Kernel.GetGeneration();
        _ns.Nft("add", "table", "ip", "someone-else");
        var afterTheirs = _ns.Kernel.GetGeneration();

        Assert.Equal(start + 1, afterOurs);
        Assert.Equal(afterOurs, afterRefusal);
        Assert.Equal(afterOurs + 1, afterTheirs);
    }

    [Fact]
    public void A_missing_library_says_what_to_install()
    {
        var ex = Assert.Throws<DllNotFoundException>(() => LibNftables.Load("libnftables.so.999"));

        Assert.Contains("install libnftables1", ex.Message);
    }

    [Fact]
    public void Calls_from_many_threads_are_serialised_on_one_context()
    {
        _ns.Kernel.Context.Run("add table inet calico\nadd set inet calico s { type ipv4_addr; }");

        Parallel.For(1, 101, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            i => _ns.Kernel.Context.Run($"add element inet calico s {{ 10.0.{i / 256}.{i % 256} }}"));

        Assert.Equal(100, _ns.Kernel.ReadTable(NftablesReconciler.DefaultTable)!.Sets["s"].Elements.Count);
    }

    [Fact]
    public void A_table_reads_back_as_it_was_written_and_as_the_fake_holds_it()
    {
        var desired = SampleTables.Empty().WithEndpoints([1, 2, 3])
            .WithSet(NftSet.Addresses("v4", NftDataType.Ipv4Address,
                [new NftAddress(IPAddress.Parse("10.0.0.1")), NftAddress.Parse("10.1.0.0/16"),
                 new NftAddressRange(IPAddress.Parse("10.2.0.1"), IPAddress.Parse("10.2.0.9"))], interval: true))
            .WithSet(NftSet.Addresses("v6", NftDataType.Ipv6Address,
                [new NftAddress(IPAddress.Parse("fd00::1")), NftAddress.Parse("fd00:65::/64"),
                 new NftAddress(IPAddress.Parse("::ffff:1.2.3.4"))], interval: true))
            .WithSet(NftSet.InterfaceNames("names", ["tap1", "tap2"]));
        var transaction = NftDiff.Plan(desired, null).Transaction;
        var fake = new FakeNftables();

        _ns.Kernel.Apply(transaction);
        fake.Apply(transaction);

        var kernel = _ns.Kernel.ReadTable(NftablesReconciler.DefaultTable);
        SampleTables.AssertHolds(desired, kernel);
        Assert.Equal(fake.ReadTable(NftablesReconciler.DefaultTable), kernel);
        Assert.Null(_ns.Kernel.ReadTable(new NftTableId(NftFamily.Ip, "absent")));
    }

    [Fact]
    public void The_kernel_refuses_what_the_fake_refuses_with_the_same_error()
    {
        var transaction = NftDiff.Plan(SampleTables.Empty().WithEndpoint(1), null).Transaction;
        _ns.Kernel.Apply(transaction);

        foreach (var refusal in FakeNftablesTests.Refusals())
        {
            var (what, operation, errno) = ((string)refusal[0], (NftOperation)refusal[1], (int)refusal[2]);
            var ex = Assert.Throws<NftablesException>(() => _ns.Kernel.Apply(new NftTransaction().Add(operation)));
            Assert.True(errno == ex.Errno, $"{what}: the fake says {Errno.Name(errno)}, the kernel {ex.ErrnoName}: {ex.ErrorText}");
        }
    }

    [Fact]
    public void Foreign_objects_read_back_as_foreign_and_never_match_anything_desired()
    {
        _ns.NftScript("""
            add table inet calico
            add set inet calico ports { type inet_service; }
            add set inet calico timed { type ipv4_addr; timeout 1h; }
            add chain inet calico ingress-like { type filter hook prerouting priority -300; }
            add chain inet calico plain
            add rule inet calico plain counter accept comment "by hand"
            add rule inet calico plain drop
            """);

        var table = _ns.Kernel.ReadTable(NftablesReconciler.DefaultTable)!;

        Assert.True(table.Sets["ports"].Type.IsForeign);
        Assert.True(table.Sets["timed"].Type.IsForeign);
        Assert.Equal(new NftBaseChain(NftChainType.Filter, NftHook.Prerouting, -300), table.Chains["ingress-like"].Base);
        Assert.Equal([null, null], table.Chains["plain"].RuleHashes);
    }
}
