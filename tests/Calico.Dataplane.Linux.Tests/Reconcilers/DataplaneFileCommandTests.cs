using Calico.Dataplane.Linux.Bgp;
using Calico.Dataplane.Linux.Commands;
using Calico.Model.Desired;
using static Calico.Dataplane.Linux.Tests.Reconcilers.Desired;

namespace Calico.Dataplane.Linux.Tests.Reconcilers;

/// <summary>`calico-silo dataplane plan|apply --file F --netns N` against a namespace of the test's own.</summary>
public sealed class DataplaneFileCommandTests : IDisposable
{
    private const string Tap = "tap12345678-9a";
    private readonly TestNamespace _host = TestNamespace.Create("cal-host");
    private readonly string _file = Path.GetTempFileName();

    public DataplaneFileCommandTests()
    {
        _host.AddVethPair("fab0", "fab0-peer");
        _host.Ip("addr", "add", "172.18.203.44/24", "dev", "fab0");
        _host.AddVethPair(Tap, "vm0");
        File.WriteAllText(_file, DesiredStateJson.Serialize([
            Interface(Tap, "fa:16:3e:00:00:03", "10.65.0.3"),
            Local("10.65.0.3/32", Tap),
            Via("10.65.0.64/26", "172.18.203.31"),
        ]));
    }

    public void Dispose()
    {
        _host.Dispose();
        File.Delete(_file);
    }

