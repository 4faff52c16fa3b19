using System.Diagnostics.Metrics;
using System.Net;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Model;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>The reconciler on the fake: what it writes, what it reads, what it repairs, and what it never touches.</summary>
public sealed class ReconcilerTests
{
    private static readonly NftTableId Calico = NftablesReconciler.DefaultTable;
    private static readonly NftTableId Other = new(NftFamily.Inet, "filter");

    private readonly FakeNftables _fake = new();

    public ReconcilerTests() => _fake.Apply(OtherTable());

    private NftablesReconciler NewReconciler() => new(_fake, retry: TransientRetry.Create(5, TimeSpan.Zero));

    [Fact]
    public void Creates_the_table_in_one_transaction_then_checks_only_the_generation()
    {
        var reconciler = NewReconciler();
        var desired = SampleTables.Empty().WithEndpoints([1, 2, 3]);

        var created = reconciler.Apply(desired);
        var reads = _fake.Reads;
        var again = reconciler.Apply(desired);

        Assert.True(created.Plan!.TableCreated);
        Assert.Equal(2, _fake.Committed.Count); // the other table's, then ours
        Assert.Equal(0, again.Operations);
        Assert.False(again.ReadKernel);
        Assert.Equal(reads, _fake.Reads);
        SampleTables.AssertHolds(desired, _fake.ReadTable(Calico));
    }

    [Fact]
    public void A_restarted_reconciler_adopts_a_matching_table_without_writing()
    {
        var desired = SampleTables.Empty().WithEndpoints(Enumerable.Range(1, 20));
        NewReconciler().Apply(desired);
        var committed = _fake.Committed.Count;
        var generation = _fake.GetGeneration();

        var adopted = NewReconciler().Apply(SampleTables.Empty().WithEndpoints(Enumerable.Range(1, 20)));

        Assert.True(adopted.ReadKernel);
        Assert.Equal(0, adopted.Operations);
        Assert.Equal(0, adopted.DriftRepairs);
        Assert.Equal(committed, _fake.Committed.Count);
        Assert.Equal(generation, _fake.GetGeneration());
    }

    [Fact]
    public void One_endpoint_or_one_element_costs_the_same_few_operations_at_any_table_size()
    {
        int Operations(int present, Func<NftTable, NftTable> change)
        {
            var fake = new FakeNftables();
            var reconciler = new NftablesReconciler(fake);
            var table = SampleTables.Empty().WithEndpoints(Enumerable.Range(1, present));
            reconciler.Apply(table);
            return reconciler.Apply(change(table)).Operations;
        }
        NftTable AddEndpoint(NftTable t) => t.WithEndpoint(10_000);
        NftTable AddElement(NftTable t) => t.WithElement("cali-ep-tap00000000001", new NftElement(new NftAddress(IPAddress.Parse("10.66.0.1"))));
        NftTable RemoveEndpoint(NftTable t) => t.WithoutEndpoint(1);

        Assert.Equal(12, Operations(10, AddEndpoint));
        Assert.Equal(12, Operations(300, AddEndpoint));
        Assert.Equal(1, Operations(10, AddElement));
        Assert.Equal(1, Operations(300, AddElement));
        Assert.Equal(Operations(10, RemoveEndpoint), Operations(300, RemoveEndpoint));
    }

    public static TheoryData<string> Drifts() => [.. HandEdits.Keys];

    private static readonly Dictionary<string, Action<FakeNftables>> HandEdits = new()
    {
        ["rule deleted"] = f => f.DeleteRule(Calico, "cali-fw-tap00000000002", 1),
        ["rule replaced, comment lost"] = f => f.ReplaceRule(Calico, "filter-forward", 0, NftRule.Observed("edited by hand")),
        ["rule inserted"] = f => f.InsertRule(Calico, "cali-tw-tap00000000001", 0, new NftRule(new NftVerdictStatement(NftVerdict.Accept))),
        ["element added to a set"] = f => f.Apply(new NftTransaction().Add(new NftAddElements(Calico, "cali-ep-tap00000000001",
            [new NftElement(new NftAddress(IPAddress.Parse("192.0.2.1")))]))),
        ["map element deleted"] = f => f.Apply(new NftTransaction().Add(new NftDeleteElements(Calico, SampleTables.ToWorkloads,
            [new NftInterfaceName(SampleTables.Interface(2))]))),
        ["chain added"] = f => f.Apply(new NftTransaction().Add(new NftAddChain(Calico, "by-hand", null))
            .Add(new NftAddRule(Calico, "by-hand", new NftRule(new NftVerdictStatement(NftVerdict.Drop))))),
        ["set added"] = f => f.Apply(new NftTransaction().Add(new NftAddSet(Calico, "by-hand", new NftSetType(NftDataType.Ipv6Address)))),
        ["base chain policy changed"] = f => f.Apply(new NftTransaction().Add(new NftAddChain(Calico, "filter-forward",
            new NftBaseChain(NftChainType.Filter, NftHook.Forward, 0, NftPolicy.Drop)))),
        ["table deleted"] = f => f.Apply(new NftTransaction().Add(new NftDeleteTable(Calico))),
    };

