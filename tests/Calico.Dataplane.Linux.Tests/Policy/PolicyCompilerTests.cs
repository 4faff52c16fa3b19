using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Dataplane.Linux.Policy;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using static Calico.Dataplane.Linux.Tests.Policy.PolicySamples;

namespace Calico.Dataplane.Linux.Tests.Policy;

/// <summary>The compiler alone (desired items → table): Neutron's semantics as nft rules, and what each change costs.</summary>
public sealed class PolicyCompilerTests
{
    [Theory]
    [InlineData("any IPv4", null, null, null, null, null, EtherType.IPv4, "meta nfproto ipv4 accept")]
    [InlineData("any IPv6", null, null, null, null, null, EtherType.IPv6, "meta nfproto ipv6 accept")]
    [InlineData("protocol 0 is any", 0, null, null, null, null, EtherType.IPv4, "meta nfproto ipv4 accept")]
    [InlineData("tcp, one port", 6, 22, 22, null, null, EtherType.IPv4, "meta nfproto ipv4 tcp dport 22 accept")]
    [InlineData("udp, a range", 17, 5000, 5010, null, null, EtherType.IPv4, "meta nfproto ipv4 udp dport 5000-5010 accept")]
    [InlineData("tcp, any port", 6, null, null, null, null, EtherType.IPv4, "meta nfproto ipv4 meta l4proto tcp accept")]
    [InlineData("sctp", 132, 9, 9, null, null, EtherType.IPv6, "meta nfproto ipv6 sctp dport 9 accept")]
    [InlineData("dccp, a range", 33, 100, 200, null, null, EtherType.IPv4, "meta nfproto ipv4 meta l4proto 33 th dport 100-200 accept")]
    [InlineData("a protocol by number", 47, null, null, null, null, EtherType.IPv4, "meta nfproto ipv4 meta l4proto 47 accept")]
    [InlineData("icmp, any", 1, null, null, null, null, EtherType.IPv4, "meta nfproto ipv4 meta l4proto icmp accept")]
    [InlineData("icmp, a type", 1, 8, null, null, null, EtherType.IPv4, "meta nfproto ipv4 icmp type 8 accept")]
    [InlineData("icmp, type and code", 1, 3, 4, null, null, EtherType.IPv4, "meta nfproto ipv4 icmp type 3 icmp code 4 accept")]
    [InlineData("icmpv6, a type", 58, 128, null, null, null, EtherType.IPv6, "meta nfproto ipv6 icmpv6 type 128 accept")]
    [InlineData("remote prefix", 6, 22, 22, "192.0.2.0/24", null, EtherType.IPv4, "ip saddr 192.0.2.0/24 tcp dport 22 accept")]
    [InlineData("remote prefix /0 is any", null, null, null, "0.0.0.0/0", null, EtherType.IPv4, "meta nfproto ipv4 accept")]
    [InlineData("remote IPv6 prefix", null, null, null, "2001:db8::/32", null, EtherType.IPv6, "ip6 saddr 2001:db8::/32 accept")]
    [InlineData("remote group", 6, 5432, 5432, null, "web", EtherType.IPv4, "ip saddr @cali-sg-web-v4 tcp dport 5432 accept")]
    [InlineData("remote group, IPv6", null, null, null, null, "web", EtherType.IPv6, "ip6 saddr @cali-sg-web-v6 accept")]
    public void Ingress_rules_match_the_source_and_accept(string what, int? protocol, int? from, int? to, string? prefix, string? group,
        EtherType etherType, string expected)
    {
        var rule = Ingress("r-" + what.Replace(' ', '-').Replace(",", ""), protocol, from, to, prefix, group, etherType);

        var rules = SecurityGroupRules.Compile(rule, (_, _) => false).ToList();

        Assert.Equal(expected, Assert.Single(rules).Body);
    }

