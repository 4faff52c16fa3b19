using System.Net;
using Calico.Cli.Policy;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Cli.Tests;

/// <summary>
/// <see cref="PolicyExplainer"/> on hand-made desired states: the stage and the rule that decide, for the cases the
/// command line tests do not reach (ICMP type and code, port ranges, remote prefixes, allowed address pairs, port
/// security off, administratively down, floating IPs on one host and across two, IPv6).
/// </summary>
public sealed class PolicyExplainerTests
{
    private static readonly IPAddress A = IPAddress.Parse("10.65.0.2"), B = IPAddress.Parse("10.65.0.3");

    private static WorkloadInterfaceItem Tap(string id, IPAddress address, string[] groups, bool up = true, bool portSecurityOff = false,
        params AllowedAddressPair[] pairs) =>
        new("tap" + id, id, "fa:16:3e:00:00:0" + id[^1], ValueList.Create(IpPrefix.Host(address)), up, groups.ToValueList(),
            pairs.ToValueList(), 1500, portSecurityOff);

    private static SecurityGroupRule Rule(string id, RuleDirection direction, int? protocol = null, int? min = null, int? max = null,
        string? prefix = null, string? group = null, EtherType etherType = EtherType.IPv4) =>
        new(id, direction, etherType, protocol, min, max, prefix is null ? null : IpPrefix.Parse(prefix), group);

    private static SecurityGroupPolicyItem Group(string id, params SecurityGroupRule[] rules) => new(id, rules.ToValueList(), true);

    private static readonly SecurityGroupRule AnyOut = Rule("out", RuleDirection.Egress);

    private static HostPolicyView Host(string name, params DesiredItem[] items) => new(name, items);

    private static Explanation Explain(HostPolicyView one, HostPolicyView? other, int protocol, int? port, IPAddress? to = null, IPAddress? from = null) =>
        PolicyExplainer.Explain(one, "p1", other ?? one, "p2", new ExplainPacket(from ?? A, to ?? B, protocol, port));

    [Fact]
    public void Icmp_type_and_code_and_port_ranges_match_as_nft_would()
    {
        var h = Host("h1", Tap("p1", A, ["g"]), Tap("p2", B, ["g"]),
            Group("g", AnyOut, Rule("echo", RuleDirection.Ingress, IpProtocols.Icmp, 8, 0), Rule("range", RuleDirection.Ingress, IpProtocols.Udp, 1000, 2000)));
        Assert.Equal("echo", Explain(h, null, IpProtocols.Icmp, 8).Decisive.RuleId);
        Assert.False(Explain(h, null, IpProtocols.Icmp, 13).Allowed);
        Assert.Equal("range", Explain(h, null, IpProtocols.Udp, 2000).Decisive.RuleId);
        var dropped = Explain(h, null, IpProtocols.Udp, 2001);
        Assert.False(dropped.Allowed);
        Assert.Equal("ingress of p2", dropped.Decisive.Stage);
        Assert.Equal("dropped: no ingress rule of security groups g allows IPv4 udp port 2001 from 10.65.0.2", dropped.Decisive.Reason);
        Assert.False(Explain(h, null, IpProtocols.Tcp, 1500).Allowed);
    }

    [Fact]
    public void Egress_is_judged_on_the_source_s_host_and_a_remote_prefix_must_hold_the_remote()
    {
        var h = Host("h1", Tap("p1", A, ["g"]), Tap("p2", B, ["open"]),
            Group("g", Rule("to-10", RuleDirection.Egress, prefix: "10.0.0.0/8")), Group("open", Rule("in", RuleDirection.Ingress)));
        Assert.Equal(["anti-spoofing", "egress of p1", "ingress of p2"], Explain(h, null, IpProtocols.Tcp, 22).Steps.Select(s => s.Stage));
        var outside = PolicyExplainer.Explain(h, "p1", null, null, new ExplainPacket(A, IPAddress.Parse("192.0.2.1"), IpProtocols.Tcp, 443));
        Assert.False(outside.Allowed);
        Assert.Equal("egress of p1", outside.Decisive.Stage);
    }

