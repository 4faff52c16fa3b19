using System.Net;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Silo.Tests;

namespace Calico.Cli.Tests;

/// <summary>
/// <c>calicoctl bgp peer add|list|show|delete</c> and <c>bgp config</c> against a controller silo in BGP mode on
/// SQLite (no compute role: nothing touches this machine's kernel): invalid peers refused with the reason and nothing
/// stored, passwords never printed (listing, show, the silo's debug log), and the hosts' desired states following.
/// </summary>
public sealed class BgpCommandTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("calicoctl-bgp-test-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private static void Exits(int code, Calicoctl.Result result, string? text = null)
    {
        Assert.True(result.ExitCode == code, $"expected exit {code}:\n{result}");
        if (text is not null)
            Assert.True((result.Output + result.Error).Contains(text, StringComparison.Ordinal), $"expected \"{text}\" in:\n{result}");
    }

    [Fact]
    public async Task Peers_are_added_listed_refused_when_invalid_and_reach_the_hosts_they_select()
    {
        await using var silo = SiloProcess.Start("--role", "controller", "--data-dir", _dataDir, "--name", "controller-1",
            "--Routing:Mode=bgp", "--Logging:LogLevel:Calico=Debug");
        await silo.WaitForAsync();
        var gw = new[] { "--gateway", $"127.0.0.1:{silo.GatewayPort}" };
        await using (var client = await ClusterClient.ConnectAsync(silo.GatewayPort))
        {
            await client.Client.GetGrain<IHostGrain>("h1").RegisterAsync(
                new HostSpec("h1", IPAddress.Parse("172.18.0.1"), IPAddress.Parse("2001:db8:18::1"), null, new ValueMap([new("rack", "r1")])));
            await client.Client.GetGrain<IHostGrain>("h2").RegisterAsync(
                new HostSpec("h2", IPAddress.Parse("172.18.0.2"), null, null, new ValueMap([new("rack", "r2")])));
        }

        Exits(0, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "172.18.9.1", "--as", "65001", "--password", "s3cret-pw", .. gw]),
            "BGP peer 172.18.9.1 (AS 65001) added for every host");
        Exits(0, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "172.18.9.2", "--as", "65002", "--host-label", "rack=r1", "--multihop", .. gw]));
        // IPv6: in any spelling, stored in its canonical one; the hosts with an IPv6 address peer with it over IPv6.
        Exits(0, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "2001:DB8:9:0::1", "--as", "65001", "--host", "h1", .. gw]),
            "BGP peer 2001:db8:9::1 (AS 65001) added for host h1");

        // Refused, each with its reason, and nothing stored.
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "172.18.9.3", "--as", "0", .. gw]), "--as '0' is not an AS number: it must be 1..4294967295");
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "172.18.9.3", "--as", "4294967296", .. gw]), "must be 1..4294967295");
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "172.18.9.300", "--as", "65003", .. gw]), "--address '172.18.9.300' is not an IP address");
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "224.0.0.5", "--as", "65003", .. gw]), "cannot be a BGP neighbour");
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "172.18.0.1", "--as", "65003", "--host", "h1", .. gw]),
            "172.18.0.1 is the address of host h1, which would peer with itself");
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "2001:db8:18::1", "--as", "65003", "--host", "h1", .. gw]),
            "2001:db8:18::1 is the address of host h1, which would peer with itself");
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "fe80::1", "--as", "65003", .. gw]), "is link-local");
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "2001:db8::g", "--as", "65003", .. gw]), "--address '2001:db8::g' is not an IP address");
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "172.18.0.2", "--as", "65003", "--host-label", "rack=r2", .. gw]),
            "is the address of host h2");
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "172.18.9.1", "--as", "65009", .. gw]), "already exists");
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "172.18.9.4", "--as", "65004", "--password", "a\"b", .. gw]),
            "may not contain quotes");
        Exits(2, await Calicoctl.RunAsync(["bgp", "peer", "add", "--address", "172.18.9.4", "--as", "65004", "--host", "h1", "--host-label", "rack=r1", .. gw]),
            "give a host or a host label, not both");

        var list = await Calicoctl.RunAsync(["bgp", "peer", "list", .. gw]);
        Exits(0, list, "172.18.9.1       65001       set       no        every host");
        Exits(0, list, "172.18.9.2       65002       unset     yes       hosts labelled rack=r1");
        Exits(0, list, "2001:db8:9::1    65001       unset     no        host h1");
        Assert.Equal(4, list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var show = await Calicoctl.RunAsync(["bgp", "peer", "show", "--address", "172.18.9.1", .. gw]);
        Exits(0, show, "password:  set");
        Assert.DoesNotContain("s3cret-pw", list.Output + show.Output);

        // h1 (rack r1) peers with h2, the global peer and its rack's; h2 with h1 and the global peer.
        var h1 = await Calicoctl.RunAsync(["host", "desired-state", "--host", "h1", .. gw]);
        Exits(0, h1, "172.18.9.2");
        Exits(0, h1, "2001:db8:9::1");
        Assert.DoesNotContain("s3cret-pw", h1.Output);
        Exits(0, await Calicoctl.RunAsync(["host", "desired-state", "--host", "h1", "--show-passwords", .. gw]), "s3cret-pw");
        var h2 = await Calicoctl.RunAsync(["host", "desired-state", "--host", "h2", .. gw]);
        Exits(0, h2, "172.18.9.1");
        Assert.DoesNotContain("172.18.9.2", h2.Output);
        Assert.DoesNotContain("2001:db8:9::1", h2.Output);
        // h1 as h2's mesh peer carries its IPv6 address too (a second session, over IPv6, where both have one).
        Assert.Contains("172.18.0.1", h2.Output);
        Assert.Contains("2001:db8:18::1", h2.Output);

        // Mesh off: h2 keeps the global peer only, with the cluster's new AS number.
        var config = await Calicoctl.RunAsync(["bgp", "config", "--mesh", "off", "--as", "64600", .. gw]);
        Exits(0, config, "node-to-node mesh: off");
        Exits(0, config, "as number:         64600");
        Exits(2, await Calicoctl.RunAsync(["bgp", "config", "--mesh", "maybe", .. gw]), "--mesh must be on or off");
        h2 = await Calicoctl.RunAsync(["host", "desired-state", "--host", "h2", .. gw]);
        Exits(0, h2, "64600");
        Assert.DoesNotContain("172.18.0.1\"", h2.Output);
        Exits(0, await Calicoctl.RunAsync(["bgp", "config", .. gw]), "node-to-node mesh: off");

        Exits(0, await Calicoctl.RunAsync(["bgp", "peer", "delete", "--address", "172.18.9.1", .. gw]), "BGP peer 172.18.9.1 deleted");
        Exits(1, await Calicoctl.RunAsync(["bgp", "peer", "show", "--address", "172.18.9.1", .. gw]), "no BGP peer at 172.18.9.1");
        Exits(1, await Calicoctl.RunAsync(["bgp", "peer", "delete", "--address", "172.18.9.1", .. gw]), "could not be found");
        h2 = await Calicoctl.RunAsync(["host", "desired-state", "--host", "h2", .. gw]);
        Assert.DoesNotContain("172.18.9.1", h2.Output);

        // The controller logged at Debug all along: never the password.
        Assert.DoesNotContain("s3cret-pw", silo.Output);
    

        // Status: each host's sessions as its compute silo reported them (here reported by hand: no compute role).
        await using (var client = await ClusterClient.ConnectAsync(silo.GatewayPort))
        {
            var since = new DateTimeOffset(2026, 12, 7, 5, 2, 55, TimeSpan.Zero);
            await client.Client.GetGrain<IHostGrain>("h1").ReportAsync(new HostReport("compute-h1", null, DateTimeOffset.UtcNow, "test",
                [new BgpSession(IPAddress.Parse("172.18.9.2"), "Node_172_18_9_2", "Established", since, 4, null),
                 new BgpSession(IPAddress.Parse("2001:db8:9::1"), "Node_2001_db8_9__1", "Established", since, 2, null)]));
            await client.Client.GetGrain<IHostGrain>("h2").ReportAsync(new HostReport("compute-h2", null, DateTimeOffset.UtcNow, "test",
                [new BgpSession(IPAddress.Parse("172.18.9.5"), "Global_172_18_9_5", "Active", since, null, "Socket: Connection refused")]));
        }
        var one = await Calicoctl.RunAsync(["bgp", "status", "--host", "h1", .. gw]);
        Exits(0, one, "  172.18.9.2       Established  2026-12-07 05:02:55Z 4");
        Exits(0, one, "  2001:db8:9::1    Established  2026-12-07 05:02:55Z 2");
        Assert.DoesNotContain("h2", one.Output);
        var all = await Calicoctl.RunAsync(["bgp", "status", .. gw]);
        Exits(1, all, "  172.18.9.5       Active       2026-12-07 05:02:55Z -       Socket: Connection refused");
        Exits(1, await Calicoctl.RunAsync(["bgp", "status", "--host", "h9", .. gw]), "no host h9 is registered");
    }
}
