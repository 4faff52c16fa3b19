using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Text.Json;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Silo.Tests;

namespace Calico.Cli.Tests;

/// <summary>
/// The operator's commands (<c>status</c>, <c>host list|show</c>, <c>endpoint list|show</c>, <c>ipam show</c>,
/// <c>plan</c>, <c>policy explain</c>, <c>diags</c>) run as an operator runs them, against an all-in-one silo whose
/// compute role holds its desired state in memory (nothing touches this machine's kernel), host h1; a second host h2
/// is registered by hand and never reports (dead). Ports: p1 on h1 in group web, p2 on h2 in group db (which lets in
/// web's members on 5432), p3 unbound.
/// </summary>
public sealed class OperatorCommandTests(OperatorCluster cluster) : IClassFixture<OperatorCluster>
{
    private readonly SiloProcess _silo = cluster.Silo;
    private readonly string[] _gw = ["--gateway", $"127.0.0.1:{cluster.Silo.GatewayPort}"];
    private readonly IPAddress _p1 = cluster.P1, _p2 = cluster.P2;

    private Task<Calicoctl.Result> Run(params string[] args) => Calicoctl.RunAsync([.. args, .. _gw]);

    private static void Exits(int code, Calicoctl.Result result, params string[] texts)
    {
        Assert.True(result.ExitCode == code, $"expected exit {code}:\n{result}");
        foreach (var text in texts)
            Assert.True((result.Output + result.Error).Contains(text, StringComparison.Ordinal), $"expected \"{text}\" in:\n{result}");
    }

    private static string Line(Calicoctl.Result result, string start) =>
        result.Output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(start, StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"no line starting \"{start}\" in:\n{result}");

    [Fact]
    public async Task Status_shows_the_silo_s_roles_and_each_host_alive_or_dead_with_its_version_and_lag()
    {
        // The version applied is as of h1's last report (every Hosts:ReportInterval): wait until one came after its last apply.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await H1InStepAsync())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("h1 did not report its last version applied within 60 s");
            await Task.Delay(500);
        }
        var status = await Run("status");
        Exits(1, status, "Silos (1 active controllers):", "Hosts (2 registered, 1 dead");
        Assert.Matches(@"^all-1\s+Active\s+controller,compute\s+127\.0\.0\.1:\d+\s", Line(status, "all-1"));
        Assert.Matches(@"^h1\s+alive\s+172\.18\.0\.1\s+\d+s ago\s+all-1\s+\d+\s+0\s+1 \(1 active, 0 down, 0 error\)$", Line(status, "h1 "));
        Assert.Matches(@"^h2\s+DEAD\s+172\.18\.0\.2\s+never\s+-\s+-\s+nothing applied\s+0 \(", Line(status, "h2 "));

