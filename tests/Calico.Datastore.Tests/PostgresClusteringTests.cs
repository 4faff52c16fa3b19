using Calico.Testing;
using Calico.Datastore.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Configuration;

namespace Calico.Datastore.Tests;

/// <summary>Silos that know nothing of each other but the database form one cluster through it.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresClusteringTests(PostgresServer server) : IAsyncLifetime
{
    private string _connectionString = "";

    public async Task InitializeAsync() => _connectionString = await server.CreateDatabaseAsync();

    public Task DisposeAsync() => server.DropDatabaseAsync(_connectionString);

    [Fact]
    public async Task TwoSilosJoinOneClusterThroughTheDatabase()
    {
        // Configured as Calico.Silo does it: both extensions read the Datastore section.
        var section = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Datastore:Provider"] = "postgres",
                ["Datastore:ConnectionString"] = _connectionString,
            })
            .Build()
            .GetSection(CalicoDatastoreOptions.Section);
        var clusterId = $"cluster-{Guid.NewGuid():N}";
        Task<TestSilo> Start() => TestSilo.StartAsync(
            silo => silo.AddCalicoDatastore(section), clusterId, clustering: silo => silo.UseCalicoPostgresClustering(section));

        // Started together: both create the schema at once, and neither is a primary the other must wait for.
        var silos = await Task.WhenAll(Start(), Start());
        await using var a = silos[0];
        await using var b = silos[1];

        var management = a.Grains.GetGrain<IManagementGrain>(0);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await management.GetHosts(onlyActive: true)).Count < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }
        var hosts = await management.GetHosts(onlyActive: true);
        Assert.Equal(2, hosts.Count);
        Assert.Equal(new[] { a.Address, b.Address }.Order(), hosts.Keys.Select(s => s.ToParsableString()).Order());

        // A grain activated on silo A (placed where it is first called) is reached from silo B.
        Assert.Equal(a.Address, await a.Grains.GetGrain<ISiloProbeGrain>("probe").SiloAsync());
        Assert.Equal(a.Address, await b.Grains.GetGrain<ISiloProbeGrain>("probe").SiloAsync());

        // And both use the one grain storage: state written through A is read through B.
        await a.Grains.GetGrain<ICounterGrain>("shared").AddAsync(5);
        Assert.Equal(new Dictionary<string, int> { ["shared"] = 5 }, await b.Catalog.CountersAsync(CounterGrain.GrainTypeName));

        // A client outside the silos finds the cluster's gateways in the database too.
        await using (var client = await StartClientAsync(section, clusterId))
        {
            var grains = client.Services.GetRequiredService<IClusterClient>();
            Assert.Equal(a.Address, await grains.GetGrain<ISiloProbeGrain>("probe").SiloAsync());
        }

        Assert.Equal(2L, await ScalarAsync($"SELECT COUNT(*) FROM calico_membership WHERE DeploymentId = '{clusterId}' AND Status = 3"));
    }

    private static async Task<AsyncHost> StartClientAsync(IConfiguration section, string clusterId)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client => client
            .UseCalicoPostgresClustering(section)
            .Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (TestSilo.ServiceId, clusterId)));
        var host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await host.StartAsync(timeout.Token);
        return new AsyncHost(host);
    }

    private sealed class AsyncHost(IHost host) : IAsyncDisposable
    {
        public IServiceProvider Services => host.Services;

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
