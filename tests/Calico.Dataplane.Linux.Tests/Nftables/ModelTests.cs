using System.Net;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>Typed objects refuse what nft would refuse, at the place they are built, with a message naming it.</summary>
public sealed class ModelTests
{
    [Theory]
    [InlineData("")]
    [InlineData("1abc")]
    [InlineData("has space")]
    [InlineData("quote\"d")]
    [InlineData("semi;colon")]
    public void Names_nft_cannot_parse_are_refused(string name)
    {
        Assert.Throws<ArgumentException>(() => new NftChain(name));
        Assert.Throws<ArgumentException>(() => new NftTableId(NftFamily.Inet, name));
        Assert.Throws<ArgumentException>(() => NftSet.InterfaceNames(name, []));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sixteen-chars-xx")]
    [InlineData("tap\"1")]
    [InlineData("tap 1")]
    [InlineData("tap*")]
    public void Interface_names_the_kernel_cannot_hold_are_refused(string name) =>
        Assert.Throws<ArgumentException>(() => new NftInterfaceName(name));

    [Fact]
    public void A_wildcard_is_only_a_match_never_an_element()
    {
        Assert.Equal("iifname \"tap*\"", NftValueMatch.InterfaceName(NftSelector.InputInterfaceName, "tap*").ToString());
        Assert.Throws<ArgumentException>(() => NftSet.InterfaceNames("names", ["tap*"]));
    }

    [Fact]
    public void Elements_must_match_the_declaration()
    {
        var prefix = NftAddress.Parse("10.0.0.0/8");
        var ex = Assert.Throws<ArgumentException>(() => NftSet.Addresses("v4", NftDataType.Ipv4Address, [prefix]));
        Assert.Contains("interval", ex.Message);
        Assert.Throws<ArgumentException>(() => NftSet.Addresses("v4", NftDataType.Ipv4Address, [new NftAddress(IPAddress.Parse("fd00::1"))]));
        Assert.Throws<ArgumentException>(() => NftSet.VerdictMap("m", NftDataType.InterfaceName,
            [new KeyValuePair<NftValue, NftVerdict>(new NftInterfaceName("tap1"), NftVerdict.Reject)]));
        Assert.Throws<ArgumentException>(() => new NftSetType(NftDataType.InterfaceName, interval: true));
    }

    [Fact]
    public void Addresses_are_kept_canonical_so_they_compare_as_the_kernel_stores_them()
    {
        Assert.Equal(NftAddress.Parse("10.1.0.0/16"), NftAddress.Parse("10.1.2.3/16"));
        Assert.Equal("10.1.0.0/16", NftAddress.Parse("10.1.2.3/16").ToString());
        Assert.Equal("10.1.2.3", NftAddress.Parse("10.1.2.3/32").ToString());
        Assert.Throws<ArgumentException>(() => new NftAddressRange(IPAddress.Parse("10.0.0.9"), IPAddress.Parse("10.0.0.1")));
    }

    [Fact]
    public void The_rule_hash_depends_on_body_and_comment_only()
    {
        var a = new NftRule(new NftVerdictStatement(NftVerdict.Accept));
        var b = new NftRule(new NftVerdictStatement(NftVerdict.Accept));
        var commented = new NftRule([new NftVerdictStatement(NftVerdict.Accept)], "why");
        var drop = new NftRule(new NftVerdictStatement(NftVerdict.Drop));

        Assert.Equal(a.Hash, b.Hash);
        Assert.Equal(a, b);
        Assert.NotEqual(a.Hash, commented.Hash);
        Assert.NotEqual(a.Hash, drop.Hash);
        Assert.Matches("^[0-9a-f]{16}$", a.Hash);
        Assert.Equal($"cal:{commented.Hash} why", commented.CommentText);
    }

    [Fact]
    public void A_rule_read_back_is_known_by_its_comment_hash()
    {
        var rule = new NftRule([new NftVerdictStatement(NftVerdict.Accept)], "why");

        Assert.Equal(rule.Hash, NftRule.Observed(rule.CommentText).Hash);
        Assert.Null(NftRule.Observed(null).Hash);
        Assert.Null(NftRule.Observed("added by hand").Hash);
        Assert.Null(NftRule.Observed("cal:short").Hash);
        Assert.Throws<InvalidOperationException>(() => new NftAddRule(NftablesReconciler.DefaultTable, "c", NftRule.Observed(rule.CommentText)).ToString());
    }

    [Fact]
    public void Comments_that_would_break_the_script_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new NftRule([new NftCounter()], "say \"hi\""));
        Assert.Throws<ArgumentException>(() => new NftRule([new NftCounter()], "two\nlines"));
        Assert.Throws<ArgumentException>(() => new NftRule([new NftCounter()], new string('x', 101)));
    }

    [Fact]
    public void Tables_compare_by_content_and_share_unchanged_objects()
    {
        var one = SampleTables.Empty().WithEndpoint(1);
        var again = SampleTables.Empty().WithEndpoint(1);
        var two = one.WithEndpoint(2);

        Assert.Equal(one, again);
        Assert.NotEqual(one, two);
        Assert.Same(one.Chains["cali-fw-tap00000000001"], two.Chains["cali-fw-tap00000000001"]);
    }

    [Fact]
    public void References_that_nft_would_refuse_are_reported_before_anything_is_written()
    {
        var table = new NftTable(NftablesReconciler.DefaultTable)
            .WithChain(new NftChain("filter-input", new NftBaseChain(NftChainType.Filter, NftHook.Input, 0)))
            .WithChain(new NftChain("cali-a", null,
                new NftRule(new NftSetMatch(NftSelector.Ipv4Source, "missing"), new NftVerdictStatement(NftVerdict.Accept)),
                new NftRule(new NftVerdictStatement(NftVerdict.Jump("filter-input")))));

        var ex = Assert.Throws<ArgumentException>(() => NftDiff.Plan(table, null));

        Assert.Contains("no set or map named missing", ex.Message);
        Assert.Contains("filter-input is a base chain", ex.Message);
    }
}
