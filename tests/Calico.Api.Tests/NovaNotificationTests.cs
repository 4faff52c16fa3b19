using Calico.Api.Tests.Harness;
using Calico.Grains;
using Calico.Model.Resources;

namespace Calico.Api.Tests;

/// <summary>A controller silo that tells <see cref="FakeNova"/> of its ports (no authentication toward Nova: Nova:Auth=none).</summary>
public sealed class NovaApiServer : IAsyncLifetime
{
    private ConfiguredApiServer? _api;

    public FakeNova Nova { get; private set; } = null!;

    public ApiServer Api => _api ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        Nova = await FakeNova.StartAsync();
        _api = new ConfiguredApiServer([
            $"--Nova:Url={Nova.Url}", "--Nova:Auth=none", "--Nova:BatchInterval=00:00:00.2",
            "--Nova:RetryBaseDelay=00:00:00.05", "--Nova:Attempts=4",
        ]);
        await _api.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        if (_api is not null) await _api.DisposeAsync();
        await Nova.DisposeAsync();
    }

    private sealed class ConfiguredApiServer(string[] arguments) : ApiServer
    {
        protected override string[] Arguments => arguments;
    }
}

public sealed class NovaNotificationTests(NovaApiServer server) : IClassFixture<NovaApiServer>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private NeutronClient Client => server.Api.Client();

    private FakeNova Nova => server.Nova;

    [Fact]
    public async Task Nova_hears_plugged_when_an_instances_port_becomes_active_then_unplugged_and_deleted()
    {
        var (network, _, _) = await Client.NetworkWithSubnetAsync("net-nova-events");
        var instance = Guid.NewGuid().ToString();
        Nova.Instances[instance] = true;
        var port = await InstancePortAsync(network, instance, "nova-h1");
        // A DHCP port on the same host is not an instance's: Nova never hears of it.
        var dhcp = (string)(await Client.PortAsync(network, new JsonObject
        {
            ["device_id"] = "dhcp-" + instance, ["device_owner"] = "network:dhcp", ["binding:host_id"] = "nova-h1",
        }))["id"]!;
        var host = server.Api.Cluster.GetGrain<IHostGrain>("nova-h1");

        await host.ReportEndpointStatusesAsync(Report("nova-h1", port, EndpointStatusKind.Active, dhcp));
        await WaitForAsync(instance, 1);
        // The same status again is no transition.
        await host.ReportEndpointStatusesAsync(Report("nova-h1", port, EndpointStatusKind.Active, dhcp));
        await host.ReportEndpointStatusesAsync(Report("nova-h1", port, EndpointStatusKind.Down, dhcp));
        await WaitForAsync(instance, 2);
        await host.ReportEndpointStatusesAsync(Report("nova-h1", port, EndpointStatusKind.Active, dhcp));
        await WaitForAsync(instance, 3);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await Client.DeleteAsync($"/v2.0/ports/{port}")).Status);
        await WaitForAsync(instance, 4);

        Assert.Equal(
            [("network-vif-plugged", port), ("network-vif-unplugged", port), ("network-vif-plugged", port), ("network-vif-deleted", port)],
            Nova.Accepted.Where(e => e.Server == instance).Select(e => (e.Name, e.Tag)).ToList());
        Assert.All(Nova.Accepted.Where(e => e.Server == instance), e => Assert.Equal("completed", e.Status));
        Assert.DoesNotContain(Nova.Accepted, e => e.Tag == dhcp);
        Assert.Empty(Nova.Violations);
    }

    /// <summary>
    /// Live migration: the target's agent reports the port ACTIVE with its VM arrived; the host grain stores the
    /// arrival on the port (the API then shows the target's status) and Nova hears plugged for the target
    /// (live_migration_wait_for_vif_plug). Before the arrival, the target's report of the port says nothing to Nova, and
    /// neither does the source's tap going with the VM (DOWN, then gone).
    /// </summary>
    [Fact]
    public async Task Nova_hears_plugged_when_a_migrating_ports_vm_arrives_on_the_target()
    {
        var (network, _, _) = await Client.NetworkWithSubnetAsync("net-nova-migration");
        var instance = Guid.NewGuid().ToString();
        Nova.Instances[instance] = true;
        var port = await InstancePortAsync(network, instance, "nova-src");
        await server.Api.Cluster.GetGrain<IHostGrain>("nova-src").ReportEndpointStatusesAsync(Report("nova-src", port, EndpointStatusKind.Active));
        await WaitForAsync(instance, 1);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await Client.PutAsync($"/v2.0/ports/{port}", new JsonObject
        {
            ["port"] = new JsonObject { ["binding:profile"] = new JsonObject { ["migrating_to"] = "nova-dst" } },
        })).Status);
        var target = server.Api.Cluster.GetGrain<IHostGrain>("nova-dst");
        await target.ReportEndpointStatusesAsync(Report("nova-dst", port, EndpointStatusKind.Down));
        // The source's tap goes with the VM: no unplugged for it, before the arrival or after it.
        var source = server.Api.Cluster.GetGrain<IHostGrain>("nova-src");
        await source.ReportEndpointStatusesAsync(Report("nova-src", port, EndpointStatusKind.Down));

        var arrived = new EndpointStatus(EndpointStatusKind.Active, null, "nova-dst", 1, DateTimeOffset.UtcNow, Arrived: true);
        await target.ReportEndpointStatusesAsync(new EndpointStatusReport(new Dictionary<string, EndpointStatus> { [port] = arrived }, [], false));
        await WaitForAsync(instance, 2);
        var stored = await server.Api.Cluster.GetGrain<IEndpointGrain>(port).GetAsync();
        Assert.Equal("nova-dst", stored!.Value.ArrivedOn);
        Assert.Equal("ACTIVE", (string)(await Client.GetAsync($"/v2.0/ports/{port}")).Body!["port"]!["status"]!);
        await source.ReportEndpointStatusesAsync(new EndpointStatusReport(new Dictionary<string, EndpointStatus>(), [port], false));

        // Nova deletes the port: its event follows the plugged ones directly, nothing came between.
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await Client.DeleteAsync($"/v2.0/ports/{port}")).Status);
        await WaitForAsync(instance, 3);
        Assert.Equal([("network-vif-plugged", port), ("network-vif-plugged", port), ("network-vif-deleted", port)],
            Nova.Accepted.Where(e => e.Server == instance).Select(e => (e.Name, e.Tag)).ToList());
        Assert.Empty(Nova.Violations);
    }

    [Fact]
    public async Task An_event_is_retried_while_Nova_answers_503_and_arrives_once()
    {
        var (network, _, _) = await Client.NetworkWithSubnetAsync("net-nova-retry");
        var instance = Guid.NewGuid().ToString();
        Nova.Instances[instance] = true;
        var port = await InstancePortAsync(network, instance, "nova-h2");
        var before = Nova.Requests;
        Nova.Plan(503, 503);
        await server.Api.Cluster.GetGrain<IHostGrain>("nova-h2").ReportEndpointStatusesAsync(Report("nova-h2", port, EndpointStatusKind.Active));
        await WaitForAsync(instance, 1);
        Assert.True(Nova.Requests - before >= 3, $"{Nova.Requests - before} requests: two refused, then the one taken");
        Assert.Single(Nova.Accepted, e => e.Server == instance && e.Name == "network-vif-plugged" && e.Tag == port);
        Assert.Empty(Nova.Violations);
    }

    [Fact]
    public async Task An_event_for_an_instance_Nova_does_not_know_is_not_retried()
    {
        var (network, _, _) = await Client.NetworkWithSubnetAsync("net-nova-unknown");
        var unknown = Guid.NewGuid().ToString();
        var known = Guid.NewGuid().ToString();
        Nova.Instances[known] = true;
        var lost = await InstancePortAsync(network, unknown, "nova-h3");
        var host = server.Api.Cluster.GetGrain<IHostGrain>("nova-h3");
        await host.ReportEndpointStatusesAsync(Report("nova-h3", lost, EndpointStatusKind.Active));
        // A later event for a known instance is delivered: the unknown one neither blocks the queue nor comes back.
        var found = await InstancePortAsync(network, known, "nova-h3");
        await host.ReportEndpointStatusesAsync(new EndpointStatusReport(
            new Dictionary<string, EndpointStatus> { [found] = Status(EndpointStatusKind.Active, "nova-h3") }, [], false));
        await WaitForAsync(known, 1);
        Assert.DoesNotContain(Nova.Accepted, e => e.Server == unknown);
        Assert.Empty(Nova.Violations);
    }

    /// <summary>A port of instance <paramref name="instance"/> (Nova's device_owner) bound to <paramref name="host"/>; its id.</summary>
    private async Task<string> InstancePortAsync(string network, string instance, string host) =>
        (string)(await Client.PortAsync(network, new JsonObject
        {
            ["device_id"] = instance, ["device_owner"] = "compute:nova", ["binding:host_id"] = host,
        }))["id"]!;

    private async Task WaitForAsync(string instance, int events)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (Nova.Accepted.Count(e => e.Server == instance) < events)
        {
            Assert.Empty(Nova.Violations);
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Nova heard {Nova.Accepted.Count(e => e.Server == instance)} events for {instance}, not {events}:\n{server.Api.Silo.Output}");
            await Task.Delay(50);
        }
    }

    private static EndpointStatus Status(EndpointStatusKind kind, string host) => new(kind, null, host, 1, DateTimeOffset.UtcNow);

    /// <summary>A host's report of a change: <paramref name="port"/> with <paramref name="kind"/>, and <paramref name="alsoActive"/> ACTIVE.</summary>
    private static EndpointStatusReport Report(string host, string port, EndpointStatusKind kind, string? alsoActive = null)
    {
        var statuses = new Dictionary<string, EndpointStatus>(StringComparer.Ordinal);
        statuses[port] = Status(kind, host);
        if (alsoActive is not null) statuses[alsoActive] = Status(EndpointStatusKind.Active, host);
        return new EndpointStatusReport(statuses, [], false);
    }
}
