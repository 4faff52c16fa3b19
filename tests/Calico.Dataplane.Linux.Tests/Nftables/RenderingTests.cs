using System.Net;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>
/// Golden texts of rendered scripts: the exact nft commands a desired table turns into. The kernel tests apply the
/// same scripts, so these texts are known to be accepted by nft 1.0.6.
/// </summary>
public sealed class RenderingTests
{
    [Fact]
    public void A_desired_table_renders_as_one_script_declarations_then_data_then_rules()
    {
        var desired = SampleTables.Empty().WithEndpoint(1);

        var script = NftDiff.Plan(desired, kernel: null).Transaction.Render();

        Assert.Equal("""
            add table inet calico
            add set inet calico cali-ep-tap00000000001 { type ipv4_addr; }
            add map inet calico cali-from-wl { type ifname : verdict; }
            add map inet calico cali-to-wl { type ifname : verdict; }
            add chain inet calico cali-fw-tap00000000001
            add chain inet calico cali-tw-tap00000000001
            add chain inet calico filter-forward { type filter hook forward priority 0; policy accept; }
            add element inet calico cali-ep-tap00000000001 { 10.65.0.1 }
            add element inet calico cali-from-wl { "tap00000000001" : jump cali-fw-tap00000000001 }
            add element inet calico cali-to-wl { "tap00000000001" : jump cali-tw-tap00000000001 }
            add rule inet calico cali-fw-tap00000000001 ip saddr != @cali-ep-tap00000000001 drop comment "cal:8fade0155f0340c5"
            add rule inet calico cali-fw-tap00000000001 udp dport 67 accept comment "cal:d30a956f2c2f7d68"
            add rule inet calico cali-fw-tap00000000001 accept comment "cal:c125d0397b605657"
            add rule inet calico cali-tw-tap00000000001 tcp dport { 22, 8000-8080 } accept comment "cal:5a1ba71826d685a5"
            add rule inet calico cali-tw-tap00000000001 ip saddr 10.65.0.0/16 accept comment "cal:6e1a67b3ec7a9b63"
            add rule inet calico cali-tw-tap00000000001 drop comment "cal:d90ee9ccf6bea1d2"
            add rule inet calico filter-forward ct state established,related accept comment "cal:d715fd9ae66447ce"
            add rule inet calico filter-forward iifname vmap @cali-from-wl comment "cal:e27af14700a8a00e"
            add rule inet calico filter-forward oifname vmap @cali-to-wl comment "cal:9a73e55084945cb0"
            add rule inet calico filter-forward iifname "tap*" counter drop comment "cal:6f8a4e620e841b5b unknown workload"

            """, script);
    }

    [Fact]
    public void Adding_one_endpoint_renders_only_its_objects()
    {
        var one = SampleTables.Empty().WithEndpoint(1);

        var script = NftDiff.Plan(one.WithEndpoint(2), one).Transaction.Render();

        Assert.Equal("""
            add set inet calico cali-ep-tap00000000002 { type ipv4_addr; }
            add chain inet calico cali-fw-tap00000000002
            add chain inet calico cali-tw-tap00000000002
            add element inet calico cali-ep-tap00000000002 { 10.65.0.2 }
            add element inet calico cali-from-wl { "tap00000000002" : jump cali-fw-tap00000000002 }
            add element inet calico cali-to-wl { "tap00000000002" : jump cali-tw-tap00000000002 }
            add rule inet calico cali-fw-tap00000000002 ip saddr != @cali-ep-tap00000000002 drop comment "cal:f4f8bb598789aba0"
            add rule inet calico cali-fw-tap00000000002 udp dport 67 accept comment "cal:d30a956f2c2f7d68"
            add rule inet calico cali-fw-tap00000000002 accept comment "cal:c125d0397b605657"
            add rule inet calico cali-tw-tap00000000002 tcp dport { 22, 8000-8080 } accept comment "cal:5a1ba71826d685a5"
            add rule inet calico cali-tw-tap00000000002 ip saddr 10.65.0.0/16 accept comment "cal:6e1a67b3ec7a9b63"
            add rule inet calico cali-tw-tap00000000002 drop comment "cal:d90ee9ccf6bea1d2"

            """, script);
    }

