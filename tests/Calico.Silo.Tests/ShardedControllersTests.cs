using System.Net;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Calico.Testing;

namespace Calico.Silo.Tests;

/// <summary>
/// Three controller silos on PostgreSQL share the desired-state calculation (three calculator shards). One of them
/// is killed while ports are being created and deleted: no change is lost, and every host's desired state ends equal
/// to a from-scratch calculation over what the store holds (issue 11, point 5).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ShardedControllersTests(PostgresServer postgres)
{
    private const int HostCount = 6;
    private static readonly string[] Hosts = [.. Enumerable.Range(1, HostCount).Select(i => $"h{i}")];

    [Fact]
    public async Task Killing_a_controller_under_a_stream_of_port_changes_loses_no_change()
    {
        var database = await postgres.CreateDatabaseAsync();
        var controllers = new List<SiloProcess>();
        using var stop = new CancellationTokenSource();
        try
        {
            string[] common = ["--clustering", "postgres", "--datastore", "postgres", "--connection-string", database,
                "--role", "controller", "--Calculator:Shards=3"];
            foreach (var name in new[] { "ctl-a", "ctl-b", "ctl-c" })
                controllers.Add(SiloProcess.Start([.. common, "--name", name]));
            foreach (var c in controllers) await c.WaitForAsync();
            await using var client = await ClusterClient.ConnectAsync([.. controllers.Select(c => c.GatewayPort)]);
            var grains = client.Client;

            for (var i = 0; i < HostCount; i++)
                await grains.GetGrain<IHostGrain>(Hosts[i]).RegisterAsync(
                    new HostSpec(Hosts[i], IPAddress.Parse($"172.18.0.{i + 1}"), null, null, ValueMap.Empty));
            await grains.GetGrain<INetworkGrain>("net-1").PutAsync(new Network("net-1", "net-1", "proj", true, 1500, false, false));
            await grains.GetGrain<ISubnetGrain>("sub-1").PutAsync(new Subnet("sub-1", "net-1", "sub-1", "proj", IpPrefix.Parse("10.65.0.0/16"),
                IPAddress.Parse("10.65.0.1"), ValueList<IPAddress>.Empty, ValueList<HostRoute>.Empty, ValueList<AllocationPool>.Empty, true));
            await grains.GetGrain<ISecurityGroupGrain>("sg-web").PutAsync(new SecurityGroup("sg-web", "web", "proj", "",
                ValueList.Create(new SecurityGroupRule("r1", RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Tcp, 5432, 5432, null, "sg-db"))));
            await grains.GetGrain<ISecurityGroupGrain>("sg-db").PutAsync(new SecurityGroup("sg-db", "db", "proj", "",
                ValueList.Create(new SecurityGroupRule("r2", RuleDirection.Ingress, EtherType.IPv4, IpProtocols.Tcp, 22, 22, null, null))));

            // Every host watches its desired state, as a compute silo does, through the failure.
            var watchers = Hosts.ToDictionary(h => h, h => new Watcher(grains, h));
            var watching = watchers.Values.Select(w => w.RunAsync(stop.Token)).ToList();

            // The stream: ports created on every host, in both groups, a third of them deleted again.
            var ports = new List<string>();
            SiloProcess? killed = null;
            for (var i = 0; i < 120; i++)
            {
                if (i == 40)
                {
                    // Kill the controller that runs shard 0 (its hosts' grains and its share of the stream go with it).
                    var shard0 = await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(grains.GetGrain<IDesiredStateCalculatorGrain>(0));
                    var silos = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
                    var name = silos.Single(s => s.SiloAddress.Equals(shard0)).SiloName;
                    killed = controllers[Array.IndexOf(new[] { "ctl-a", "ctl-b", "ctl-c" }, name)];
                    killed.Crash();
                }
                var id = $"port-{i:000}";
                var port = new WorkloadEndpoint(id, "net-1", id, "proj", Hosts[i % HostCount], $"fa:16:3e:00:{i / 256:x2}:{i % 256:x2}",
                    ValueList.Create(new FixedIp("sub-1", IPAddress.Parse($"10.65.{i % HostCount}.{i / HostCount + 2}"))),
                    ValueList.Create(i % 2 == 0 ? "sg-web" : "sg-db"), ValueList<AllowedAddressPair>.Empty, true, "vm-" + id, "compute:nova");
                await Retry(() => grains.GetGrain<IEndpointGrain>(id).PutAsync(port));
                ports.Add(id);
                if (i % 3 == 2)
                {
                    var victim = ports[i / 2];
                    await Retry(async () =>
                    {
                        try { await grains.GetGrain<IEndpointGrain>(victim).DeleteAsync(); }
                        catch (ResourceNotFoundException) { } // deleted by an attempt whose answer was lost
                    });
                }
            }
            Assert.NotNull(killed);

            // The reference: a from-scratch calculation over what the store holds now.
            var intent = new IntentModel();
            var revision = 0L;
            foreach (var host in Hosts) intent.Apply(new ResourceChange(ResourceKind.Host, host, ++revision, (await grains.GetGrain<IHostGrain>(host).GetAsync())!.Value));
            intent.Apply(new ResourceChange(ResourceKind.Network, "net-1", ++revision, (await grains.GetGrain<INetworkGrain>("net-1").GetAsync())!.Value));
            intent.Apply(new ResourceChange(ResourceKind.Subnet, "sub-1", ++revision, (await grains.GetGrain<ISubnetGrain>("sub-1").GetAsync())!.Value));
            foreach (var group in new[] { "sg-web", "sg-db" })
                intent.Apply(new ResourceChange(ResourceKind.SecurityGroup, group, ++revision, (await grains.GetGrain<ISecurityGroupGrain>(group).GetAsync())!.Value));
            foreach (var id in ports)
                if (await grains.GetGrain<IEndpointGrain>(id).GetAsync() is { } stored)
                    intent.Apply(new ResourceChange(ResourceKind.Endpoint, id, ++revision, stored.Value));
            Assert.Equal(80, intent.Endpoints().Count());

            // Every host converges to it (the deadline only bounds a failing run).
            var deadline = DateTime.UtcNow.AddSeconds(120);
            foreach (var host in Hosts)
            {
                var expected = HostSpecCalculator.Compute(intent, host);
                while (!watchers[host].Matches(expected) && DateTime.UtcNow < deadline) await Task.Delay(250);
                Assert.True(watchers[host].Matches(expected), $"host {host} did not converge: {watchers[host].Describe(expected)}");
            }
            await stop.CancelAsync();
            await Task.WhenAll(watching);
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var c in controllers) await c.DisposeAsync();
            await postgres.DropDatabaseAsync(database);
        }
    }

    /// <summary>Retries a call whose silo died under it, as the API's callers would.</summary>
    private static async Task Retry(Func<Task> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await call();
                return;
            }
            catch (Exception) when (attempt < 40)
            {
                await Task.Delay(500);
            }
        }
    }

    /// <summary>One host's watch loop with an in-memory copy of its desired state, like the compute silo's agent.</summary>
    private sealed class Watcher(IGrainFactory grains, string host)
    {
        private readonly object _lock = new();
        private readonly Dictionary<DesiredKey, DesiredItem> _items = [];
        private DesiredStateCursor? _cursor;

        public async Task RunAsync(CancellationToken token)
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    var update = await grains.GetGrain<IHostDesiredStateGrain>(host).WatchAsync(_cursor, TimeSpan.FromSeconds(2), token);
                    lock (_lock)
                    {
                        if (update.IsSnapshot) _items.Clear();
                        DesiredDiff.ApplyTo(_items, update.Changes);
                        _cursor = update.Cursor;
                    }
                }
                catch (Exception) when (!token.IsCancellationRequested)
                {
                    await Task.Delay(250, CancellationToken.None);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        public bool Matches(Dictionary<DesiredKey, DesiredItem> expected)
        {
            lock (_lock)
                return expected.Count == _items.Count && expected.All(kv => _items.TryGetValue(kv.Key, out var item) && item.Equals(kv.Value));
        }

        public string Describe(Dictionary<DesiredKey, DesiredItem> expected)
        {
            lock (_lock)
            {
                var missing = expected.Keys.Where(k => !_items.ContainsKey(k));
                var extra = _items.Keys.Where(k => !expected.ContainsKey(k));
                var differ = expected.Keys.Where(k => _items.TryGetValue(k, out var i) && !i.Equals(expected[k]));
                return $"missing [{string.Join(", ", missing)}] extra [{string.Join(", ", extra)}] different [{string.Join(", ", differ)}]";
            }
        }
    }
}
