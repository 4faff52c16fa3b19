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

    [Fact]
    public async Task Version_prints_the_build_and_exits()
    {
        await using var silo = SiloProcess.Start("--version");
        Assert.Equal(0, await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Matches(@"^calico-silo \d+\.\d+\.\d+", silo.Output.Trim());
    }

    [Theory]
    [InlineData("--listen", "urls (--listen) 'http://127.0.0.1:{0}': port {0} on 127.0.0.1 is in use by another process.")]
    [InlineData("--silo-port", "Silo:SiloPort (--silo-port): port {0} on 127.0.0.1 is in use by another process.")]
    [InlineData("--gateway-port", "Silo:GatewayPort (--gateway-port): port {0} on 127.0.0.1 is in use by another process.")]
    public async Task A_port_in_use_stops_the_silo_before_it_starts_anything(string option, string message)
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var value = option == "--listen" ? $"http://127.0.0.1:{port}" : $"{port}";
        await using var silo = SiloProcess.Start("--data-dir", _dataDir, "--role", "controller", option, value);
        Assert.Equal(2, await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, message, port), silo.Output, StringComparison.Ordinal);
        // Refused before anything started: no store opened, nothing listening.
        Assert.False(File.Exists(Path.Combine(_dataDir, "calico.db")), silo.Output);
        Assert.DoesNotContain("Now listening", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_trace_sample_ratio_out_of_range_is_refused_at_start()
    {
        await using var silo = SiloProcess.Start("--data-dir", _dataDir, "--role", "controller", "--listen", "http://127.0.0.1:0",
            "--Telemetry:OtlpEndpoint", "http://127.0.0.1:4317", "--Telemetry:TraceSampleRatio", "1.5");
        Assert.Equal(2, await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Telemetry:TraceSampleRatio '1.5' is not a number from 0 to 1", silo.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dataDir, "calico.db")), silo.Output);
    }

    [Fact]
    public async Task A_compute_silo_that_finds_no_address_refuses_to_start_and_says_which_setting_to_give()
    {
        // A namespace of the test's own with only loopback: no address to register the host by.
        var ns = $"cal-silo-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";
        Run("ip", "netns", "add", ns);
        try
        {
            Run("ip", "-n", ns, "link", "set", "lo", "up");
            await using var silo = SiloProcess.StartInNamespace(ns, "--role", "compute", "--primary", "127.0.0.1:1", "--host-name", "no-address");
            Assert.Equal(2, await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("Compute:Ipv4Address is not set and this network namespace has no IPv4 address", silo.Output, StringComparison.Ordinal);
            Assert.Contains("--host-ipv4", silo.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Now listening", silo.Output, StringComparison.Ordinal);
        }
        finally
        {
            Run("ip", "netns", "del", ns);
        }
    }

    [Fact]
    public async Task Json_logs_are_one_object_a_line_with_the_host_as_a_field()
    {
        await using var silo = SiloProcess.Start("--data-dir", _dataDir, "--host-name", "json-logs-1", "--host-ipv4", "192.0.2.30", "--log-format", "json");
        await silo.WaitForAsync();
        Assert.True(await silo.InterruptAsync(TimeSpan.FromSeconds(30)), silo.Output);
        var lines = silo.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(lines);
        var entries = lines.Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Contains(entries, e => e["State"]?["Host"]?.GetValue<string>() == "json-logs-1");
    }

    [Fact]
    public async Task Every_silo_serves_its_metrics_for_prometheus()
    {
        await using var silo = SiloProcess.Start("--data-dir", _dataDir, "--host-name", "metrics-1", "--host-ipv4", "192.0.2.31");
        await silo.WaitForAsync();
        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://127.0.0.1:{silo.HttpPort}/metrics");
        // Prometheus' text format, with Calico's own instruments and the runtime's among them.
        Assert.Contains("# TYPE ", text, StringComparison.Ordinal);
        Assert.Contains("calico_", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_", text, StringComparison.Ordinal);
    }

    private static void Run(string file, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error}");
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