    [Fact]
    public void Removing_an_endpoint_unlinks_first_and_deletes_last()
    {
        var two = SampleTables.Empty().WithEndpoints([1, 2]);

        var script = NftDiff.Plan(two.WithoutEndpoint(1), two).Transaction.Render();

        Assert.Equal("""
            flush chain inet calico cali-fw-tap00000000001
            flush chain inet calico cali-tw-tap00000000001
            delete element inet calico cali-from-wl { "tap00000000001" }
            delete element inet calico cali-to-wl { "tap00000000001" }
            delete set inet calico cali-ep-tap00000000001
            delete chain inet calico cali-fw-tap00000000001
            delete chain inet calico cali-tw-tap00000000001

            """, script);
    }

    [Fact]
    public void One_element_is_one_command()
    {
        var table = SampleTables.Empty().WithEndpoint(1);
        var extra = new NftAddress(IPAddress.Parse("10.65.9.9"));

        Assert.Equal("add element inet calico cali-ep-tap00000000001 { 10.65.9.9 }\n",
            NftDiff.Plan(table.WithElement("cali-ep-tap00000000001", new NftElement(extra)), table).Transaction.Render());
        Assert.Equal("delete element inet calico cali-ep-tap00000000001 { 10.65.0.1 }\n",
            NftDiff.Plan(table.WithoutElement("cali-ep-tap00000000001", new NftAddress(SampleTables.Address(1))), table).Transaction.Render());
    }

    [Fact]
    public void A_changed_map_value_is_deleted_then_added()
    {
        var table = SampleTables.Empty().WithEndpoint(1);
        var changed = table.WithElement(SampleTables.FromWorkloads, new NftElement(new NftInterfaceName(SampleTables.Interface(1)), NftVerdict.Drop));

        Assert.Equal("""
            delete element inet calico cali-from-wl { "tap00000000001" }
            add element inet calico cali-from-wl { "tap00000000001" : drop }

            """, NftDiff.Plan(changed, table).Transaction.Render());
    }

    [Fact]
    public void Sets_of_every_supported_type_render_as_nft_reads_them()
    {
        var id = new NftTableId(NftFamily.Ip6, "calico");
        var table = new NftTable(id)
            .WithSet(NftSet.Addresses("v4", NftDataType.Ipv4Address,
                [new NftAddress(IPAddress.Parse("10.0.0.1")), NftAddress.Parse("10.1.2.3/16"),
                 new NftAddressRange(IPAddress.Parse("10.2.0.1"), IPAddress.Parse("10.2.0.9"))], interval: true))
            .WithSet(NftSet.Addresses("v6", NftDataType.Ipv6Address,
                [new NftAddress(IPAddress.Parse("fd00::1")), NftAddress.Parse("fd00:65::/64")], interval: true))
            .WithSet(NftSet.InterfaceNames("names", ["tap2", "tap1"]))
            .WithChain(new NftChain("cali-x", null, new NftRule(new NftVerdictStatement(NftVerdict.Return))))
            .WithSet(NftSet.VerdictMap("dispatch", NftDataType.Ipv6Address, new Dictionary<NftValue, NftVerdict>
            {
                [new NftAddress(IPAddress.Parse("fd00::2"))] = NftVerdict.Goto("cali-x"),
                [new NftAddress(IPAddress.Parse("fd00::1"))] = NftVerdict.Accept,
            }));

        var script = NftDiff.Plan(table, null).Transaction.Render();

        Assert.Equal("""
            add table ip6 calico
            add map ip6 calico dispatch { type ipv6_addr : verdict; }
            add set ip6 calico names { type ifname; }
            add set ip6 calico v4 { type ipv4_addr; flags interval; }
            add set ip6 calico v6 { type ipv6_addr; flags interval; }
            add chain ip6 calico cali-x
            add element ip6 calico dispatch { fd00::1 : accept, fd00::2 : goto cali-x }
            add element ip6 calico names { "tap1", "tap2" }
            add element ip6 calico v4 { 10.0.0.1, 10.1.0.0/16, 10.2.0.1-10.2.0.9 }
            add element ip6 calico v6 { fd00::1, fd00:65::/64 }
            add rule ip6 calico cali-x return comment "cal:7187f0675eb38279"

            """, script);
    }