        var json = await Run("status", "--json");
        Exits(1, json);
        using var doc = JsonDocument.Parse(json.Output);
        var h1 = doc.RootElement.GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("host").GetString() == "h1");
        Assert.True(h1.GetProperty("alive").GetBoolean());
        Assert.Equal(0, h1.GetProperty("lag").GetInt64());
        Assert.Equal(h1.GetProperty("desired_version").GetInt64(), h1.GetProperty("applied_version").GetInt64());
        Assert.Equal(["controller", "compute"], doc.RootElement.GetProperty("silos")[0].GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task Host_list_and_show_name_an_unknown_host()
    {
        var list = await Run("host", "list");
        Exits(0, list, "HOST", "ENDPOINTS");
        Assert.StartsWith("h1 ", Line(list, "h1 "), StringComparison.Ordinal);
        Assert.Contains("DEAD", Line(list, "h2 "), StringComparison.Ordinal);

        var show = await Run("host", "show", "--host", "h1");
        Exits(0, show, "state:         alive", "silo:          all-1", "lag: 0", "1 ports bound here");
        Assert.Matches(@"^p1\s+vm1\s+blue\s+h1\s+" + Regex(_p1) + @"\s+ACTIVE$", Line(show, "p1 "));
        var json = await Run("host", "show", "--host", "h2", "--json");
        Exits(0, json);
        using (var doc = JsonDocument.Parse(json.Output))
        {
            Assert.False(doc.RootElement.GetProperty("alive").GetBoolean());
            Assert.Equal("p2", doc.RootElement.GetProperty("ports")[0].GetProperty("id").GetString());
        }
        Exits(1, await Run("host", "show", "--host", "h9"), "calicoctl host show: no host h9 is registered");
        Exits(2, await Run("host", "show"), "--host is required");
    }

    [Fact]
    public async Task Endpoint_list_and_show_give_status_and_reason_by_host_or_network()
    {
        var all = await Run("endpoint", "list");
        Exits(0, all, "PORT", "REASON");
        Assert.Matches(@"^p1\s+vm1\s+blue\s+h1\s+\S+\s+ACTIVE$", Line(all, "p1 "));
        Assert.Matches(@"^p2\s+vm2\s+blue\s+h2\s+\S+\s+DOWN\s+host h2 is dead$", Line(all, "p2 "));
        Assert.Matches(@"^p3\s+vm3\s+blue\s+-\s+\S+\s+DOWN\s+not bound to a host \(binding:host_id unset\)$", Line(all, "p3 "));

        var h2 = await Run("endpoint", "list", "--host", "h2");
        Exits(0, h2);
        Assert.Equal(2, h2.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var byName = await Run("endpoint", "list", "--network", "blue", "--json");
        Exits(0, byName);
        using (var doc = JsonDocument.Parse(byName.Output))
            Assert.Equal(["p1", "p2", "p3"], doc.RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetString()).Order());
        Exits(1, await Run("endpoint", "list", "--network", "red"), "calicoctl endpoint list: no network red (by id or name)");
        Exits(1, await Run("endpoint", "list", "--host", "h9"), "no host h9 is registered, and no port is bound to it");

        Exits(0, await Run("endpoint", "show", "--port", "vm2"), "port:            p2 (vm2)", "interface:       tapp2", "security groups: db",
            "status:          DOWN (host h2 is dead)");
        Exits(1, await Run("endpoint", "show", "--port", "nope"), "calicoctl endpoint show: --port nope: no port has that id or name");
    }

    [Fact]
    public async Task Ipam_show_lists_subnets_use_and_blocks_by_host()
    {
        var show = await Run("ipam", "show");
        Exits(0, show, "IP pools:", "none (each subnet is a pool of its own");
        Assert.Matches(@"^sub-1\s+blue-v4\s+10\.65\.0\.0/24\s+-\s+/26\s+3\s+253\s+1\.2%$", Line(show, "sub-1 "));
        Assert.Matches(@"^h1\s+sub-1\s+10\.65\.0\.\d+/26\s+1/64\s+1\.6%$", Line(show, "h1 "));
        Assert.Matches(@"^h2\s+sub-1\s+10\.65\.0\.\d+/26\s+1/64", Line(show, "h2 "));
        Assert.Matches(@"^\(no host\)\s+sub-1\s+10\.65\.0\.\d+/26\s+1/64", Line(show, "(no host) "));
        var json = await Run("ipam", "show", "--json");
        Exits(0, json);
        using var doc = JsonDocument.Parse(json.Output);
        Assert.Equal(3, doc.RootElement.GetProperty("subnets")[0].GetProperty("allocated").GetInt32());
        Assert.Equal(3, doc.RootElement.GetProperty("blocks").GetArrayLength());
    }

    [Fact]
    public async Task Plan_asks_the_host_s_agent_and_names_a_host_that_cannot_answer()
    {
        var plan = await Run("plan", "--host", "h1");
        Exits(0, plan, "host h1 (silo all-1): planned", "no changes");
        var json = await Run("plan", "--host", "h1", "--json");
        Exits(0, json);
        using (var doc = JsonDocument.Parse(json.Output))
        {
            Assert.Equal(0, doc.RootElement.GetProperty("changes").GetArrayLength());
            Assert.True(doc.RootElement.GetProperty("items").GetInt32() > 0);
        }
        Exits(1, await Run("plan", "--host", "h2"), "calicoctl plan: host h2 has not reported");
        Exits(1, await Run("plan", "--host", "h9"), "calicoctl plan: no host h9 is registered");
    }

    [Fact]
    public async Task Policy_explain_gives_the_verdict_and_the_rule_or_its_absence()
    {
        var allowed = await Run("policy", "explain", "--from", "p2", "--to", "p1", "--protocol", "tcp", "--port", "80");
        Exits(0, allowed, $"packet: IPv4 tcp {_p2} -> {_p1} port 80", "allowed by security group db rule egress-any",
            "allowed by security group web rule http-in: ingress IPv4 tcp 80 from any address", "security groups: db = db, web = web", "verdict: ALLOWED");

        var dropped = await Run("policy", "explain", "--from", "vm2", "--to", _p1.ToString(), "--protocol", "tcp", "--port", "22");
        Exits(1, dropped, $"verdict: DROPPED (ingress of p1: dropped: no ingress rule of security groups web allows IPv4 tcp port 22 from {_p2})");

        var remote = await Run("policy", "explain", "--from", "p1", "--to", "p2", "--protocol", "tcp", "--port", "5432", "--json");
        Exits(0, remote);
        using (var doc = JsonDocument.Parse(remote.Output))
        {
            Assert.Equal("allowed", doc.RootElement.GetProperty("verdict").GetString());
            Assert.Equal("pg-from-web", doc.RootElement.GetProperty("rule").GetString());
            Assert.Contains("remote group web", doc.RootElement.GetProperty("reason").GetString(), StringComparison.Ordinal);
        }

        Exits(1, await Run("policy", "explain", "--from", "p1", "--to", "p2", "--protocol", "tcp", "--port", "5432", "--from-address", "10.65.0.250"),
            "verdict: DROPPED (anti-spoofing: spoofed: 10.65.0.250 is neither an address of port p1");
        Exits(0, await Run("policy", "explain", "--from", "p1", "--to", "192.0.2.7", "--protocol", "udp", "--port", "53"),
            "192.0.2.7 is no port's address", "verdict: ALLOWED");
        Exits(1, await Run("policy", "explain", "--from", "p1", "--to", "p2", "--protocol", "icmp"), "type 8", "verdict: DROPPED");
        Exits(2, await Run("policy", "explain", "--from", "p9", "--to", "p2", "--protocol", "tcp", "--port", "1"),
            "calicoctl policy explain: --from p9: no port has that id or name");
        Exits(2, await Run("policy", "explain", "--from", "p3", "--to", "p2", "--protocol", "tcp", "--port", "1"), "port p3 is not bound to a host");
        Exits(2, await Run("policy", "explain", "--from", "p1", "--to", "p2", "--protocol", "tcp"), "--port is required with --protocol tcp");
        Exits(2, await Run("policy", "explain", "--from", "p1", "--to", "p2", "--protocol", "bogus", "--port", "1"), "'bogus' is not a protocol name");
    }

    [Fact]
    public async Task Diags_writes_a_bundle_of_cluster_state_and_the_kernel_of_the_namespace_given()
    {
        var output = Directory.CreateTempSubdirectory("calicoctl-diags-test-");
        var ns = $"cal-diag-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";
        TestCommands.Run("ip", "netns", "add", ns);
        try
        {
            var log = Path.Combine(output.FullName, "silo.log");
            await File.WriteAllTextAsync(log, _silo.Output);
            var diags = await Run("diags", "--netns", ns, "--output-dir", output.FullName, "--log", log);
            Assert.True(diags.ExitCode is 0 or 1, diags.ToString());
            var bundle = diags.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
            Assert.StartsWith(output.FullName, bundle, StringComparison.Ordinal);
            Assert.EndsWith(".tar.gz", bundle, StringComparison.Ordinal);

            var files = new Dictionary<string, string>(StringComparer.Ordinal);
            await using (var gzip = new GZipStream(File.OpenRead(bundle), CompressionMode.Decompress))
            {
                using var tar = new TarReader(gzip);
                while (await tar.GetNextEntryAsync() is { } entry)
                {
                    if (entry.DataStream is null) continue;
                    using var reader = new StreamReader(entry.DataStream);
                    files[entry.Name[(entry.Name.IndexOf('/') + 1)..]] = await reader.ReadToEndAsync();
                }
            }
            string File_(string name) => files.TryGetValue(name, out var text) ? text
                : throw new Xunit.Sdk.XunitException($"{name} not in the bundle: {string.Join(", ", files.Keys.Order())}");
            Assert.Contains("\"host\": \"h1\"", File_("cluster/hosts.json"), StringComparison.Ordinal);
            Assert.Contains("\"id\": \"p2\"", File_("cluster/endpoints.json"), StringComparison.Ordinal);
            Assert.Contains("subnet sub-1 10.65.0.0/24", File_("cluster/ipam.txt"), StringComparison.Ordinal);
            Assert.Contains("node-to-node mesh: on", File_("cluster/bgp.txt"), StringComparison.Ordinal);
            Assert.Contains("\"tapp1\"", File_("cluster/desired-state/h1.json"), StringComparison.Ordinal);
            Assert.Contains("\"tapp2\"", File_("cluster/desired-state/h2.json"), StringComparison.Ordinal);
            Assert.Contains("no changes", File_("cluster/plan/h1.txt"), StringComparison.Ordinal);
            Assert.DoesNotContain("plan/h2.txt", files.Keys);
            Assert.Contains($"$ ip -n {ns} -d link show", File_("kernel/ip-link.txt"), StringComparison.Ordinal);
            Assert.Contains("lo: <LOOPBACK>", File_("kernel/ip-link.txt"), StringComparison.Ordinal);
            Assert.Contains($"$ ip netns exec {ns} nft list ruleset", File_("kernel/nft-ruleset.txt"), StringComparison.Ordinal);
            Assert.Contains("Registered host h1", File_("logs/silo.log"), StringComparison.Ordinal);
            Assert.True(diags.ExitCode == 0 ? File_("errors.txt") == "nothing failed\n" : File_("errors.txt").Length > 0, diags.ToString());
        }
        finally
        {
            TestCommands.Run("ip", "netns", "del", ns);
            output.Delete(recursive: true);
        }

        Exits(2, await Run("diags", "--output-dir", "/nonexistent-dir"), "--output-dir '/nonexistent-dir' is not a directory");
        Exits(2, await Run("diags", "--netns", "a/b"), "--netns 'a/b' is not a namespace name");
    }

    private async Task<bool> H1InStepAsync()
    {
        using var doc = JsonDocument.Parse((await Run("status", "--json")).Output);
        return doc.RootElement.GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("host").GetString() == "h1")
            .GetProperty("lag") is { ValueKind: JsonValueKind.Number } lag && lag.GetInt64() == 0;
    }

    private static string Regex(IPAddress address) => System.Text.RegularExpressions.Regex.Escape(address.ToString());
}

