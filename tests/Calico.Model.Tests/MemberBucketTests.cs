using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Validation;

namespace Calico.Model.Tests;

/// <summary>Remote-group member sets travel as buckets: a stable split, one bucket per change, refused when inconsistent.</summary>
public class MemberBucketTests
{
    private static IpPrefix P(string text) => IpPrefix.Parse(text);

    [Fact]
    public void The_bucket_of_a_prefix_is_stable_across_processes_and_versions()
    {
        // Pinned: engines and references on different controllers must split a set the same way.
        Assert.Equal([14, 55, 55, 17, 15], new[] { "10.65.0.2/32", "10.65.0.3/32", "10.66.0.0/24", "fd00::1/128", "0.0.0.0/0" }.Select(t => MemberBuckets.Of(P(t))));
        Assert.NotEqual(MemberBuckets.Of(P("10.66.0.0/24")), MemberBuckets.Of(P("10.66.0.0/16")));
    }

    [Fact]
    public void A_set_splits_into_sorted_buckets_that_hold_every_member_once()
    {
        var members = Enumerable.Range(0, 5000).Select(i => IpPrefix.Host(new System.Net.IPAddress([10, 70, (byte)(i / 250), (byte)(i % 250 + 1)]))).ToList();
        var buckets = IpSetMembersItem.Split("g", [.. members, .. members.Take(10)]).ToList();

        Assert.Equal(MemberBuckets.Count, buckets.Count);
        Assert.Equal(members.Order(MemberBuckets.Comparer), buckets.SelectMany(b => b.Members).Order(MemberBuckets.Comparer));
        Assert.All(buckets, b => Assert.Equal(b.Members.Order(MemberBuckets.Comparer), b.Members));
        Assert.All(buckets, b => Assert.InRange(b.Members.Count, 30, 130));
        Assert.Equal(buckets.Count, buckets.Select(b => b.Key).Distinct().Count());
    }

    [Fact]
    public void Equal_sets_given_in_any_order_are_equal_items()
    {
        var a = P("10.65.0.2/32");
        var bucket = MemberBuckets.Of(a);
        var b = Enumerable.Range(3, 500).Select(i => P($"10.65.{i / 250}.{i % 250}/32")).First(p => p != a && MemberBuckets.Of(p) == bucket);
        Assert.Equal(new IpSetMembersItem("g", bucket, ValueList.Create(a, b)), new IpSetMembersItem("g", bucket, ValueList.Create(b, a, b)));
    }

    [Fact]
    public void A_member_in_the_wrong_bucket_or_an_empty_bucket_is_refused_naming_the_member()
    {
        var member = P("10.65.0.2/32");
        var wrong = (MemberBuckets.Of(member) + 1) % MemberBuckets.Count;
        var ex = Assert.Throws<ArgumentException>(() => new IpSetMembersItem("g", wrong, ValueList.Create(member)));
        Assert.Contains($"10.65.0.2/32 belongs in bucket {MemberBuckets.Of(member)}", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new IpSetMembersItem("g", MemberBuckets.Count, ValueList.Create(member)));
        Assert.Throws<ArgumentException>(() => new IpSetMembersItem("g", 0, ValueList<IpPrefix>.Empty));

        var json = $$"""{"items":[{"item":"ipset-members","groupId":"g","bucket":{{wrong}},"members":["10.65.0.2/32"]}]}""";
        var refused = Assert.Throws<InvalidInputException>(() => DesiredStateJson.Deserialize(json));
        Assert.Contains("10.65.0.2/32 belongs in bucket", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Adding_and_removing_a_member_changes_its_bucket_only()
    {
        var held = IpSetMembersItem.Split("g", [P("10.65.0.2/32"), P("10.65.0.3/32")]).ToDictionary(b => b.Key, b => (DesiredItem)b);
        var member = P("10.65.0.3/32");
        var key = MemberBuckets.KeyOf("g", MemberBuckets.Of(member));

        var removed = IpSetMembersItem.Change((IpSetMembersItem)held[key], "g", member, present: false);
        Assert.Equal(key, removed.Key);
        DesiredDiff.ApplyTo(held, [removed]);
        Assert.Equal([P("10.65.0.2/32")], held.Values.OfType<IpSetMembersItem>().SelectMany(b => b.Members));

        var added = IpSetMembersItem.Change(held.GetValueOrDefault(key) as IpSetMembersItem, "g", member, present: true);
        DesiredDiff.ApplyTo(held, [added]);
        Assert.Equal(IpSetMembersItem.Split("g", [P("10.65.0.2/32"), P("10.65.0.3/32")]).ToDictionary(b => b.Key, b => (DesiredItem)b), held);
    }
}
