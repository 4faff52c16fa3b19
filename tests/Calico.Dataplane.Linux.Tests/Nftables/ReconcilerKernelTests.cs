using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>
/// The reconciler against the kernel, in a namespace of the test's own that also holds someone else's table: create,
/// adopt after a restart, modify, repair drift made with the nft command, remove — and the other table never moves.
/// </summary>
public sealed class ReconcilerKernelTests : IDisposable
{
    private const string OtherTable = """
        table inet filter {
        	set blocked {
        		type ipv4_addr
        		elements = { 198.51.100.1 }
        	}

        	chain input {
        		type filter hook input priority filter; policy accept;
        		ip saddr @blocked counter packets 0 bytes 0 drop
        	}
        }

        """;

    private readonly NftNamespace _ns = new();
    private readonly NftablesReconciler _reconciler;
    private readonly NftTable _desired = SampleTables.Empty().WithEndpoints([1, 2, 3]);

    public ReconcilerKernelTests()
    {
        _ns.NftScript(OtherTable);
        _reconciler = new NftablesReconciler(_ns.Kernel);
    }

    public void Dispose() => _ns.Dispose();

    private string Listing(string table) => _ns.Nft("list", "table", "inet", table);

    private void AssertOtherTableUntouched() => Assert.Equal(OtherTable, Listing("filter"));

    [Fact]
    public void Create_adopt_modify_and_remove_leave_the_other_table_alone()
    {
        var created = _reconciler.Apply(_desired);
        Assert.True(created.Plan!.TableCreated);
        SampleTables.AssertHolds(_desired, _ns.Kernel.ReadTable(NftablesReconciler.DefaultTable));
        Assert.Contains("iifname vmap @cali-from-wl comment \"cal:", Listing("calico"));
        AssertOtherTableUntouched();

        // A restarted agent: new context, new reconciler, same desired state: nothing is written.
        var generation = _ns.Kernel.GetGeneration();
        var adopted = new NftablesReconciler(_ns.OpenKernel()).Apply(SampleTables.Empty().WithEndpoints([1, 2, 3]));
        Assert.Equal(0, adopted.Operations);
        Assert.Equal(generation, _ns.Kernel.GetGeneration());

        var modified = _desired.WithoutEndpoint(2).WithEndpoint(4);
        var change = _reconciler.Apply(modified);
        Assert.Equal((2, 2, 1, 1), (change.Plan!.ChainsAdded, change.Plan.ChainsRemoved, change.Plan.SetsAdded, change.Plan.SetsRemoved));
        SampleTables.AssertHolds(modified, _ns.Kernel.ReadTable(NftablesReconciler.DefaultTable));
        AssertOtherTableUntouched();

        _reconciler.Remove();
        Assert.DoesNotContain("calico", _ns.Nft("list", "tables"));
        AssertOtherTableUntouched();
    }

    [Fact]
    public void Without_any_change_to_our_table_a_resync_costs_one_generation_read()
    {
        _reconciler.Apply(_desired);

        var quiet = _reconciler.Resync();
        _ns.Nft("add", "chain", "inet", "filter", "more");
        var afterOther = _reconciler.Resync();

        Assert.False(quiet.ReadKernel);
        Assert.False(afterOther.ReadKernel); // the change notifications show that only the other table changed
        Assert.Equal(0, afterOther.Operations);
    }

    public static TheoryData<string> Drifts() =>
        ["rule deleted", "rule replaced", "rule added", "element added", "map element deleted", "chain added", "policy changed", "table deleted"];

    [Theory]
    [MemberData(nameof(Drifts))]
    public void Drift_made_with_the_nft_command_is_repaired_on_the_next_resync(string drift)
    {
        _reconciler.Apply(_desired);
        var original = Listing("calico");

        switch (drift)
        {
            case "rule deleted":
                _ns.Nft("delete", "rule", "inet", "calico", "cali-fw-tap00000000002", "handle", _ns.RuleHandle("cali-fw-tap00000000002", "udp dport 67"));
                break;
            case "rule replaced":
                _ns.Nft("replace", "rule", "inet", "calico", "filter-forward", "handle", _ns.RuleHandle("filter-forward", "ct state"), "ct", "state", "established", "accept");
                break;
            case "rule added":
                _ns.Nft("insert", "rule", "inet", "calico", "cali-tw-tap00000000001", "accept");
                break;
            case "element added":
                _ns.Nft("add", "element", "inet", "calico", "cali-ep-tap00000000001", "{ 192.0.2.1 }");
                break;
            case "map element deleted":
                _ns.Nft("delete", "element", "inet", "calico", SampleTables.ToWorkloads, "{ \"tap00000000003\" }");
                break;
            case "chain added":
                _ns.Nft("add", "chain", "inet", "calico", "by-hand");
                break;
            case "policy changed":
                _ns.Nft("add", "chain", "inet", "calico", "filter-forward", "{ type filter hook forward priority 0; policy drop; }");
                break;
            case "table deleted":
                _ns.Nft("delete", "table", "inet", "calico");
                break;
        }
        Assert.NotEqual(original, TryListing());

        var repaired = _reconciler.Resync();

        Assert.True(repaired.DriftRepairs > 0, drift);
        Assert.Equal(original, Listing("calico"));
        SampleTables.AssertHolds(_desired, _ns.Kernel.ReadTable(NftablesReconciler.DefaultTable));
        AssertOtherTableUntouched();
        Assert.False(_reconciler.Resync().ReadKernel);
    }

    [Fact]
    public void A_forced_full_resync_rewrites_nothing_that_matches()
    {
        _reconciler.Apply(_desired);
        var generation = _ns.Kernel.GetGeneration();

        var result = _reconciler.Resync(readKernel: true);

        Assert.True(result.ReadKernel);
        Assert.Equal(0, result.Operations);
        Assert.Equal(generation, _ns.Kernel.GetGeneration());
        AssertOtherTableUntouched();
    }

    private string TryListing()
    {
        try { return Listing("calico"); }
        catch (InvalidOperationException) { return "(no table)"; }
    }
}