    [Fact]
    public void Statements_render_in_nft_syntax()
    {
        (NftStatement Statement, string Text)[] cases =
        [
            (new NftValueMatch(NftSelector.OutputInterfaceName, new NftInterfaceName("tap1"), negate: true), "oifname != \"tap1\""),
            (new NftValueMatch(NftSelector.Ipv6Destination, NftAddress.Parse("fd00::1:2/112")), "ip6 daddr fd00::1:0/112"),
            (new NftSetMatch(NftSelector.Ipv6Source, "cali-sg-web"), "ip6 saddr @cali-sg-web"),
            (new NftSetMatch(NftSelector.InputInterfaceName, "names", negate: true), "iifname != @names"),
            (new NftProtocolMatch(58), "meta l4proto ipv6-icmp"),
            (new NftProtocolMatch(47), "meta l4proto 47"),
            (new NftPortMatch(17, NftPortField.Source, [68]), "udp sport 68"),
            (new NftPortMatch(6, NftPortField.Destination, [new NftPortRange(1024, 65535)], negate: true), "tcp dport != 1024-65535"),
            (new NftConnectionStateMatch(NftConnectionStates.Invalid), "ct state invalid"),
            (new NftConnectionStateMatch(NftConnectionStates.New | NftConnectionStates.Untracked, negate: true), "ct state != new,untracked"),
            (new NftIpVersionMatch(6), "meta nfproto ipv6"),
            (new NftVerdictStatement(NftVerdict.Reject), "reject"),
            (new NftVerdictStatement(NftVerdict.Jump("cali-po-web")), "jump cali-po-web"),
            (new NftVerdictMapStatement(NftSelector.Ipv4Destination, "dnat-targets"), "ip daddr vmap @dnat-targets"),
        ];

        foreach (var (statement, text) in cases) Assert.Equal(text, statement.ToString());
    }

    [Fact]
    public void Base_chain_policy_change_is_an_update_and_a_hook_change_recreates_the_chain()
    {
        var accept = new NftTable(NftablesReconciler.DefaultTable).WithChain(new NftChain("filter-input", new NftBaseChain(NftChainType.Filter, NftHook.Input, 0),
            new NftRule(new NftVerdictStatement(NftVerdict.Accept))));
        var drop = accept.WithChain(new NftChain("filter-input", new NftBaseChain(NftChainType.Filter, NftHook.Input, 0, NftPolicy.Drop),
            [.. accept.Chains["filter-input"].Rules]));
        var moved = accept.WithChain(new NftChain("filter-input", new NftBaseChain(NftChainType.Filter, NftHook.Output, 10),
            [.. accept.Chains["filter-input"].Rules]));

        Assert.Equal("add chain inet calico filter-input { type filter hook input priority 0; policy drop; }\n",
            NftDiff.Plan(drop, accept).Transaction.Render());
        Assert.Equal("""
            flush chain inet calico filter-input
            delete chain inet calico filter-input
            add chain inet calico filter-input { type filter hook output priority 10; policy accept; }
            add rule inet calico filter-input accept comment "cal:c125d0397b605657"

            """, NftDiff.Plan(moved, accept).Transaction.Render());
    }

    [Fact]
    public void A_set_declaration_change_recreates_it_and_rewrites_the_chains_that_use_it()
    {
        var table = SampleTables.Empty().WithEndpoint(1);
        var set = table.Sets["cali-ep-tap00000000001"];
        var widened = table.WithSet(new NftSet(set.Name, new NftSetType(NftDataType.Ipv4Address, interval: true),
            set.Elements.Add(new NftElement(NftAddress.Parse("10.66.0.0/24")))));

        Assert.Equal("""
            flush chain inet calico cali-fw-tap00000000001
            delete set inet calico cali-ep-tap00000000001
            add set inet calico cali-ep-tap00000000001 { type ipv4_addr; flags interval; }
            add element inet calico cali-ep-tap00000000001 { 10.65.0.1, 10.66.0.0/24 }
            add rule inet calico cali-fw-tap00000000001 ip saddr != @cali-ep-tap00000000001 drop comment "cal:8fade0155f0340c5"
            add rule inet calico cali-fw-tap00000000001 udp dport 67 accept comment "cal:d30a956f2c2f7d68"
            add rule inet calico cali-fw-tap00000000001 accept comment "cal:c125d0397b605657"

            """, NftDiff.Plan(widened, table).Transaction.Render());
    }
}
