using System.Net;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;

namespace Calico.Dataplane.Linux.Tests.Policy;

/// <summary>
/// Elements remember what they were derived from (added for the policy's big shared sets), so the diff of one element
/// in a large set looks at that element only, and plans exactly what a full comparison would.
/// </summary>
public sealed class ElementLineageTests
{
    private static NftAddress Address(int i) => new(new IPAddress([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]));

    private static NftTable Table(int members) =>
        new(NftablesReconciler.DefaultTable, sets: [NftSet.Addresses("members", NftDataType.Ipv4Address, Enumerable.Range(1, members).Select(i => (NftValue)Address(i)))]);

    [Fact]
    public void Derived_elements_name_only_the_keys_they_touched()
    {
        var start = NftElements.Of(Enumerable.Range(1, 1000).Select(i => (NftValue)Address(i)));

        var derived = start.Add(new NftElement(Address(5000))).Remove(Address(7)).Add(new NftElement(Address(7))).Remove(Address(9));

        Assert.True(derived.TryGetChangedKeysSince(start, out var keys));
        Assert.Equal([Address(7), Address(9), Address(5000)], keys);
        Assert.False(start.TryGetChangedKeysSince(derived, out _));
        Assert.False(NftElements.Of([Address(1)]).TryGetChangedKeysSince(start, out _));
    }

    [Fact]
    public void A_derived_set_plans_what_a_full_comparison_plans()
    {
        var kernel = Table(20_000);
        var desired = kernel.WithElement("members", new NftElement(Address(900_000))).WithoutElement("members", Address(3))
            .WithElement("members", new NftElement(Address(3))).WithoutElement("members", Address(4));
        // The same content without lineage: compared element by element.
        var rebuilt = new NftTable(NftablesReconciler.DefaultTable, sets: [NftSet.Addresses("members", NftDataType.Ipv4Address, desired.Sets["members"].Elements.Keys)]);

        var derived = NftDiff.Plan(desired, kernel).Transaction.Render();

        Assert.Equal(NftDiff.Plan(rebuilt, kernel).Transaction.Render(), derived);
        Assert.Equal("add element inet calico members { 10.13.187.160 }\ndelete element inet calico members { 10.0.0.4 }\n", derived);
    }

    [Fact]
    public void Undoing_a_change_plans_nothing()
    {
        var kernel = Table(100);

        var desired = kernel.WithElement("members", new NftElement(Address(5000))).WithoutElement("members", Address(5000));

        Assert.True(NftDiff.Plan(desired, kernel).IsEmpty);
    }
}
