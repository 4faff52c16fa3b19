using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Dataplane.Linux.Policy;
using Calico.Model.Desired;
using Calico.Netlink;
using static Calico.Dataplane.Linux.Tests.Policy.PolicySamples;

namespace Calico.Dataplane.Linux.Tests.Policy;

/// <summary>The compiler and the reconciler together, on the fake nftables (which checks references as the kernel does).</summary>
public sealed class WorkloadPolicyTests
{
    private readonly FakeNftables _fake = new();

    private WorkloadPolicy NewPolicy() => new(_fake, PolicySettings.Default, TransientRetry.Create(5, TimeSpan.Zero));

    [Fact]
    public void A_change_after_a_snapshot_is_one_transaction_of_elements()
    {
        var policy = NewPolicy();
        var items = State(WebAndDatabase());
        policy.Apply(items);
        var committed = _fake.Committed.Count;

        var endpoint = Endpoint("tapweb0000009", "fa:16:3e:00:00:09", ["10.65.0.9"], ["web"]);
        DesiredDiff.ApplyTo(items, [Set(endpoint)]);
        policy.Apply(items, [Set(endpoint)], isSnapshot: false);

        Assert.Equal(committed + 1, _fake.Committed.Count);
        Assert.All(_fake.Committed[^1].Operations, o => Assert.IsType<NftAddElements>(o));
        Assert.Equal(PolicyCompiler.Compile(items.Values), policy.Compiler.Table);
    }

    [Fact]
    public void After_a_refused_table_every_port_reports_it_and_the_next_apply_starts_from_scratch()
    {
        var policy = NewPolicy();
        var items = State(WebAndDatabase());
        policy.Apply(items);
        var endpoint = Endpoint("tapweb0000009", "fa:16:3e:00:00:09", ["10.65.0.9"], ["web"]);
        // Refused twice: the reconciler reads the table back and tries once more before giving up.
        _fake.FailNext(Errno.EINVAL, count: 2);

        DesiredDiff.ApplyTo(items, [Set(endpoint)]);
        Assert.Throws<NftablesException>(() => policy.Apply(items, [Set(endpoint)], isSnapshot: false));
        Assert.StartsWith("policy not programmed", policy.ProblemOf(endpoint));

        // The next change is compiled with everything desired, so the lost one is not lost.
        var member = MemberChange(items.Values, "web", "10.65.3.3", present: true);
        DesiredDiff.ApplyTo(items, [member]);
        policy.Apply(items, [member], isSnapshot: false);

        Assert.Null(policy.ProblemOf(endpoint));
        Assert.Equal(PolicyCompiler.Compile(items.Values), policy.Compiler.Table);
        var kernel = _fake.ReadTable(PolicyNames.Table)!;
        Assert.Contains(new NftInterfaceName("tapweb0000009"), kernel.Sets[PolicyNames.FromWorkload].Elements.Keys);
    }

    [Fact]
    public void A_resync_repairs_a_rule_deleted_by_hand()
    {
        var policy = NewPolicy();
        var items = State(WebAndDatabase());
        policy.Apply(items);
        _fake.DeleteRule(PolicyNames.Table, "cali-sg-web-i", 0);

        var result = policy.Resync(items);

        Assert.True(result.DriftRepairs > 0);
        Assert.Equal(policy.Compiler.Table.Chains["cali-sg-web-i"].RuleHashes, _fake.ReadTable(PolicyNames.Table)!.Chains["cali-sg-web-i"].RuleHashes);
    }

    [Fact]
    public void The_plan_names_what_an_apply_would_write_and_writes_nothing()
    {
        var policy = NewPolicy();
        var items = State(WebAndDatabase());
        policy.Apply(items);
        var committed = _fake.Committed.Count;
        DesiredDiff.ApplyTo(items, [Set(Member("db", "10.65.9.9"))]);
        DesiredDiff.ApplyTo(items, [Set(Group("db", Ingress("any", remoteGroup: "db")))]);

        var plan = policy.Plan(items).ToList();

        Assert.Contains("nft add element inet calico cali-sg-db-v4 { 10.65.9.9 }", plan);
        Assert.Contains("nft flush chain inet calico cali-sg-db-i", plan);
        Assert.Equal(committed, _fake.Committed.Count);
    }

    [Theory]
    [InlineData("tcp:22,udp:68", "tcp:22 udp:68")]
    [InlineData(" tcp:22 , tcp:22,sctp:9 ", "tcp:22 sctp:9")]
    [InlineData("", "")]
    public void Host_ports_are_read_in_felixs_format(string text, string expected)
    {
        Assert.Equal(expected, string.Join(' ', HostPort.ParseList(text, "setting")));
    }

    [Theory]
    [InlineData("FailsafeInboundHostPorts", "tcp:22,icmp:8", "Dataplane:FailsafeInboundHostPorts: 'icmp:8' is not protocol:port")]
    [InlineData("FailsafeOutboundHostPorts", "udp:0", "Dataplane:FailsafeOutboundHostPorts: 'udp:0'")]
    [InlineData("WorkloadToHostPorts", "tcp:22-23", "Dataplane:WorkloadToHostPorts: 'tcp:22-23'")]
    [InlineData("WorkloadToHostAction", "Reject", "Dataplane:WorkloadToHostAction 'Reject' must be Drop or Accept")]
    [InlineData("MetadataAddress", "fd00::1", "Dataplane:MetadataAddress 'fd00::1' must be an IPv4 address")]
    [InlineData("WorkloadInterfacePrefix", "tap*", "Dataplane:WorkloadInterfacePrefix 'tap*'")]
    public void Bad_policy_settings_are_refused_with_a_message_naming_the_setting(string setting, string value, string message)
    {
        // Every policy setting is PolicyOptions' but the workload interface prefix, which the whole dataplane shares.
        object options = typeof(PolicyOptions).GetProperty(setting) is null ? new DataplaneOptions() : new PolicyOptions();
        options.GetType().GetProperty(setting)!.SetValue(options, value);

        var result = options is PolicyOptions policy
            ? new PolicyOptionsValidator().Validate(null, policy)
            : new DataplaneOptionsValidator().Validate(null, (DataplaneOptions)options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void The_defaults_are_valid_and_felixs()
    {
        var options = new PolicyOptions();
        Assert.True(new PolicyOptionsValidator().Validate(null, options).Succeeded);
        Assert.True(new DataplaneOptionsValidator().Validate(null, new DataplaneOptions()).Succeeded);

        var settings = PolicySettings.From(options, new DataplaneOptions());

        Assert.Equal("tcp:22 udp:68 tcp:179 tcp:2379 tcp:2380 tcp:5473 tcp:6443 tcp:6666 tcp:6667", string.Join(' ', settings.FailsafeInbound));
        Assert.Equal("udp:53 udp:67 tcp:179 tcp:2379 tcp:2380 tcp:5473 tcp:6443 tcp:6666 tcp:6667", string.Join(' ', settings.FailsafeOutbound));
        Assert.Equal(WorkloadToHostAction.Drop, settings.WorkloadToHost);
        Assert.Equal("127.0.0.1:8775", $"{settings.MetadataAddress}:{settings.MetadataPort}");
        Assert.True(options.PolicyEnabled);
    }
}
