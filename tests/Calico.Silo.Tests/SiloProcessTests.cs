using System.Net;
using Calico.Grains;
using Calico.Model.Resources;

namespace Calico.Silo.Tests;

/// <summary>The executable as an operator runs it: all-in-one on SQLite, several silos on one machine, bad configuration.</summary>
public sealed class SiloProcessTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("calico-silo-test-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private static Network Net(string id) => new(id, id, "proj", true, 1500, false, false);

    private static readonly Subnet Sub = new("sub-1", "net-1", "sub-1", "proj", Calico.Model.Net.IpPrefix.Parse("10.65.0.0/24"),
        IPAddress.Parse("10.65.0.1"), Calico.Model.Collections.ValueList.Create(IPAddress.Parse("10.65.0.53"), IPAddress.Parse("10.65.0.54")),
        Calico.Model.Collections.ValueList.Create(new HostRoute(Calico.Model.Net.IpPrefix.Parse("192.168.0.0/16"), IPAddress.Parse("10.65.0.254"))),
        Calico.Model.Collections.ValueList.Create(new AllocationPool(IPAddress.Parse("10.65.0.2"), IPAddress.Parse("10.65.0.200"))), true);

    private static readonly HostSpec Labelled = new("h9", IPAddress.Parse("192.0.2.9"), IPAddress.Parse("2001:db8::9"), 64512,
        new Calico.Model.Collections.ValueMap([new("rack", "r1"), new("zone", "z")]));

    [Fact]
    public async Task All_in_one_runs_on_sqlite_keeps_its_state_across_a_restart_and_stops_cleanly_on_ctrl_c()
    {
        var silo = SiloProcess.Start("--data-dir", _dataDir, "--host-name", "aio-1", "--host-ipv4", "192.0.2.10");
        await using (silo)
        {
            await silo.WaitForAsync("/healthz");
            await silo.WaitForAsync("/readyz");
            await using (var client = await ClusterClient.ConnectAsync(silo.GatewayPort))
            {
                await client.Client.GetGrain<INetworkGrain>("net-1").CreateAsync(Net("net-1"));
                await client.Client.GetGrain<ISubnetGrain>("sub-1").CreateAsync(Sub);
                await client.Client.GetGrain<IHostGrain>("h9").CreateAsync(Labelled);
                var host = await client.Client.GetGrain<IHostGrain>("aio-1").GetStatusAsync();
                Assert.Equal("192.0.2.10", host.Registration!.Value.Ipv4Address!.ToString());
            }
            Assert.True(await silo.InterruptAsync(TimeSpan.FromSeconds(30)), $"calico-silo did not stop on Ctrl-C:\n{silo.Output}");
            Assert.Equal(0, silo.ExitCode);
        }
        Assert.True(File.Exists(Path.Combine(_dataDir, "calico.db")));

        var again = SiloProcess.Start("--data-dir", _dataDir, "--host-name", "aio-1", "--host-ipv4", "192.0.2.10");
        await using (again)
        {
            await again.WaitForAsync();
            await using var client = await ClusterClient.ConnectAsync(again.GatewayPort);
            var network = await client.Client.GetGrain<INetworkGrain>("net-1").GetAsync();
            Assert.NotNull(network);
            Assert.Equal(1, network.Revision);
            // Every field comes back as it was written: lists, maps, addresses, prefixes.
            Assert.Equal(Sub, (await client.Client.GetGrain<ISubnetGrain>("sub-1").GetAsync())!.Value);
            Assert.Equal(Labelled, (await client.Client.GetGrain<IHostGrain>("h9").GetAsync())!.Value);
            // Registering the same host again is not a change.
            Assert.Equal(1, (await client.Client.GetGrain<IHostGrain>("aio-1").GetAsync())!.Revision);
        }
    }

    [Fact]
    public async Task Silos_on_one_machine_join_the_primary_without_a_database_server()
    {
        var primary = SiloProcess.Start("--role", "controller", "--data-dir", _dataDir, "--name", "controller-1");
        await using (primary)
        {
            await primary.WaitForAsync();
            var computeData = Path.Combine(_dataDir, "compute-h2");
            var compute = SiloProcess.Start("--role", "compute", "--primary", $"127.0.0.1:{primary.SiloPort}",
                "--name", "compute-h2", "--host-name", "h2", "--host-ipv4", "192.0.2.12", "--data-dir", computeData);
            await using (compute)
            {
                await compute.WaitForAsync();
                await using var client = await ClusterClient.ConnectAsync(primary.GatewayPort);
                var silos = await client.Client.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
                Assert.Equal(["compute-h2", "controller-1"], silos.Select(s => s.SiloName).Order());
                var h2 = await client.Client.GetGrain<IHostGrain>("h2").GetStatusAsync();
                Assert.True(h2.Alive);
                Assert.Equal("compute-h2", h2.LastReport!.SiloName);
                // The state is the controller's: the compute silo hosts no control-plane grain and opens no store.
                Assert.True(File.Exists(Path.Combine(_dataDir, "calico.db")));
                Assert.False(Directory.Exists(computeData), "a compute-only silo created a data directory");
            }
        }
    }

    [Theory]
    [InlineData("--role", "bogus", "Silo:Roles 'bogus' is not valid")]
    [InlineData("--clustering", "zookeeper", "Silo:Clustering 'zookeeper' is unknown")]
    [InlineData("--datastore", "oracle", "Datastore:Provider is 'oracle', which is not a datastore provider")]
    [InlineData("--host-ipv4", "not-an-address", "Compute:Ipv4Address 'not-an-address' is not an IPv4 address")]
    public async Task Bad_configuration_stops_the_silo_with_a_message_that_names_the_setting(string key, string value, string message)
    {
        await using var silo = SiloProcess.Start("--data-dir", _dataDir, key, value);
        var exit = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, exit);
        Assert.Contains(message, silo.Output, StringComparison.Ordinal);
    }
}
