using System.Net;
using System.Text.Json;
using Calico.EndToEnd.Tests.Fixtures;
using Calico.Topology;
using Calico.Topology.Kernel;
using Calico.Topology.Probes;
using Xunit.Abstractions;

namespace Calico.EndToEnd.Tests;

/// <summary>The seed topology with drift repair slowed down, so that a route deleted by hand stays deleted until the test puts it back.</summary>
public sealed class SlowResyncSeedFixture : SeedTopologyFixture
{
    protected override TopologyOptions Options => new() { RouteResyncInterval = TimeSpan.FromMinutes(10) };
}

/// <summary>
/// <c>calicoctl policy explain</c> against the kernel: for a packet allowed by a rule, one dropped for lack of one, and
/// one allowed by a remote group's rule, the verdict computed from the desired state equals what the hosts' nftables
/// do with a real TCP connection from vm1 (h1) to vm2 (h2). And <c>calicoctl plan</c> asked of h1's agent: nothing to
/// change once converged, the route the test deleted by hand while it is missing (until the agent repairs it).
/// </summary>
public sealed class PolicyExplainKernelTests(SlowResyncSeedFixture fixture, ITestOutputHelper output) : IClassFixture<SlowResyncSeedFixture>
{
    private const int Closed = 7003;

    private async Task<(int Exit, JsonElement Json)> CalicoctlJsonAsync(params string[] args)
    {
        var result = await Calicoctl(args);
        output.WriteLine($"calicoctl {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Output}{result.Error}");
        using var doc = JsonDocument.Parse(result.Output);
        return (result.ExitCode, doc.RootElement.Clone());
    }

    private Task<CommandResult> Calicoctl(params string[] args) =>
        fixture.Topology.Controller.Namespace.TryExecAsync(TimeSpan.FromSeconds(120),
        [
            "dotnet", Path.Combine(AppContext.BaseDirectory, "calicoctl.dll"), .. args,
            "--gateway", $"{fixture.Topology.Controller.Address}:30000",
        ]);

    private Task<(int Exit, JsonElement Json)> ExplainAsync(int port) =>
        CalicoctlJsonAsync("policy", "explain", "--from", fixture.Vm1.PortId, "--to", fixture.Vm2.PortId, "--protocol", "tcp", "--port", $"{port}", "--json");

    /// <summary>Whether a TCP connection from vm1 to vm2's echo server on <paramref name="port"/> gets its answer (a drop shows as no answer).</summary>
    private async Task<bool> KernelDeliversAsync(int port) =>
        await TcpProbe.TryExchangeAsync(fixture.Vm1.Namespace, new IPEndPoint(SeedTopologyFixture.Vm2Address, port), "probe", TimeSpan.FromSeconds(3)) == "echo: probe";

