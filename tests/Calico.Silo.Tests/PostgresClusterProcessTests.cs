using Calico.Grains;
using Calico.Model.Resources;
using Calico.Testing;

namespace Calico.Silo.Tests;

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}

/// <summary>
/// Silos that share nothing but a PostgreSQL database (as on separate machines) form one cluster through it and
/// keep their state in it.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresClusterProcessTests(PostgresServer postgres)
{
    [Fact]
    public async Task Silos_form_one_cluster_through_postgres_and_keep_state_there()
    {
        var database = await postgres.CreateDatabaseAsync();
        try
        {
            string[] common = ["--clustering", "postgres", "--datastore", "postgres", "--connection-string", database];
            var controller = SiloProcess.Start([.. common, "--role", "controller", "--name", "controller-a"]);
            await using (controller)
            {
                await controller.WaitForAsync();
                var compute = SiloProcess.Start([.. common, "--role", "compute", "--name", "compute-b", "--host-name", "b", "--host-ipv4", "192.0.2.22"]);
                await using (compute)
                {
                    await compute.WaitForAsync();
                    await using var client = await ClusterClient.ConnectAsync(controller.GatewayPort);
                    var silos = await client.Client.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
                    Assert.Equal(["compute-b", "controller-a"], silos.Select(s => s.SiloName).Order());
                    await client.Client.GetGrain<INetworkGrain>("net-pg").CreateAsync(new Network("net-pg", "pg", "proj", true, 1500, false, false));
                    Assert.True((await client.Client.GetGrain<IHostGrain>("b").GetStatusAsync()).Alive);
                }
            }

            // A new controller on the same database finds what the first one stored.
            var again = SiloProcess.Start([.. common, "--role", "controller", "--name", "controller-c"]);
            await using (again)
            {
                await again.WaitForAsync();
                await using var client = await ClusterClient.ConnectAsync(again.GatewayPort);
                Assert.Equal("pg", (await client.Client.GetGrain<INetworkGrain>("net-pg").GetAsync())!.Value.Name);
                Assert.Equal("192.0.2.22", (await client.Client.GetGrain<IHostGrain>("b").GetAsync())!.Value.Ipv4Address!.ToString());
            }
        }
        finally
        {
            await postgres.DropDatabaseAsync(database);
        }
    }
}