    [Fact]
    public void Anti_spoofing_takes_own_addresses_and_pairs_of_the_port_s_mac_only()
    {
        var h = Host("h1", Tap("p1", A, ["g"], pairs: [new(IpPrefix.Parse("10.65.1.0/24"), null), new(IpPrefix.Parse("10.65.2.5/32"), "fa:16:3e:aa:bb:cc")]),
            Tap("p2", B, ["g"]), Group("g", AnyOut, Rule("in", RuleDirection.Ingress)));
        Assert.True(Explain(h, null, IpProtocols.Tcp, 1, from: IPAddress.Parse("10.65.1.77")).Allowed);
        var otherMac = Explain(h, null, IpProtocols.Tcp, 1, from: IPAddress.Parse("10.65.2.5"));
        Assert.Equal("anti-spoofing", otherMac.Decisive.Stage);
        Assert.Contains("only from MAC fa:16:3e:aa:bb:cc", otherMac.Decisive.Reason, StringComparison.Ordinal);
        Assert.False(Explain(h, null, IpProtocols.Tcp, 1, from: IPAddress.Parse("10.65.3.1")).Allowed);
        var unsecured = Host("h1", Tap("p1", A, [], portSecurityOff: true), Tap("p2", B, [], portSecurityOff: true));
        var any = Explain(unsecured, null, IpProtocols.Tcp, 1, from: IPAddress.Parse("10.65.3.1"));
        Assert.True(any.Allowed);
        Assert.All(any.Steps, s => Assert.Contains("port security disabled", s.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public void A_port_in_no_group_or_down_or_missing_is_dropped_with_the_reason()
    {
        var noGroup = Explain(Host("h1", Tap("p1", A, ["g"]), Tap("p2", B, []), Group("g", AnyOut)), null, IpProtocols.Tcp, 1);
        Assert.Equal("dropped: port p2 is in no security group, so nothing is allowed", noGroup.Decisive.Reason);
        var down = Explain(Host("h1", Tap("p1", A, ["g"]), Tap("p2", B, ["g"], up: false), Group("g", AnyOut)), null, IpProtocols.Tcp, 1);
        Assert.Equal(("ingress", "port p2 is administratively down: it may receive nothing"), (down.Decisive.Stage, down.Decisive.Reason));
        var missing = Explain(Host("h1", Tap("p1", A, ["g"]), Group("g", AnyOut)), Host("h2"), IpProtocols.Tcp, 1);
        Assert.Equal(("destination", "h2"), (missing.Decisive.Stage, missing.Decisive.Host));
    }

    [Fact]
    public void A_floating_ip_is_natted_before_ingress_and_the_remote_group_sees_the_fixed_source()
    {
        var floating = IPAddress.Parse("172.24.4.9");
        var h1 = Host("h1", Tap("p1", A, ["web"]), Group("web", AnyOut), new IpPoolItem("pool", IpPrefix.Parse("10.65.0.0/24"), false));
        var h2 = Host("h2", Tap("p2", B, ["db"]), Group("db", Rule("from-web", RuleDirection.Ingress, IpProtocols.Tcp, 5432, 5432, group: "web")),
            new IpSetMembersItem("web", MemberBuckets.Of(IpPrefix.Host(A)), ValueList.Create(IpPrefix.Host(A))),
            new FloatingNatItem(floating, B, "tapp2", "fip-1"), new IpPoolItem("pool", IpPrefix.Parse("10.65.0.0/24"), false));
        var viaFloating = Explain(h1, h2, IpProtocols.Tcp, 5432, to: floating);
        Assert.True(viaFloating.Allowed, string.Join("\n", viaFloating.Steps));
        Assert.Contains(viaFloating.Steps, s => s is { Stage: "floating IP", Host: "h2" } && s.Reason.Contains("DNAT to 10.65.0.3", StringComparison.Ordinal));
        Assert.Equal("from-web", viaFloating.Decisive.RuleId);

        // The source has a floating IP too: leaving the pools it is SNATed to it, and is then no member of web.
        var h1WithFloating = Host("h1", Tap("p1", A, ["web"]), Group("web", AnyOut), new FloatingNatItem(IPAddress.Parse("172.24.4.8"), A, "tapp1", "fip-0"),
            new IpPoolItem("pool", IpPrefix.Parse("10.65.0.0/24"), false));
        var snat = Explain(h1WithFloating, h2, IpProtocols.Tcp, 5432, to: floating);
        Assert.False(snat.Allowed);
        Assert.Contains(snat.Steps, s => s.Reason.Contains("SNAT from 10.65.0.2 to its floating IP 172.24.4.8", StringComparison.Ordinal));
    }

    [Fact]
    public void Rules_of_the_other_ethertype_do_not_match_ipv6()
    {
        var a6 = IPAddress.Parse("fd00::2");
        var b6 = IPAddress.Parse("fd00::3");
        var h = Host("h1", Tap("p1", a6, ["g"]), Tap("p2", b6, ["g"]),
            Group("g", AnyOut, Rule("out6", RuleDirection.Egress, etherType: EtherType.IPv6), Rule("v4-only", RuleDirection.Ingress),
                Rule("echo6", RuleDirection.Ingress, IpProtocols.Icmpv6, 128, etherType: EtherType.IPv6)));
        var echo = Explain(h, null, IpProtocols.Icmpv6, 128, to: b6, from: a6);
        Assert.Equal(["out6", "echo6"], echo.Steps.Where(s => s.RuleId is not null).Select(s => s.RuleId));
        Assert.False(Explain(h, null, IpProtocols.Tcp, 80, to: b6, from: a6).Allowed);
        Assert.Equal("ingress IPv6 ipv6-icmp type 128 from any address", PolicyExplainer.Describe(h.Groups["g"].Rules[3]));
    }
}