    [Fact]
    public void Egress_rules_match_the_destination_and_go_on_to_the_receivers_side()
    {
        var rule = Egress("e1", IpProtocols.Udp, 53, 53, prefix: "198.51.100.0/24");

        Assert.Equal("ip daddr 198.51.100.0/24 udp dport 53 goto cali-fw-to", Assert.Single(SecurityGroupRules.Compile(rule, (_, _) => false)).Body);
    }

    [Fact]
    public void A_remote_group_with_prefix_members_is_matched_in_both_of_its_sets()
    {
        var rule = Ingress("r1", remoteGroup: "vrrp");

        var bodies = SecurityGroupRules.Compile(rule, (g, v) => g == "vrrp" && v == 4).Select(r => r.Body).ToList();

        Assert.Equal(["ip saddr @cali-sg-vrrp-v4 accept", "ip saddr @cali-sg-vrrp-n4 accept"], bodies);
    }

    [Fact]
    public void Group_ids_nft_does_not_take_as_names_are_hashed()
    {
        Assert.Equal("cali-sg-3f2a-uuid", PolicyNames.Group("3f2a-uuid"));
        Assert.StartsWith("cali-sgh-", PolicyNames.Group("project:default"));
        Assert.StartsWith("cali-sgh-", PolicyNames.Group(new string('a', 200)));
        Assert.NotEqual(PolicyNames.Group("a:b"), PolicyNames.Group("a:c"));
    }

    [Fact]
    public void An_endpoint_in_several_groups_gets_the_union_of_their_rules()
    {
        var table = PolicyCompiler.Compile([.. WebAndDatabase(), Endpoint("tapboth0000003", "fa:16:3e:00:00:03", ["10.65.0.5"], ["web", "db"])]);

        var ingress = Goto(table, PolicyNames.ToWorkload, "tapboth0000003");
        Assert.Equal(
            ["ct state established,related accept", "ct state invalid drop", "jump cali-sg-db-i", "jump cali-sg-web-i", "drop"],
            table.Chains[ingress].Rules.Select(r => r.Body));
        var egress = Goto(table, PolicyNames.FromWorkload, "tapboth0000003");
        Assert.Contains("jump cali-sg-db-e", table.Chains[egress].Rules.Select(r => r.Body));
        Assert.Contains("jump cali-sg-web-e", table.Chains[egress].Rules.Select(r => r.Body));
    }