    [Theory]
    [MemberData(nameof(Drifts))]
    public void Drift_is_repaired_on_the_next_resync_and_the_other_table_is_untouched(string drift)
    {
        var reconciler = NewReconciler();
        var desired = SampleTables.Empty().WithEndpoints([1, 2]);
        reconciler.Apply(desired);
        var other = _fake.ReadTable(Other);

        HandEdits[drift](_fake);
        var repaired = reconciler.Resync();
        var quiet = reconciler.Resync();

        Assert.True(repaired.ReadKernel);
        Assert.True(repaired.DriftRepairs > 0, drift);
        SampleTables.AssertHolds(desired, _fake.ReadTable(Calico));
        Assert.Equal(other, _fake.ReadTable(Other));
        Assert.False(quiet.ReadKernel);
        Assert.Equal(0, quiet.Operations);
    }

    [Fact]
    public void Without_notifications_a_change_in_another_table_costs_one_read_and_no_write()
    {
        var fake = new FakeNftables(notifications: false);
        fake.Apply(OtherTable());
        var reconciler = new NftablesReconciler(fake);
        reconciler.Apply(SampleTables.Empty().WithEndpoint(1));
        var committed = fake.Committed.Count;

        fake.Apply(new NftTransaction().Add(new NftAddChain(Other, "more", null)));
        var result = reconciler.Resync();

        Assert.True(result.ReadKernel);
        Assert.Equal(1, reconciler.Reads["generation"]);
        Assert.Equal(0, result.Operations);
        Assert.Equal(committed + 1, fake.Committed.Count);
    }

    [Fact]
    public void Other_tables_survive_every_operation_including_a_forced_resync_and_removal()
    {
        var reconciler = NewReconciler();
        var other = _fake.ReadTable(Other);
        var table = SampleTables.Empty();

        reconciler.Apply(table = table.WithEndpoints([1, 2, 3]));
        Assert.Equal(other, _fake.ReadTable(Other));
        reconciler.Apply(table = table.WithoutEndpoint(2).WithEndpoint(4));
        Assert.Equal(other, _fake.ReadTable(Other));
        _fake.Apply(new NftTransaction().Add(new NftDeleteTable(Calico)));
        reconciler.Resync(readKernel: true);
        Assert.Equal(other, _fake.ReadTable(Other));
        SampleTables.AssertHolds(table, _fake.ReadTable(Calico));
        reconciler.Remove();

        Assert.Equal(other, _fake.ReadTable(Other));
        Assert.Null(_fake.ReadTable(Calico));
        Assert.All(_fake.Committed.Skip(1).SelectMany(t => t.Operations), o => Assert.Equal(Calico, o.Table));
    }

    [Fact]
    public void Transient_refusals_are_retried_until_they_pass()
    {
        var reconciler = NewReconciler();
        _fake.FailNext(Errno.EBUSY, count: 3);

        reconciler.Apply(SampleTables.Empty().WithEndpoint(1));

        SampleTables.AssertHolds(SampleTables.Empty().WithEndpoint(1), _fake.ReadTable(Calico));
    }

    [Fact]
    public void A_persistent_refusal_surfaces_and_leaves_the_kernel_as_it_was()
    {
        var reconciler = NewReconciler();
        var before = SampleTables.Empty().WithEndpoint(1);
        reconciler.Apply(before);
        _fake.FailNext(Errno.EINVAL, count: 2);

        var ex = Assert.Throws<NftablesException>(() => reconciler.Apply(before.WithEndpoint(2)));

        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.Contains("inet calico", ex.Message);
        SampleTables.AssertHolds(before, _fake.ReadTable(Calico));
        reconciler.Apply(before.WithEndpoint(2));
        SampleTables.AssertHolds(before.WithEndpoint(2), _fake.ReadTable(Calico));
    }

    [Fact]
    public void Too_many_transient_refusals_surface_as_transient()
    {
        var reconciler = new NftablesReconciler(_fake, retry: TransientRetry.Create(2, TimeSpan.Zero));
        _fake.FailNext(Errno.ENOBUFS, count: 3);

        var ex = Assert.Throws<NftablesException>(() => reconciler.Apply(SampleTables.Empty()));

        Assert.True(ex.IsTransient);
        Assert.Null(_fake.ReadTable(Calico));
    }