    private static async Task<(int Exit, string Output, string Error)> Run(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var exit = await DataplaneFileCommand.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Plan_and_apply_show_the_tc_objects_of_a_ports_qos()
    {
        var rules = new[]
        {
            new Calico.Model.Resources.QosRule("in", "bandwidth_limit", 20_000, 1000, "ingress"),
            new Calico.Model.Resources.QosRule("out", "bandwidth_limit", 10_000, 0, "egress"),
        };
        File.WriteAllText(_file, DesiredStateJson.Serialize([
            Interface(Tap, "fa:16:3e:00:00:03", "10.65.0.3") with { Qos = new WorkloadQos("policy-1", Calico.Model.Collections.ValueList.ToValueList(rules)) },
        ]));

        var plan = await Run("plan", "--file", _file, "--netns", _host.Name);
        Assert.Equal(0, plan.Exit);
        Assert.Contains($"add    qdisc tbf rate 20Mbit burst 125000b limit 250000b root handle ca1: dev {Tap}", plan.Output, StringComparison.Ordinal);
        Assert.Contains("add    link qos12345678-9a type ifb up", plan.Output, StringComparison.Ordinal);
        Assert.Contains("add    qdisc tbf rate 10Mbit burst 1000000b limit 1062500b root handle ca1: dev qos12345678-9a", plan.Output, StringComparison.Ordinal);
        Assert.Contains($"add    qdisc ingress dev {Tap}", plan.Output, StringComparison.Ordinal);
        Assert.Contains($"add    filter dev {Tap} ingress prio 3233 u32 match all action mirred egress redirect dev qos12345678-9a", plan.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("tbf", _host.Exec("tc", "qdisc", "show"), StringComparison.Ordinal);

        var apply = await Run("apply", "--file", _file, "--netns", _host.Name);
        Assert.Equal(0, apply.Exit);
        Assert.Contains($"port-{Tap}: ACTIVE", apply.Output, StringComparison.Ordinal);
        Assert.Contains("qdisc tbf ca1: root", _host.Exec("tc", "qdisc", "show", "dev", "qos12345678-9a"), StringComparison.Ordinal);

        var again = await Run("plan", "--file", _file, "--netns", _host.Name);
        Assert.DoesNotContain("qdisc", again.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("filter", again.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_changes_nothing_then_apply_programs_the_file_then_plan_finds_nothing_to_do()
    {
        var plan = await Run("plan", "--file", _file, "--netns", _host.Name);
        Assert.Equal(0, plan.Exit);
        Assert.Contains($"add    route 10.65.0.3/32 dev {Tap} proto 80", plan.Output, StringComparison.Ordinal);
        Assert.Contains("add    route 10.65.0.64/26 via 172.18.203.31 proto 80", plan.Output, StringComparison.Ordinal);
        // Policy is on by default: the plan names the table and the endpoint's chain it would create.
        Assert.Contains("nft add table inet calico", plan.Output, StringComparison.Ordinal);
        Assert.Contains($"nft add element inet calico cali-from-wl {{ \"{Tap}\" : goto cali-pe-", plan.Output, StringComparison.Ordinal);
        Assert.Contains($"nft add element inet calico cali-wl-src-v4 {{ \"{Tap}\" . fa:16:3e:00:00:03 . 10.65.0.3 }}", plan.Output, StringComparison.Ordinal);
        Assert.Equal("", _host.Ip("route", "show", "proto", "80").Trim());
        Assert.DoesNotContain("calico", _host.Exec("nft", "list", "tables"), StringComparison.Ordinal);

        var apply = await Run("apply", "--file", _file, "--netns", _host.Name);
        Assert.Equal(0, apply.Exit);
        Assert.Contains($"port-{Tap}: ACTIVE", apply.Output, StringComparison.Ordinal);
        Assert.Contains("10.65.0.64/26 via 172.18.203.31 dev fab0", _host.Ip("route", "show", "proto", "80"), StringComparison.Ordinal);
        Assert.Contains(Tap, _host.Exec("nft", "list", "table", "inet", "calico"), StringComparison.Ordinal);

        var again = await Run("plan", "--file", _file, "--netns", _host.Name);
        Assert.Equal("no changes", again.Output.Trim());
    }

    [Fact]
    public async Task Without_policy_neither_plan_nor_apply_touches_nftables()
    {
        var plan = await Run("plan", "--file", _file, "--netns", _host.Name, "--no-policy");
        Assert.Equal(0, plan.Exit);
        Assert.Contains($"add    route 10.65.0.3/32 dev {Tap} proto 80", plan.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("nft ", plan.Output, StringComparison.Ordinal);

        var apply = await Run("apply", "--file", _file, "--netns", _host.Name, "--no-policy");
        Assert.Equal(0, apply.Exit);
        Assert.Contains($"10.65.0.3 dev {Tap}", _host.Ip("route", "show", "proto", "80"), StringComparison.Ordinal);
        Assert.DoesNotContain("calico", _host.Exec("nft", "list", "tables"), StringComparison.Ordinal);
    }

    /// <summary>
    /// Found by the soak (issue 16): its hosts' agents run BIRD with a 5 s graceful-restart wait, and `dataplane plan`
    /// rendered bird.conf with the defaults, so every converged host planned a rewrite and a reload of BIRD. The
    /// timers are the agent's options, and plan takes them as it takes the state directory.
    /// </summary>
    [Fact]
    public async Task Plan_renders_birds_configuration_with_the_agents_timers_and_finds_nothing_to_write_when_they_match()
    {
        var birdDirectory = Directory.CreateTempSubdirectory("cal-bird-").FullName;
        try
        {
            Dictionary<DesiredKey, DesiredItem> desired = new DesiredItem[]
            {
                Interface(Tap, "fa:16:3e:00:00:03", "10.65.0.3"),
                Local("10.65.0.3/32", Tap),
                new BgpNodeItem(System.Net.IPAddress.Parse("172.18.203.44"), 64512),
            }.ToDictionary(i => i.Key);
            File.WriteAllText(_file, DesiredStateJson.Serialize([.. desired.Values]));
            var agent = new BgpOptions
            {
                BirdStateDirectory = birdDirectory,
                BirdGracefulRestartWait = TimeSpan.FromSeconds(5),
                BgpHoldTime = TimeSpan.FromSeconds(9),
                BirdGracefulRestartTime = TimeSpan.FromSeconds(30),
            };
            var files = new BirdFiles(Path.Combine(birdDirectory, "netns", _host.Name));
            files.EnsureDirectory();
            files.WriteConfig(BirdConfiguration.Compute(desired, "tap", agent)!.Text);

            var withDefaults = await Run("plan", "--file", _file, "--netns", _host.Name, "--bird-state-directory", birdDirectory);
            Assert.Contains($"write  file {files.ConfigFile}", withDefaults.Output, StringComparison.Ordinal);

            var withTheAgents = await Run("plan", "--file", _file, "--netns", _host.Name, "--bird-state-directory", birdDirectory,
                "--bird-graceful-restart-wait", "00:00:05", "--bgp-hold-time", "00:00:09", "--bird-graceful-restart-time", "00:00:30");
            Assert.Equal(0, withTheAgents.Exit);
            Assert.DoesNotContain("write  file", withTheAgents.Output, StringComparison.Ordinal);
            Assert.Contains("start  bird", withTheAgents.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(birdDirectory, recursive: true);
        }
    }

    [Theory]
    [InlineData(new[] { "plan", "--file", "FILE", "--bird-graceful-restart-wait", "00:00:00" }, "BirdGracefulRestartWait")]
    [InlineData(new[] { "plan", "--file", "FILE", "--bgp-hold-time", "soon" }, "'soon' for option '--bgp-hold-time'")]
    [InlineData(new[] { "frobnicate" }, "usage")]
    [InlineData(new[] { "apply" }, "--file is required")]
    [InlineData(new[] { "apply", "--file", "/nonexistent/desired.json" }, "/nonexistent/desired.json")]
    [InlineData(new[] { "plan", "--file", "FILE", "--route-protocol", "2" }, "Dataplane:RouteProtocol 2 is reserved")]
    [InlineData(new[] { "plan", "--file", "FILE", "--route-protocol", "eighty" }, "'eighty' for option '--route-protocol'")]
    [InlineData(new[] { "apply", "--file", "FILE", "--frobnicate" }, "'--frobnicate'")]
    [InlineData(new string[0], "usage")]
    public async Task Bad_usage_is_refused_with_a_reason_and_exit_code_2(string[] args, string message)
    {
        var (exit, _, error) = await Run([.. args.Select(a => a == "FILE" ? _file : a)]);
        Assert.Equal(2, exit);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_the_options_and_exits_0()
    {
        var (exit, output, _) = await Run("plan", "--help");

        Assert.Equal(0, exit);
        foreach (var option in new[] { "--file", "--netns", "--route-protocol", "--no-policy" }) Assert.Contains(option, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_file_changes_nothing()
    {
        await File.WriteAllTextAsync(_file, """{"items":[{"item":"route","destination":"10.65.0.0/99","kind":"blackhole"}]}""");
        var (exit, _, error) = await Run("apply", "--file", _file, "--netns", _host.Name);
        Assert.Equal(2, exit);
        Assert.Contains("invalid prefix length", error, StringComparison.Ordinal);
        Assert.Equal("", _host.Ip("route", "show", "proto", "80").Trim());
    }
}