/// <summary>The all-in-one silo and the resources the operator commands are tried on, made once for the class.</summary>
public sealed class OperatorCluster : IAsyncLifetime
{
    public SiloProcess Silo { get; private set; } = null!;

    public IPAddress P1 { get; private set; } = null!;

    public IPAddress P2 { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Silo = SiloProcess.Start("--datastore", "memory", "--name", "all-1", "--host-name", "h1", "--host-ipv4", "172.18.0.1");
        await Silo.WaitForAsync();
        await using var client = await ClusterClient.ConnectAsync(Silo.GatewayPort);
        var g = client.Client;
        await g.GetGrain<IHostGrain>("h2").RegisterAsync(new HostSpec("h2", IPAddress.Parse("172.18.0.2"), null, null, new ValueMap([])));
        await g.GetGrain<INetworkGrain>("net-1").CreateAsync(new Network("net-1", "blue", "proj", true, 1500, false, false));
        await g.GetGrain<ISubnetGrain>("sub-1").CreateAsync(new Subnet("sub-1", "net-1", "blue-v4", "proj", IpPrefix.Parse("10.65.0.0/24"),
            IPAddress.Parse("10.65.0.1"), ValueList<IPAddress>.Empty, ValueList<HostRoute>.Empty, ValueList<AllocationPool>.Empty, true));
        var anyOut = new SecurityGroupRule("egress-any", RuleDirection.Egress, EtherType.IPv4, null, null, null, null, null);
        await g.GetGrain<ISecurityGroupGrain>("web").CreateAsync(new SecurityGroup("web", "web", "proj", "",
            ValueList.Create(new SecurityGroupRule("http-in", RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Tcp, 80, 80, null, null), anyOut)));
        await g.GetGrain<ISecurityGroupGrain>("db").CreateAsync(new SecurityGroup("db", "db", "proj", "",
            ValueList.Create(new SecurityGroupRule("pg-from-web", RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Tcp, 5432, 5432, null, "web"), anyOut)));
        var ipam = g.GetGrain<ISubnetIpamGrain>("sub-1");
        P1 = (await ipam.AllocateAsync("p1", "h1", null)).Address;
        P2 = (await ipam.AllocateAsync("p2", "h2", null)).Address;
        var p3 = (await ipam.AllocateAsync("p3", null, null)).Address;
        await g.GetGrain<IEndpointGrain>("p1").CreateAsync(Port("p1", "vm1", "h1", P1, "web"));
        await g.GetGrain<IEndpointGrain>("p2").CreateAsync(Port("p2", "vm2", "h2", P2, "db"));
        await g.GetGrain<IEndpointGrain>("p3").CreateAsync(Port("p3", "vm3", null, p3, "web"));
        // h1 programs p1 (in memory) and reports it ACTIVE.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await g.GetGrain<IHostGrain>("h1").GetEndpointStatusAsync("p1"))?.Status != EndpointStatusKind.Active)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"p1 did not turn ACTIVE on h1:\n{Silo.Output}");
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync() => await Silo.DisposeAsync();

    private static WorkloadEndpoint Port(string id, string name, string? host, IPAddress address, string group) =>
        new(id, "net-1", name, "proj", host, "fa:16:3e:00:00:" + id[^1] + "0", ValueList.Create(new FixedIp("sub-1", address)),
            ValueList.Create(group), ValueList<AllowedAddressPair>.Empty, true, name, "compute:nova");
}

internal static class TestCommands
{
    public static void Run(string file, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(info)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {process.ExitCode}: {error}");
    }
}
