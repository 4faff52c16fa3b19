using System.Net;
using Calico.Topology.Kernel;

namespace Calico.Topology.Nodes;

/// <summary>
/// PostgreSQL for a topology whose controllers share a database (<see cref="TopologyOptions.Postgres"/>): a namespace
/// {prefix}db on the fabric at <see cref="Address"/>, running a throwaway server made by
/// scripts/postgres-test-server.sh (the one the datastore tests use) inside the run's temporary directory, listening
/// on the fabric address only and trusting the fabric's subnet and rack 2's (two racks: hosts behind the router). The server runs in that namespace, so it is stopped
/// with the run (and by <c>topology down</c>, which ends every process of a run's namespaces).
/// </summary>
public sealed class DatabaseNode(Netns ns, string stateFile, string connectionString)
{
    public static readonly IPAddress Address = IPAddress.Parse("172.18.203.5");

    public Netns Namespace { get; } = ns;

    /// <summary>Npgsql connection string of the database "calico" (reachable from the fabric only).</summary>
    public string ConnectionString { get; } = connectionString;

    /// <summary>postgres-test-server.sh, copied beside this assembly from scripts/.</summary>
    public static string Script => Path.Combine(AppContext.BaseDirectory, "postgres-test-server.sh");

    internal static async Task<DatabaseNode> StartAsync(Netns ns, string runDirectory)
    {
        if (!File.Exists(Script)) throw new TopologyException($"{Script} not found: build tests/Calico.Topology (it copies scripts/postgres-test-server.sh)");
        var stateFile = Path.Combine(runDirectory, "postgres.env");
        var output = await ns.ExecAsync("env", $"PG_LISTEN_ADDRESS={Address}", $"PG_ALLOW_FROM={Fabric.Subnet} {NamespaceTopology.RackTwoSubnet}", $"PG_PARENT_DIR={runDirectory}",
            "bash", Script, "start", stateFile);
        return new DatabaseNode(ns, stateFile, output.Trim().Split('\n')[^1]);
    }

    /// <summary>Stops the server (fast: every connection is cut) and starts it again with its data, address and port.</summary>
    public Task RestartAsync() => Namespace.ExecAsync("bash", Script, "restart", stateFile);

    internal Task StopAsync() => Namespace.TryExecAsync(TimeSpan.FromSeconds(90), "bash", Script, "stop", stateFile);
}