    [Fact]
    public async Task The_explanation_s_verdict_is_what_the_kernel_does()
    {
        await fixture.DataPathReadyAsync();
        await fixture.ServeTcpAsync(fixture.Vm2, Closed);

        // Allowed by a rule: the seed group lets in TCP 7000.
        var (exit, open) = await ExplainAsync(SeedTopologyFixture.TcpPort);
        Assert.Equal((0, "allowed"), (exit, open.GetProperty("verdict").GetString()));
        Assert.Equal(fixture.Seed.SecurityGroupId, open.GetProperty("security_group").GetString());
        Assert.True(await Eventually.UntilAsync("vm1 -> vm2 tcp 7000", () => KernelDeliversAsync(SeedTopologyFixture.TcpPort), ok => ok, context: fixture.Diagnostics));

        // Dropped for lack of a rule: nothing lets in 7003, though vm2 serves it.
        var (dropExit, closed) = await ExplainAsync(Closed);
        Assert.Equal((1, "dropped"), (dropExit, closed.GetProperty("verdict").GetString()));
        Assert.StartsWith("dropped: no ingress rule of security groups", closed.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.False(await KernelDeliversAsync(Closed), "the kernel delivered what the explanation says is dropped");

        // Allowed by a remote group: a second group on vm2's port lets in 7003 from the seed group's members (vm1).
        var api = fixture.Topology.Api;
        var group = await api.CreateSecurityGroupAsync("from-seed", "7003 from the seed group's members");
        var groupId = (string)group["id"]!;
        var rule = await api.CreateAsync("security-group-rules", "security_group_rule", new JsonObject
        {
            ["security_group_id"] = groupId, ["direction"] = "ingress", ["ethertype"] = "IPv4", ["protocol"] = "tcp",
            ["port_range_min"] = Closed, ["port_range_max"] = Closed, ["remote_group_id"] = fixture.Seed.SecurityGroupId,
        });
        await api.UpdateAsync("ports", "port", fixture.Vm2.PortId, new JsonObject
        {
            ["security_groups"] = new JsonArray(fixture.Seed.SecurityGroupId, groupId),
        });
        var remote = await Eventually.UntilAsync("the explanation to see the new group", () => ExplainAsync(Closed), r => r.Exit == 0, context: fixture.Diagnostics);
        Assert.Equal((string)rule["id"]!, remote.Json.GetProperty("rule").GetString());
        Assert.Contains("remote group " + fixture.Seed.SecurityGroupId, remote.Json.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True(await Eventually.UntilAsync("vm1 -> vm2 tcp 7003 once h2 applied the group", () => KernelDeliversAsync(Closed), ok => ok,
            context: fixture.Diagnostics));
        // And the other way, vm2 -> vm1 on 7003: vm1's group has no such rule; both agree it is dropped.
        await fixture.ServeTcpAsync(fixture.Vm1, Closed);
        var (backExit, back) = await CalicoctlJsonAsync("policy", "explain", "--from", fixture.Vm2.PortId, "--to", SeedTopologyFixture.Vm1Address.ToString(),
            "--protocol", "tcp", "--port", $"{Closed}", "--json");
        Assert.Equal((1, "dropped"), (backExit, back.GetProperty("verdict").GetString()));
        Assert.Null(await TcpProbe.TryExchangeAsync(fixture.Vm2.Namespace, new IPEndPoint(SeedTopologyFixture.Vm1Address, Closed), "probe", TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task Plan_asks_the_host_s_agent_which_reads_its_kernel()
    {
        await fixture.DataPathReadyAsync();
        var h1 = fixture.Host(1);
        var tap = fixture.Vm1.TapName;
        var converged = await Eventually.UntilAsync("h1's plan to be empty", () => CalicoctlJsonAsync("plan", "--host", h1.Name, "--json"),
            r => r.Exit == 0 && r.Json.GetProperty("changes").GetArrayLength() == 0, context: fixture.Diagnostics);
        Assert.True(converged.Json.GetProperty("items").GetInt32() > 0);

        // Drift the agent has not seen yet (its resync is 10 minutes away): the plan shows the route it would add back.
        await h1.Namespace.IpAsync("route", "del", $"{SeedTopologyFixture.Vm1Address}/32", "dev", tap, "proto", "80");
        try
        {
            var drifted = await Calicoctl("plan", "--host", h1.Name);
            output.WriteLine(drifted.Output + drifted.Error);
            Assert.Equal(0, drifted.ExitCode);
            Assert.Contains($"route {SeedTopologyFixture.Vm1Address}/32 dev {tap}", drifted.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("no changes", drifted.Output, StringComparison.Ordinal);
        }
        finally
        {
            // The agent repairs it: a tap going down and up is reconciled at once, its local routes with it (the link watch).
            await h1.Namespace.TryIpAsync("link", "set", tap, "down");
            await h1.Namespace.TryIpAsync("link", "set", tap, "up");
        }
        await Eventually.UntilAsync("h1's plan to be empty again", () => CalicoctlJsonAsync("plan", "--host", h1.Name, "--json"),
            r => r.Exit == 0 && r.Json.GetProperty("changes").GetArrayLength() == 0, context: fixture.Diagnostics);
        // status: the controller and the two compute silos, each with its role, both hosts alive and in step.
        var status = await Eventually.UntilAsync("both hosts in step", () => CalicoctlJsonAsync("status", "--json"),
            r => r.Exit == 0 && r.Json.GetProperty("hosts").EnumerateArray().All(h => h.GetProperty("lag").ValueKind == JsonValueKind.Number && h.GetProperty("lag").GetInt64() == 0),
            context: fixture.Diagnostics);
        var roles = status.Json.GetProperty("silos").EnumerateArray()
            .Select(s => $"{string.Join(",", s.GetProperty("roles").EnumerateArray().Select(r => r.GetString()))}:{(s.GetProperty("host").ValueKind == JsonValueKind.String ? s.GetProperty("host").GetString() : "-")}")
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["compute:h1", "compute:h2", "controller:-"], roles);

        var dead = await Calicoctl("plan", "--host", "no-such-host");
        Assert.Equal(1, dead.ExitCode);
        Assert.Contains("calicoctl plan: no host no-such-host is registered", dead.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diags_bundles_a_host_s_kernel_with_our_table_and_the_cluster_s_state()
    {
        await fixture.DataPathReadyAsync();
        var h1 = fixture.Host(1);
        var into = Directory.CreateDirectory(Path.Combine(fixture.Topology.TempDirectory, "diags")).FullName;
        var diags = await Calicoctl("diags", "--netns", h1.Namespace.Name, "--output-dir", into);
        output.WriteLine(diags.Output + diags.Error);
        Assert.Equal(0, diags.ExitCode);
        var bundle = diags.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        await Shell.RunAsync("tar", ["-xzf", bundle, "-C", into]);
        var root = Directory.GetDirectories(into).Single();
        string Read(string file) => File.ReadAllText(Path.Combine(root, file));
        Assert.Contains("table inet calico", Read("kernel/nft-ruleset.txt"), StringComparison.Ordinal);
        Assert.Contains(fixture.Vm1.TapName, Read("kernel/ip-link.txt"), StringComparison.Ordinal);
        var routes = Read("kernel/ip-route.txt");
        Assert.True(routes.Contains($"unicast {SeedTopologyFixture.Vm1Address} dev {fixture.Vm1.TapName} table main proto 80", StringComparison.Ordinal), routes);
        Assert.Contains(fixture.Vm2.PortId, Read("cluster/endpoints.json"), StringComparison.Ordinal);
        Assert.Contains("no changes", Read($"cluster/plan/{h1.Name}.txt"), StringComparison.Ordinal);
        Assert.Equal("nothing failed\n", Read("errors.txt"));
    }
}