    [Fact]
    public void Endpoints_with_the_same_groups_share_their_chains()
    {
        var table = PolicyCompiler.Compile([.. WebAndDatabase(), Endpoint("tapweb0000002", "fa:16:3e:00:00:05", ["10.65.0.6"], ["web"])]);

        Assert.Equal(Goto(table, PolicyNames.ToWorkload, "tapweb0000001"), Goto(table, PolicyNames.ToWorkload, "tapweb0000002"));
        Assert.Equal(4, table.Chains.Keys.Count(c => c.StartsWith("cali-p", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_group_without_rules_allows_nothing_and_an_endpoint_without_groups_passes_nothing()
    {
        var table = PolicyCompiler.Compile(
        [
            Group("empty"),
            Endpoint("tapa0000000001", "fa:16:3e:00:00:01", ["10.65.0.3"], ["empty"]),
            Endpoint("tapb0000000002", "fa:16:3e:00:00:02", ["10.65.0.4"], []),
            Endpoint("tapc0000000003", "fa:16:3e:00:00:03", ["10.65.0.5"], ["missing"]),
        ]);

        Assert.Empty(table.Chains["cali-sg-empty-i"].Rules);
        Assert.Equal("drop", table.Chains[Goto(table, PolicyNames.ToWorkload, "tapa0000000001")].Rules[^1].Body);
        var none = table.Chains[Goto(table, PolicyNames.ToWorkload, "tapb0000000002")];
        Assert.Equal(["ct state established,related accept", "ct state invalid drop", "drop"], none.Rules.Select(r => r.Body));
        // A group the desired state does not hold counts as none.
        Assert.Equal(Goto(table, PolicyNames.ToWorkload, "tapb0000000002"), Goto(table, PolicyNames.ToWorkload, "tapc0000000003"));
    }

    [Fact]
    public void A_stateless_group_gets_no_connection_tracking_shortcut()
    {
        var table = PolicyCompiler.Compile(
        [
            Group("udp-only", Ingress("u", IpProtocols.Udp, 53, 53)) with { Stateful = false },
            Endpoint("tapa0000000001", "fa:16:3e:00:00:01", ["10.65.0.3"], ["udp-only"]),
        ]);

        Assert.Equal(["jump cali-sg-udp-only-i", "drop"], table.Chains[Goto(table, PolicyNames.ToWorkload, "tapa0000000001")].Rules.Select(r => r.Body));
    }

    [Fact]
    public void An_administratively_down_endpoint_passes_nothing()
    {
        var table = PolicyCompiler.Compile([Group("web"), Endpoint("tapdown0000001", "fa:16:3e:00:00:01", ["10.65.0.3"], ["web"], adminUp: false)]);

        var key = new NftInterfaceName("tapdown0000001");
        Assert.True(table.Sets[PolicyNames.FromWorkload].Elements.TryGetValue(key, out var from) && from == NftVerdict.Drop);
        Assert.True(table.Sets[PolicyNames.ToWorkload].Elements.TryGetValue(key, out var to) && to == NftVerdict.Drop);
        Assert.True(table.Sets[PolicyNames.DownWorkloads].Elements.Contains(key));
        Assert.Empty(table.Sets[PolicyNames.Sources(4)].Elements);
        Assert.DoesNotContain(table.Chains.Keys, c => c.StartsWith("cali-p", StringComparison.Ordinal));
    }

    [Fact]
    public void An_endpoint_without_port_security_has_no_sources_and_no_policy_of_its_own()
    {
        var open = Endpoint("tapopen0000001", "fa:16:3e:00:00:01", ["10.65.0.3"], [], adminUp: true) with { PortSecurityOff = true };
        var table = PolicyCompiler.Compile([open]);

        var key = new NftInterfaceName("tapopen0000001");
        Assert.True(table.Sets[PolicyNames.FromWorkload].Elements.TryGetValue(key, out var from) && from == NftVerdict.Goto(PolicyNames.ForwardToDestination));
        Assert.True(table.Sets[PolicyNames.ToWorkload].Elements.TryGetValue(key, out var to) && to == NftVerdict.Accept);
        Assert.True(table.Sets[PolicyNames.UnsecuredWorkloads].Elements.Contains(key));
        Assert.Empty(table.Sets[PolicyNames.Sources(4)].Elements);
        Assert.DoesNotContain(table.Chains.Keys, c => c.StartsWith("cali-p", StringComparison.Ordinal));

        // Turned on again, incrementally: the port's own sources and a profile, and it leaves the unsecured set.
        var compiler = new PolicyCompiler();
        compiler.Apply(Set(open));
        Assert.Equal(table, compiler.Table);
        compiler.Apply(Set(open with { PortSecurityOff = false }));
        Assert.Empty(compiler.Table.Sets[PolicyNames.UnsecuredWorkloads].Elements);
        Assert.Equal(PolicyCompiler.Compile([open with { PortSecurityOff = false }]), compiler.Table);
        compiler.Apply(Set(open));
        Assert.Equal(table, compiler.Table);
    }

    [Fact]
    public void A_workload_may_send_from_its_own_addresses_and_pairs_with_their_macs()
    {
        var table = PolicyCompiler.Compile(
        [
            Endpoint("tapa0000000001", "fa:16:3e:00:00:01", ["10.65.0.3", "fd00:65::3"], [],
                pairs: [Pair("10.65.0.100/32"), Pair("10.66.0.0/24", "fa:16:3e:00:00:99"), Pair("10.66.0.128/25", "fa:16:3e:00:00:99"), Pair("fd00:99::/64")]),
        ]);

        Assert.Equal(
        [
            "\"tapa0000000001\" . fa:16:3e:00:00:01 . 10.65.0.3",
            "\"tapa0000000001\" . fa:16:3e:00:00:01 . 10.65.0.100",
        ], table.Sets[PolicyNames.Sources(4)].Elements.Select(e => e.Key.ToString()));
        Assert.Equal(
        [
            "\"tapa0000000001\" . fa:16:3e:00:00:01 . fd00:65::3",
            "\"tapa0000000001\" . fa:16:3e:00:00:01 . fe80::f816:3eff:fe00:1",
            "\"tapa0000000001\" . fa:16:3e:00:00:99 . fe80::f816:3eff:fe00:99",
        ], table.Sets[PolicyNames.Sources(6)].Elements.Select(e => e.Key.ToString()));
        // Prefixes go in interval sets; one covered by another of the same MAC is left out (the kernel refuses overlaps).
        Assert.Equal(["\"tapa0000000001\" . fa:16:3e:00:00:99 . 10.66.0.0/24"], table.Sets[PolicyNames.SourcePrefixes(4)].Elements.Select(e => e.Key.ToString()));
        Assert.True(table.Sets[PolicyNames.SourcePrefixes(6)].Type.Interval);
        Assert.Contains("iifname . ether saddr . ip saddr @cali-wl-srcnet-v4 accept", table.Chains[PolicyNames.RawPrerouting].Rules.Select(r => r.Body));
    }

    [Fact]
    public void Prefix_sets_exist_only_while_they_hold_something()
    {
        var plain = Endpoint("tapa0000000001", "fa:16:3e:00:00:01", ["10.65.0.3"], []);
        var compiler = new PolicyCompiler();
        compiler.Apply(Set(plain));
        Assert.DoesNotContain(PolicyNames.SourcePrefixes(4), compiler.Table.Sets.Keys);

        compiler.Apply(Set(plain with { AllowedAddressPairs = ValueList.Create(Pair("10.66.0.0/24")) }));
        Assert.Contains(PolicyNames.SourcePrefixes(4), compiler.Table.Sets.Keys);

        compiler.Apply(Set(plain));
        Assert.DoesNotContain(PolicyNames.SourcePrefixes(4), compiler.Table.Sets.Keys);
        Assert.Equal(PolicyCompiler.Compile([plain]), compiler.Table);
    }

    [Fact]
    public void Floating_ips_map_both_ways_and_a_fixed_address_leaves_from_its_lowest()
    {
        var table = PolicyCompiler.Compile(
        [
            Floating("172.24.4.20", "10.65.0.3", "tapa"),
            Floating("172.24.4.10", "10.65.0.3", "tapa"),
            Floating("2001:db8::10", "fd00:65::3", "tapa"),
        ]);

        Assert.Equal(["172.24.4.10 : 10.65.0.3", "172.24.4.20 : 10.65.0.3"], table.Sets[PolicyNames.FloatingDnat(4)].Elements.Select(e => e.ToString()));
        Assert.Equal(["10.65.0.3 : 172.24.4.10"], table.Sets[PolicyNames.FloatingSnat(4)].Elements.Select(e => e.ToString()));
        Assert.Equal(["fd00:65::3 : 2001:db8::10"], table.Sets[PolicyNames.FloatingSnat(6)].Elements.Select(e => e.ToString()));
    }

    [Fact]
    public void Pools_are_left_alone_between_each_other_and_outgoing_nat_pools_masquerade()
    {
        var table = PolicyCompiler.Compile([Pool("b", "10.66.0.0/16", false), Pool("a", "10.65.0.0/16", true), Pool("v6", "fd00:65::/48", true)]);

        Assert.Equal(
        [
            "ip daddr 10.65.0.0/16 return",
            "ip daddr 10.66.0.0/16 return",
            "ip6 daddr fd00:65::/48 return",
            "snat ip to ip saddr map @cali-fip-snat-v4",
            "snat ip6 to ip6 saddr map @cali-fip-snat-v6",
            "ip saddr 10.65.0.0/16 masquerade",
            "ip6 saddr fd00:65::/48 masquerade",
        ], table.Chains[PolicyNames.NatPostrouting].Rules.Select(r => r.Body));
    }

    [Fact]
    public void Failsafe_ports_come_first_and_apply_to_every_interface_but_workloads()
    {
        var settings = PolicySettings.Default with
        {
            FailsafeInbound = HostPort.ParseList("tcp:22,udp:68", "in"),
            FailsafeOutbound = HostPort.ParseList("udp:53", "out"),
            WorkloadToHostPorts = HostPort.ParseList("tcp:8080", "wl"),
        };
        var table = PolicyCompiler.Compile(WebAndDatabase(), settings);

        var input = table.Chains[PolicyNames.FilterInput].Rules.Select(r => r.Body).ToList();
        Assert.Equal(["iifname != \"tap*\" tcp dport 22 accept", "iifname != \"tap*\" udp dport 68 accept", "iifname \"tap*\" goto cali-wl-to-host"], input);
        Assert.Equal("oifname != \"tap*\" udp dport 53 accept", table.Chains[PolicyNames.FilterOutput].Rules[0].Body);
        var toHost = table.Chains[PolicyNames.WorkloadToHost].Rules.Select(r => r.Body).ToList();
        Assert.Equal(["tcp dport 8080 accept", "drop"], toHost[^2..]);
    }

    [Fact]
    public void An_endpoint_nft_cannot_hold_is_left_out_with_a_reason()
    {
        var compiler = new PolicyCompiler();
        var outside = Endpoint("eth9", "fa:16:3e:00:00:01", ["10.65.0.3"], []);
        compiler.Reset([outside]);

        Assert.Contains("does not start with Dataplane:WorkloadInterfacePrefix", compiler.ProblemOf(outside));
        Assert.Empty(compiler.Table.Sets[PolicyNames.FromWorkload].Elements);
    }

    [Fact]
    public void A_rule_nft_cannot_express_is_left_out_and_reported_on_the_groups_endpoints()
    {
        var bad = Ingress("bad", IpProtocols.Tcp, 22, 22, prefix: "fd00::/8");
        var endpoint = Endpoint("tapa0000000001", "fa:16:3e:00:00:01", ["10.65.0.3"], ["g"]);
        var compiler = new PolicyCompiler();
        compiler.Reset([Group("g", bad, Ingress("good", IpProtocols.Tcp, 80, 80)), endpoint]);

        Assert.Equal(["meta nfproto ipv4 tcp dport 80 accept"], compiler.Table.Chains["cali-sg-g-i"].Rules.Select(r => r.Body));
        Assert.Contains("rule bad", compiler.ProblemOf(endpoint));
    }

    // ---- What a change costs ----

    [Fact]
    public void Adding_an_endpoint_whose_groups_have_members_here_is_only_elements()
    {
        var compiler = new PolicyCompiler();
        compiler.Reset(WebAndDatabase());
        var before = compiler.Table;

        compiler.Apply(Set(Endpoint("tapweb0000009", "fa:16:3e:00:00:09", ["10.65.0.9"], ["web"])));

        Assert.Equal("""
            add element inet calico cali-from-wl { "tapweb0000009" : goto cali-pe-7b9a2782f961be68 }
            add element inet calico cali-to-wl { "tapweb0000009" : goto cali-pi-7b9a2782f961be68 }
            add element inet calico cali-wl-src-v4 { "tapweb0000009" . fa:16:3e:00:00:09 . 10.65.0.9 }
            add element inet calico cali-wl-src-v6 { "tapweb0000009" . fa:16:3e:00:00:09 . fe80::f816:3eff:fe00:9 }

            """, NftDiff.Plan(compiler.Table, before).Transaction.Render());
    }

    [Fact]
    public void A_member_change_is_one_element()
    {
        var compiler = new PolicyCompiler();
        compiler.Reset(WebAndDatabase());
        var before = compiler.Table;

        compiler.Apply(MemberChange(WebAndDatabase(), "web", "10.65.1.7", present: false));

        Assert.Equal("delete element inet calico cali-sg-web-v4 { 10.65.1.7 }\n", NftDiff.Plan(compiler.Table, before).Transaction.Render());
    }

    [Fact]
    public void A_bucket_that_swaps_one_member_for_another_is_one_delete_and_one_add()
    {
        var items = WebAndDatabase();
        var compiler = new PolicyCompiler();
        compiler.Reset(items);
        var before = compiler.Table;
        var held = items.OfType<IpSetMembersItem>().First(b => b.GroupId == "web");
        var gone = held.Members[0];
        var other = Enumerable.Range(1, 2000).Select(i => Model.Net.IpPrefix.Parse($"10.67.{i / 250}.{i % 250}/32"))
            .First(p => MemberBuckets.Of(p) == held.Bucket);

        compiler.Apply(Set(new IpSetMembersItem("web", held.Bucket, ValueList.Create([.. held.Members.Skip(1), other]))));

        var lines = NftDiff.Plan(compiler.Table, before).Transaction.Render().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"add element inet calico cali-sg-web-v4 {{ {other.Address} }}", $"delete element inet calico cali-sg-web-v4 {{ {gone.Address} }}"], lines.Order());
        Assert.Equal(PolicyCompiler.Compile([.. items.Where(i => i.Key != held.Key), new IpSetMembersItem("web", held.Bucket, ValueList.Create([.. held.Members.Skip(1), other]))]), compiler.Table);
    }

    [Fact]
    public void A_rule_change_rewrites_that_groups_chain_only()
    {
        var items = WebAndDatabase();
        var compiler = new PolicyCompiler();
        compiler.Reset(items);
        var before = compiler.Table;
        var db = items.OfType<SecurityGroupPolicyItem>().Single(g => g.GroupId == "db");

        compiler.Apply(Set(db with { Rules = ValueList.Create([.. db.Rules, Ingress("db-redis", IpProtocols.Tcp, 6379, 6379, remoteGroup: "web")]) }));

        var script = NftDiff.Plan(compiler.Table, before).Transaction.Render();
        Assert.Equal("""
            flush chain inet calico cali-sg-db-i
            add rule inet calico cali-sg-db-i ip saddr @cali-sg-web-v4 tcp dport 5432 accept comment "cal:b84d7639a7df788c sg-rule db-pg"
            add rule inet calico cali-sg-db-i meta nfproto ipv6 meta l4proto ipv6-icmp accept comment "cal:0e37f00d3b498218 sg-rule db-ping6"
            add rule inet calico cali-sg-db-i ip saddr @cali-sg-web-v4 tcp dport 6379 accept comment "cal:bb0d858b2bcef8a7 sg-rule db-redis"

            """, script);
    }

    [Fact]
    public void Planning_one_change_looks_only_at_what_the_change_touched()
    {
        var compiler = new PolicyCompiler();
        compiler.Reset(Enumerable.Range(0, 300).Select(i => (DesiredItem)Endpoint($"tap{i:x11}", "fa:16:3e:00:01:01", [$"10.65.{i / 250}.{i % 250 + 1}"], ["web"]))
            .Concat([Group("web", Ingress("r", remoteGroup: "web"))])
            .Concat(Members("web", [.. Enumerable.Range(0, 5000).Select(i => $"10.70.{i / 250}.{i % 250 + 1}")])));
        var before = compiler.Table;

        compiler.Apply(MemberChange(Members("web", [.. Enumerable.Range(0, 5000).Select(i => $"10.70.{i / 250}.{i % 250 + 1}")]), "web", "10.99.0.1", present: true));
        compiler.Apply(Set(Endpoint("tapnew00000001", "fa:16:3e:00:02:02", ["10.65.9.9"], ["web"])));
        var plan = NftDiff.Plan(compiler.Table, before);

        Assert.Equal(5, plan.Transaction.Count);
        Assert.All(plan.Transaction.Operations, o => Assert.IsType<NftAddElements>(o));
    }

    // ---- Order and increments ----

    [Fact]
    public void The_table_does_not_depend_on_the_order_of_the_items()
    {
        var items = WebAndDatabase();
        var expected = PolicyCompiler.Compile(items);
        var random = new Random(7);
        for (var i = 0; i < 20; i++)
            Assert.Equal(expected, PolicyCompiler.Compile(items.OrderBy(_ => random.Next())));
    }

    [Fact]
    public void Any_sequence_of_changes_ends_where_compiling_the_final_items_from_scratch_does()
    {
        var universe = Universe();
        for (var seed = 0; seed < 30; seed++)
        {
            var random = new Random(seed);
            var compiler = new PolicyCompiler();
            var current = new Dictionary<DesiredKey, DesiredItem>();
            for (var step = 0; step < 150; step++)
            {
                var candidates = universe[random.Next(universe.Count)];
                var item = candidates[random.Next(candidates.Count)];
                DesiredChange change = random.Next(3) == 0 ? Remove(item) : Set(item);
                DesiredDiff.ApplyTo(current, [change]);
                compiler.Apply(change);
                if (step % 10 == 9 || step == 149)
                {
                    var fresh = PolicyCompiler.Compile(current.Values);
                    if (!fresh.Equals(compiler.Table))
                        Assert.Fail($"seed {seed}, step {step}: incremental table differs:\n{NftDiff.Plan(fresh, compiler.Table).Transaction.Render()}");
                }
            }
        }
    }

    /// <summary>Variants of items under the same keys: endpoints moving between groups and states, groups changing rules.</summary>
    private static List<List<DesiredItem>> Universe()
    {
        var groups = new[] { "web", "db", "vrrp" };
        var result = new List<List<DesiredItem>>();
        for (var e = 0; e < 5; e++)
        {
            var name = $"tapep{e:x9}";
            var mac = $"fa:16:3e:00:00:0{e}";
            result.Add(
            [
                Endpoint(name, mac, [$"10.65.0.{e + 1}"], [groups[e % 3]]),
                Endpoint(name, mac, [$"10.65.0.{e + 1}", $"fd00::{e + 1}"], ["web", "db"]),
                Endpoint(name, mac, [$"10.65.0.{e + 1}"], [groups[e % 3]], adminUp: false),
                Endpoint(name, mac, [$"10.65.0.{e + 1}"], ["vrrp"], pairs: [Pair("10.66.0.0/24"), Pair($"10.66.1.{e}/32", "fa:16:3e:00:00:99")]),
                Endpoint(name, mac, [], ["missing"]),
                Endpoint(name, mac, [$"10.65.0.{e + 1}"], []) with { PortSecurityOff = true },
            ]);
        }
        result.Add([Group("web", Ingress("w1", IpProtocols.Tcp, 80, 80)), Group("web", Ingress("w1", remoteGroup: "db"), Egress("w2"))]);
        result.Add([Group("db", Ingress("d1", remoteGroup: "web")), Group("db", Ingress("d1", remoteGroup: "vrrp")) with { Stateful = false }]);
        result.Add([Group("vrrp", Ingress("v1", remoteGroup: "vrrp"), Ingress("v2", IpProtocols.Icmp, 8, 0))]);
        foreach (var member in new[] { "10.65.0.1", "10.65.0.2", "10.66.0.0/24", "10.66.0.0/16", "fd00::1", "fd00:1::/64" })
            foreach (var group in groups) result.Add([Member(group, member)]);
        result.Add([Floating("172.24.4.10", "10.65.0.1", "tapep000000000"), Floating("172.24.4.10", "10.65.0.2", "tapep000000001")]);
        result.Add([Floating("172.24.4.11", "10.65.0.1", "tapep000000000")]);
        result.Add([Pool("p", "10.65.0.0/16", true), Pool("p", "10.65.0.0/16", false)]);
        return result;
    }

    private static string Goto(NftTable table, string map, string iface)
    {
        Assert.True(table.Sets[map].Elements.TryGetValue(new NftInterfaceName(iface), out var verdict));
        return Assert.IsType<NftVerdict>(verdict).Chain!;
    }
}
