using System.Buffers.Binary;
using System.Text;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Nftables.Native;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>
/// Change notifications without a kernel: the log's bookkeeping, the decoding of notification messages built by hand
/// from the uapi headers, and the reconciler on the fake when notifications are lost or missing.
/// </summary>
public sealed class ChangeNotificationTests
{
    private static readonly NftTableId Calico = NftablesReconciler.DefaultTable;
    private static readonly NftTableId Other = new(NftFamily.Inet, "other");
    private const byte Inet = 1, Ip = 2;

    private readonly FakeNftables _fake = new();

    private NftablesReconciler NewReconciler() => new(_fake, retry: TransientRetry.Create(5, TimeSpan.Zero));

    private void CommitToOther() => _fake.Apply(new NftTransaction().Add(new NftAddTable(Other)).Add(new NftAddChain(Other, $"c{_fake.Generation}", null)));

    [Fact]
    public void Transactions_on_another_table_cost_no_read()
    {
        var reconciler = NewReconciler();
        reconciler.Apply(SampleTables.Empty().WithEndpoint(1));
        var reads = _fake.Reads;

        CommitToOther();
        CommitToOther();
        var resync = reconciler.Resync();
        CommitToOther();
        var apply = reconciler.Apply(SampleTables.Empty().WithEndpoints([1, 2]));

        Assert.False(resync.ReadKernel);
        Assert.False(apply.ReadKernel);
        Assert.Equal(reads, _fake.Reads);
        Assert.Equal(3, reconciler.OthersIgnored);
        SampleTables.AssertHolds(SampleTables.Empty().WithEndpoints([1, 2]), _fake.ReadTable(Calico));
    }

    [Fact]
    public void A_hand_edit_of_our_table_is_read_and_repaired()
    {
        var reconciler = NewReconciler();
        reconciler.Apply(SampleTables.Empty().WithEndpoint(1));

        CommitToOther();
        _fake.DeleteRule(Calico, "cali-fw-tap00000000001", 0);
        CommitToOther();
        var resync = reconciler.Resync();

        Assert.True(resync.ReadKernel);
        Assert.Equal(1, resync.DriftRepairs);
        Assert.Equal(1, reconciler.Reads["changed"]);
    }

    [Fact]
    public void Lost_notifications_fall_back_to_a_read()
    {
        var reconciler = NewReconciler();
        reconciler.Apply(SampleTables.Empty().WithEndpoint(1));

        CommitToOther();
        _fake.LoseNotifications();
        var lost = reconciler.Resync();
        CommitToOther();
        var after = reconciler.Resync();

        Assert.True(lost.ReadKernel);
        Assert.Equal(1, reconciler.Reads[NftChanges.Overflow]);
        Assert.False(after.ReadKernel);
    }

    [Fact]
    public void A_transaction_never_announced_is_a_gap_and_falls_back_to_a_read()
    {
        var reconciler = NewReconciler();
        reconciler.Apply(SampleTables.Empty().WithEndpoint(1));

        CommitToOther();
        _fake.ApplyUnannounced(new NftTransaction().Add(new NftAddChain(Other, "unseen", null)));
        CommitToOther();
        var resync = reconciler.Resync();

        Assert.True(resync.ReadKernel);
        Assert.Equal(1, reconciler.Reads[NftChanges.Gap]);
        Assert.False(reconciler.Resync().ReadKernel);
    }

    [Fact]
    public void Our_commit_among_others_stays_confirmed_but_a_hand_edit_beside_it_does_not()
    {
        var interleaved = new Interleaving(_fake);
        var reconciler = new NftablesReconciler(interleaved);
        reconciler.Apply(SampleTables.Empty().WithEndpoint(1));

        interleaved.Before = CommitToOther;
        reconciler.Apply(SampleTables.Empty().WithEndpoints([1, 2]));
        interleaved.Before = null;
        var quiet = reconciler.Resync();
        interleaved.Before = () => _fake.DeleteRule(Calico, "cali-fw-tap00000000001", 0);
        reconciler.Apply(SampleTables.Empty().WithEndpoints([1, 2, 3]));
        interleaved.Before = null;
        var repaired = reconciler.Resync();

        Assert.False(quiet.ReadKernel);
        Assert.True(repaired.ReadKernel);
        Assert.Equal(1, repaired.DriftRepairs);
        SampleTables.AssertHolds(SampleTables.Empty().WithEndpoints([1, 2, 3]), _fake.ReadTable(Calico));
    }

