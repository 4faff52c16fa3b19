using System.Net;
using System.Text.Json;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Silo.Tests;

namespace Calico.Cli.Tests;

/// <summary>
/// <c>calicoctl ipam audit</c> against a controller silo on SQLite (no compute role: nothing touches this machine's
/// kernel): findings printed, exit 1 while problems remain, leaks released on request, exit 0 once clean.
/// </summary>
public sealed class IpamAuditCommandTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("calicoctl-test-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private static WorkloadEndpoint Port(string id, IPAddress address) =>
        new(id, "net-1", id, "proj", "h1", "fa:16:3e:00:00:" + id[^1] + "0", ValueList.Create(new FixedIp("sub-1", address)),
            ValueList<string>.Empty, ValueList<AllowedAddressPair>.Empty, true, "vm", "compute:nova");

    private static void Printed(Calicoctl.Result result, string text) =>
        Assert.True(result.Output.Contains(text, StringComparison.Ordinal), $"expected \"{text}\" in:\n{result}");

    [Fact]
    public async Task Audit_reports_releases_leaks_and_exits_non_zero_while_problems_remain()
    {
        await using var silo = SiloProcess.Start("--role", "controller", "--data-dir", _dataDir, "--name", "controller-1");
        await silo.WaitForAsync();
        var gateway = $"127.0.0.1:{silo.GatewayPort}";
        await using (var client = await ClusterClient.ConnectAsync(silo.GatewayPort))
        {
            var g = client.Client;
            await g.GetGrain<INetworkGrain>("net-1").CreateAsync(new Network("net-1", "net-1", "proj", true, 1500, false, false));
            await g.GetGrain<ISubnetGrain>("sub-1").CreateAsync(new Subnet("sub-1", "net-1", "sub-1", "proj", IpPrefix.Parse("10.65.0.0/24"),
                IPAddress.Parse("10.65.0.1"), ValueList<IPAddress>.Empty, ValueList<HostRoute>.Empty, ValueList<AllocationPool>.Empty, true));
            var ipam = g.GetGrain<ISubnetIpamGrain>("sub-1");
            var p1 = (await ipam.AllocateAsync("p1", "h1", null)).Address;
            await g.GetGrain<IEndpointGrain>("p1").CreateAsync(Port("p1", p1));
            await ipam.AllocateAsync("p2", "h1", null);                       // leaked: port p2 never written
            await g.GetGrain<IEndpointGrain>("p3").CreateAsync(Port("p3", p1)); // doubly claimed with p1
        }

        var help = await Calicoctl.RunAsync("ipam", "audit", "--help");
        Assert.True(help.ExitCode == 0 && help.Output.Contains("--release-leaks", StringComparison.Ordinal), help.ToString());

        // With the default grace period the fresh allocation is not judged yet; the double claim is.
        var young = await Calicoctl.RunAsync("ipam", "audit", "--gateway", gateway);
        Assert.True(young.ExitCode == 1, young.ToString());
        Printed(young, "1 allocations without a port are younger than 00:05:00");
        Assert.False(young.Output.Contains("LEAKED", StringComparison.Ordinal), young.ToString());

        var found = await Calicoctl.RunAsync("ipam", "audit", "--gateway", gateway, "--grace", "0s");
        Assert.True(found.ExitCode == 1, found.ToString());
        Printed(found, "sub-1 10.65.0.3       LEAKED      allocated to p2, which does not exist");
        Printed(found, "sub-1 10.65.0.2       DOUBLE      held by p1, p3, allocated to p1");
        Printed(found, "Problems remaining: 2 (run with --release-leaks to release 1 leaked)");

        var released = await Calicoctl.RunAsync("ipam", "audit", "--gateway", gateway, "--grace", "0s", "--release-leaks");
        Assert.True(released.ExitCode == 1, released.ToString());
        Printed(released, "allocated to p2, which does not exist  -> released");
        Printed(released, "Problems remaining: 1");

        await using (var client = await ClusterClient.ConnectAsync(silo.GatewayPort))
        {
            Assert.Equal(["p1"], (await client.Client.GetGrain<ISubnetIpamGrain>("sub-1").ListAsync()).Select(a => a.PortId));
            await client.Client.GetGrain<IEndpointGrain>("p3").DeleteAsync();
        }
        var clean = await Calicoctl.RunAsync("ipam", "audit", "--gateway", gateway, "--grace", "0s", "--json");
        Assert.True(clean.ExitCode == 0, clean.ToString());
        using var json = JsonDocument.Parse(clean.Output);
        Assert.Equal(0, json.RootElement.GetProperty("remaining").GetInt32());
        Assert.Equal(1, json.RootElement.GetProperty("allocations").GetInt32());
    }

    [Fact]
    public async Task A_wrong_command_line_exits_2_and_an_unreachable_cluster_exits_3()
    {
        var unknown = await Calicoctl.RunAsync("ipam", "audit", "--bogus");
        Assert.True(unknown.ExitCode == 2 && unknown.Error.Contains("unknown option '--bogus'", StringComparison.Ordinal), unknown.ToString());
        var grace = await Calicoctl.RunAsync("ipam", "audit", "--grace", "soon");
        Assert.True(grace.ExitCode == 2 && grace.Error.Contains("--grace 'soon' is not a duration", StringComparison.Ordinal), grace.ToString());
        var nothing = await Calicoctl.RunAsync();
        Assert.True(nothing.ExitCode == 2 && nothing.Error.Contains("ipam audit", StringComparison.Ordinal), nothing.ToString());

        var port = SiloProcess.FreePort();
        var unreachable = await Calicoctl.RunAsync("ipam", "audit", "--gateway", $"127.0.0.1:{port}", "--connect-timeout", "1s");
        Assert.True(unreachable.ExitCode == 3, unreachable.ToString());
        Assert.Contains($"cannot reach the Calico cluster at 127.0.0.1:{port}", unreachable.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_command_line_is_parsed_by_System_CommandLine_with_help_and_clear_errors()
    {
        var help = await Calicoctl.RunAsync("ipam", "audit", "--help");
        Assert.True(help.ExitCode == 0 && help.Output.Contains("--connect-timeout <duration>", StringComparison.Ordinal) &&
                    help.Output.Contains("Exit codes: 0 nothing wrong, 1 problems remain, 2 bad command line, 3 cluster unreachable.",
                        StringComparison.Ordinal), help.ToString());
        var unknown = await Calicoctl.RunAsync("ipam", "frobnicate");
        Assert.True(unknown.ExitCode == 2 && unknown.Error.Contains("unknown command 'ipam frobnicate'", StringComparison.Ordinal) &&
                    unknown.Error.Contains("ipam audit", StringComparison.Ordinal), unknown.ToString());
        var stray = await Calicoctl.RunAsync("ipam", "audit", "now");
        Assert.True(stray.ExitCode == 2 && stray.Error.Contains("calicoctl ipam audit: unexpected argument 'now'", StringComparison.Ordinal),
            stray.ToString());
        var missing = await Calicoctl.RunAsync("ipam", "audit", "--timeout");
        Assert.True(missing.ExitCode == 2 && missing.Error.Contains("--timeout", StringComparison.Ordinal) &&
                    missing.Error.Contains("Run 'calicoctl ipam audit --help' for its options.", StringComparison.Ordinal), missing.ToString());
        var bothWays = await Calicoctl.RunAsync("ipam", "audit", "--gateway", "127.0.0.1:1", "--postgres", "Host=db");
        Assert.True(bothWays.ExitCode == 2 && bothWays.Error.Contains("give either --gateway or --postgres, not both", StringComparison.Ordinal),
            bothWays.ToString());
    }
}
