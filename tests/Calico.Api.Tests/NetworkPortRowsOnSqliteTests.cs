using System.Net;
using Calico.Api.Tests.Harness;
using Calico.Silo.Tests;
using Microsoft.Data.Sqlite;

namespace Calico.Api.Tests;

/// <summary>
/// The per-network port rows on the embedded SQLite store, across a restart: a store written before the rows
/// existed (simulated by deleting them from the file) gets them before a network's ports are first looked for, so
/// a network with a port stays in use and its MACs stay taken.
/// </summary>
public sealed class NetworkPortRowsOnSqliteTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("calico-api-rows-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private SiloProcess Start() => SiloProcess.Start("--role", "controller", "--data-dir", _dataDir);

    private static NeutronClient Api(SiloProcess silo) => new($"http://127.0.0.1:{silo.HttpPort}", null, () => silo.Output);

    [Fact]
    public async Task A_network_keeps_its_ports_after_a_restart_that_finds_a_store_without_rows()
    {
        const string mac = "fa:16:3e:65:43:21";
        string network, port;
        await using (var silo = Start())
        {
            await silo.WaitForAsync();
            var api = Api(silo);
            network = (string)(await api.NetworkAsync("rows-restart"))["id"]!;
            await api.SubnetAsync(network, Cidrs.NextV4());
            port = (string)(await api.PortAsync(network, new JsonObject { ["mac_address"] = mac }))["id"]!;
            Assert.True(await silo.InterruptAsync(TimeSpan.FromSeconds(30)), silo.Output);
        }
        // The port's row, and the record that the store's ports were given theirs: as before the rows existed.
        Assert.Equal(2, Execute("DELETE FROM calico_grain_state WHERE GrainType IN ('network-port', 'network-port-listing')"));

        await using (var silo = Start())
        {
            await silo.WaitForAsync();
            var api = Api(silo);
            var delete = await api.DeleteAsync($"/v2.0/networks/{network}");
            Assert.Equal(HttpStatusCode.Conflict, delete.Status);
            Assert.Equal("NetworkInUse", delete.Error.Type);
            var sameMac = await api.PostAsync("/v2.0/ports", new JsonObject { ["port"] = new JsonObject { ["network_id"] = network, ["mac_address"] = mac } });
            Assert.Equal(HttpStatusCode.Conflict, sameMac.Status);
            Assert.Equal("MacAddressInUse", sameMac.Error.Type);
            Assert.Equal([port], (await api.ListAsync("ports", $"?network_id={network}")).Select(p => (string)p!["id"]!));

            Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/ports/{port}")).Status);
            Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/networks/{network}")).Status);
        }
    }

    private int Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dataDir, "calico.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }
}