    [Fact]
    public void The_log_attributes_each_message_to_the_next_generation_and_tells_tables_by_family_and_name()
    {
        var log = new NftChangeLog();
        log.Change(Inet, "other");
        log.Generation(11);
        log.Change(Ip, "calico"); // same name, another family
        log.Generation(12);
        log.Change(Inet, "calico");
        log.Change(Inet, "other");
        log.Generation(13);
        log.Change(Inet, null); // a message naming no table we could read
        log.Generation(14);

        Assert.Equal(new NftChanges(null, 0, 2), log.Summarise(Calico, 10, 12));
        Assert.Equal(new NftChanges(null, 1, 0), log.Summarise(Calico, 12, 13));
        Assert.Equal(new NftChanges(null, 1, 0), log.Summarise(Calico, 13, 14));
        Assert.Equal(new NftChanges(null, 0, 0), log.Summarise(Calico, 14, 14));
        Assert.Equal(NftChanges.Gap, log.Summarise(Calico, 9, 12).Incomplete);
        Assert.Equal(NftChanges.Gap, log.Summarise(Calico, 12, 15).Incomplete);
        Assert.True(log.HasSeen(14));
        Assert.False(log.HasSeen(15));
    }

    [Fact]
    public void A_loss_voids_every_generation_up_to_the_one_current_when_it_was_reported()
    {
        var log = new NftChangeLog();
        log.Change(Inet, "other");
        log.Generation(11);
        log.Lost(currentGeneration: 13);
        log.Change(Inet, "other");
        log.Generation(12); // arrived after the loss was reported: it may have lost messages
        log.Change(Inet, "other");
        log.Generation(14);

        Assert.Equal(NftChanges.Overflow, log.Summarise(Calico, 10, 14).Incomplete);
        Assert.Equal(NftChanges.Overflow, log.Summarise(Calico, 12, 14).Incomplete);
        Assert.Equal(new NftChanges(null, 0, 1), log.Summarise(Calico, 13, 14));
    }

    [Fact]
    public void The_generation_wraps_past_zero_as_the_kernel_does()
    {
        var log = new NftChangeLog();
        log.Change(Inet, "other");
        log.Generation(uint.MaxValue);
        log.Change(Inet, "other");
        log.Generation(1);

        Assert.Equal(new NftChanges(null, 0, 2), log.Summarise(Calico, uint.MaxValue - 1, 1));
        Assert.True(log.HasSeen(uint.MaxValue));
    }

    [Fact]
    public void Notifications_are_decoded_from_the_uapi_layout()
    {
        var log = new NftChangeLog();
        var datagram = Message(3 /* NFT_MSG_NEWCHAIN */, Inet, (1, Encoding.ASCII.GetBytes("other\0")), (3, Encoding.ASCII.GetBytes("input\0")))
            .Concat(Message(12 /* NFT_MSG_NEWSETELEM */, Inet, (2, Encoding.ASCII.GetBytes("s\0")), (1, Encoding.ASCII.GetBytes("calico\0"))))
            .Concat(Message(17 /* NFT_MSG_TRACE: not a change */, Inet))
            .Concat(Message(15 /* NFT_MSG_NEWGEN */, 0, (1, BigEndian(7)), (2, BigEndian(4242)), (3, Encoding.ASCII.GetBytes("nft\0"))))
            .Concat(Message(6 /* NFT_MSG_NEWRULE */, Ip, (1, Encoding.ASCII.GetBytes("nat\0"))))
            .Concat(Message(15, 0, (1, BigEndian(8))))
            .Concat(Message(34 /* a later type: attribute 1 may not be a table */, Inet, (1, Encoding.ASCII.GetBytes("tap0\0"))))
            .Concat(Message(15, 0, (1, BigEndian(9))))
            .ToArray();

        NftablesMonitor.Decode(datagram, log);

        Assert.Equal(new NftChanges(null, 1, 0), log.Summarise(Calico, 6, 7));
        Assert.Equal(new NftChanges(null, 0, 1), log.Summarise(Calico, 7, 8));
        Assert.Equal(new NftChanges(null, 1, 0), log.Summarise(new NftTableId(NftFamily.Ip, "nat"), 7, 8));
        Assert.Equal(new NftChanges(null, 1, 0), log.Summarise(Calico, 8, 9));
    }

    /// <summary>nlmsghdr (16 bytes, host order), nfgenmsg (family, version 0, res_id), then attributes padded to 4.</summary>
    private static byte[] Message(byte type, byte family, params (ushort Type, byte[] Value)[] attributes)
    {
        var body = new List<byte> { family, 0, 0, 0 };
        foreach (var (attributeType, value) in attributes)
        {
            var header = new byte[4];
            BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)(4 + value.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(2), attributeType);
            body.AddRange(header);
            body.AddRange(value);
            while (body.Count % 4 != 0) body.Add(0);
        }
        var message = new byte[16 + body.Count];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), (ushort)(10 << 8 | type));
        body.CopyTo(message, 16);
        return message;
    }

    private static byte[] BigEndian(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    /// <summary>The fake, with someone else's transaction slipped in just before each of the reconciler's.</summary>
    private sealed class Interleaving(FakeNftables fake) : INftables
    {
        public Action? Before { get; set; }

        public void Apply(NftTransaction transaction)
        {
            Before?.Invoke();
            fake.Apply(transaction);
        }

        public NftTable? ReadTable(NftTableId table) => fake.ReadTable(table);

        public uint GetGeneration() => fake.GetGeneration();

        public NftChanges? ChangesSince(NftTableId table, uint after, uint upTo) => fake.ChangesSince(table, after, upTo);
    }
}
