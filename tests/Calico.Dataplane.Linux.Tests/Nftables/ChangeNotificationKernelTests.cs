using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>
/// The reconciler with the kernel's change notifications, in a namespace of the test's own: transactions of others on
/// other tables (made with the nft command, another process) cost no read of our table; a hand edit of our table is
/// still found and repaired; lost notifications fall back to reading.
/// </summary>
public sealed class ChangeNotificationKernelTests : IDisposable
{
    private readonly NftNamespace _ns = new();
    private readonly NftTable _desired = SampleTables.Empty().WithEndpoints([1, 2, 3]);

    public void Dispose() => _ns.Dispose();

    /// <summary>Another program's table, and a few transactions on it of every kind of object.</summary>
    private void CommitToAnotherTable()
    {
        _ns.Nft("add", "table", "inet", "other");
        _ns.Nft("add", "chain", "inet", "other", "input", "{ type filter hook input priority 10; }");
        _ns.Nft("add", "set", "inet", "other", "blocked", "{ type ipv4_addr; }");
        _ns.Nft("add", "element", "inet", "other", "blocked", "{ 198.51.100.1, 198.51.100.2 }");
        _ns.Nft("add", "rule", "inet", "other", "input", "ip", "saddr", "@blocked", "drop");
        _ns.Nft("add", "counter", "inet", "other", "seen");
        _ns.Nft("delete", "element", "inet", "other", "blocked", "{ 198.51.100.1 }");
        _ns.Nft("add", "table", "ip", "calico"); // our name, another family: not ours
        _ns.Nft("delete", "table", "ip", "calico");
    }

    [Fact]
    public void Transactions_on_other_tables_cost_no_read_of_ours()
    {
        var reconciler = new NftablesReconciler(_ns.Kernel);
        reconciler.Apply(_desired);
        var generation = _ns.Kernel.GetGeneration();

        CommitToAnotherTable();
        var resync = reconciler.Resync();
        CommitToAnotherTable(); // again, with the table there; then one endpoint changes
        _ns.Nft("delete", "table", "inet", "other");
        var changed = _desired.WithoutEndpoint(2).WithEndpoint(4);
        var apply = reconciler.Apply(changed);

        // Repeated "add" of what exists commits nothing; the rest are transactions of their own.
        Assert.True(_ns.Kernel.GetGeneration() - generation >= 12);
        Assert.False(resync.ReadKernel);
        Assert.False(apply.ReadKernel);
        Assert.Equal(new Dictionary<string, int> { ["start"] = 1 }, reconciler.Reads);
        Assert.True(reconciler.OthersIgnored >= 12, $"{reconciler.OthersIgnored} transactions of others ignored");
        SampleTables.AssertHolds(changed, _ns.Kernel.ReadTable(NftablesReconciler.DefaultTable));
        Assert.False(reconciler.Resync().ReadKernel);
    }

    [Fact]
    public void Without_notifications_a_transaction_on_another_table_costs_a_read()
    {
        var reconciler = new NftablesReconciler(_ns.OpenKernel(watchChanges: false));
        reconciler.Apply(_desired);

        _ns.Nft("add", "table", "inet", "other");
        var resync = reconciler.Resync();

        Assert.True(resync.ReadKernel);
        Assert.Equal(1, reconciler.Reads.GetValueOrDefault("generation"));
    }

    [Fact]
    public void A_rule_of_ours_deleted_by_hand_is_found_and_repaired_at_the_next_resync()
    {
        var reconciler = new NftablesReconciler(_ns.Kernel);
        reconciler.Apply(_desired);
        var original = _ns.Nft("list", "table", "inet", "calico");

        _ns.Nft("add", "table", "inet", "other");
        _ns.Nft("delete", "rule", "inet", "calico", "cali-fw-tap00000000002", "handle", _ns.RuleHandle("cali-fw-tap00000000002", "udp dport 67"));
        _ns.Nft("add", "chain", "inet", "other", "more");
        var repaired = reconciler.Resync();

        Assert.True(repaired.ReadKernel);
        Assert.Equal(1, repaired.DriftRepairs);
        Assert.Equal(1, reconciler.Reads.GetValueOrDefault("changed"));
        Assert.Equal(original, _ns.Nft("list", "table", "inet", "calico"));
        Assert.False(reconciler.Resync().ReadKernel);
    }

    [Fact]
    public void An_element_of_ours_added_by_hand_is_found_too()
    {
        var reconciler = new NftablesReconciler(_ns.Kernel);
        reconciler.Apply(_desired);

        _ns.Nft("add", "element", "inet", "calico", "cali-ep-tap00000000001", "{ 192.0.2.1 }");
        var repaired = reconciler.Resync();

        Assert.True(repaired.DriftRepairs > 0);
        Assert.Equal(1, reconciler.Reads.GetValueOrDefault("changed"));
        SampleTables.AssertHolds(_desired, _ns.Kernel.ReadTable(NftablesReconciler.DefaultTable));
    }

    [Fact]
    public void Notifications_lost_to_a_full_socket_fall_back_to_a_read()
    {
        // A small receive buffer (the kernel doubles it): one transaction of thousands of elements overflows it, and
        // a small one fits.
        var kernel = _ns.OpenKernelWithMonitorBuffer(16 << 10);
        var reconciler = new NftablesReconciler(kernel);
        reconciler.Apply(_desired);

        var elements = string.Join(", ", Enumerable.Range(1, 2000).Select(i => $"198.51.{i / 200}.{i % 200 + 1}"));
        _ns.NftScript($"table inet other {{\n set many {{\n  type ipv4_addr\n  elements = {{ {elements} }}\n }}\n}}\n");
        var resync = reconciler.Resync();

        Assert.True(resync.ReadKernel);
        Assert.Equal(1, reconciler.Reads.GetValueOrDefault(NftChanges.Overflow));
        Assert.Equal(0, resync.Operations);
        // After the read, notifications are trusted again.
        _ns.Nft("add", "table", "inet", "small");
        Assert.False(reconciler.Resync().ReadKernel);
    }
}