    [Fact]
    public void A_refusal_caused_by_stale_belief_is_repaired_by_reading_back_once()
    {
        var reconciler = NewReconciler();
        reconciler.Apply(SampleTables.Empty().WithEndpoint(1));
        _fake.FailNext(Errno.ENOENT);

        var result = reconciler.Apply(SampleTables.Empty().WithEndpoints([1, 2]));

        Assert.True(result.Operations > 0);
        SampleTables.AssertHolds(SampleTables.Empty().WithEndpoints([1, 2]), _fake.ReadTable(Calico));
    }

    [Fact]
    public void Never_writes_a_table_it_does_not_own()
    {
        var reconciler = NewReconciler();

        var ex = Assert.Throws<ArgumentException>(() => reconciler.Apply(new NftTable(Other)));

        Assert.Contains("owns table inet calico", ex.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_sequences_of_desired_states_and_hand_edits_always_converge(int seed)
    {
        var random = new Random(seed);
        var reconciler = NewReconciler();
        var other = _fake.ReadTable(Other);
        var present = new SortedSet<int>();
        for (var step = 0; step < 60; step++)
        {
            var endpoint = random.Next(1, 12);
            if (!present.Add(endpoint)) present.Remove(endpoint);
            var desired = SampleTables.Empty().WithEndpoints(present);
            if (random.Next(4) == 0 && present.Count > 0)
            {
                // Data only: an extra address in one endpoint's set.
                var some = present.ElementAt(random.Next(present.Count));
                desired = desired.WithElement($"cali-ep-{SampleTables.Interface(some)}", new NftElement(new NftAddress(IPAddress.Parse($"192.0.2.{step}"))));
            }
            if (random.Next(5) == 0) TryHandEdit(HandEdits.Values.ElementAt(random.Next(HandEdits.Count)));
            if (random.Next(8) == 0) reconciler = NewReconciler(); // a restart

            reconciler.Apply(desired);

            SampleTables.AssertHolds(desired, _fake.ReadTable(Calico));
            Assert.Equal(other, _fake.ReadTable(Other));
        }
    }

    /// <summary>An edit aimed at an endpoint that is not there right now does nothing, as it would with nft.</summary>
    private void TryHandEdit(Action<FakeNftables> edit)
    {
        try { edit(_fake); }
        catch (Exception e) when (e is NftablesException or InvalidOperationException or ArgumentOutOfRangeException) { }
    }

    [Fact]
    public void Operations_drift_repairs_and_durations_are_measured_on_the_project_meter()
    {
        var measurements = new List<(string Instrument, double Value, string? Kind)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CalicoTelemetry.Name) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i.Name, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i.Name, v, tags));
        listener.Start();
        var reconciler = NewReconciler();

        reconciler.Apply(SampleTables.Empty().WithEndpoint(1));
        _fake.DeleteRule(Calico, "filter-forward", 0);
        reconciler.Resync();

        lock (measurements)
        {
            // Values above 0: a dataplane starting elsewhere in the process records zeros under the same names.
            Assert.Contains(measurements, m => m is { Instrument: "calico.dataplane.operations", Kind: "nft", Value: > 0 });
            Assert.Contains(measurements, m => m is { Instrument: "calico.dataplane.drift_repairs", Kind: "nft", Value: > 0 });
            Assert.Contains(measurements, m => m.Instrument == "calico.nftables.transaction.duration");
        }

        void Record(string instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? kind = null;
            foreach (var tag in tags) if (tag.Key == "kind") kind = tag.Value as string;
            lock (measurements) measurements.Add((instrument, value, kind));
        }
    }

    /// <summary>Someone else's table: a base chain with a rule and a set, which must never change.</summary>
    private static NftTransaction OtherTable() => new NftTransaction()
        .Add(new NftAddTable(Other))
        .Add(new NftAddSet(Other, "blocked", new NftSetType(NftDataType.Ipv4Address)))
        .Add(new NftAddElements(Other, "blocked", [new NftElement(new NftAddress(IPAddress.Parse("198.51.100.1")))]))
        .Add(new NftAddChain(Other, "input", new NftBaseChain(NftChainType.Filter, NftHook.Input, 0)))
        .Add(new NftAddRule(Other, "input", new NftRule(new NftSetMatch(NftSelector.Ipv4Source, "blocked"), new NftVerdictStatement(NftVerdict.Drop))));
}
