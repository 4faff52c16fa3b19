using Calico.Api.Tests.Harness;

namespace Calico.Api.Tests;

/// <summary>Subnet pools and QoS through the operator's tool, unchanged (loopback, no authentication: an admin).</summary>
[Collection(LoopbackApi.Name)]
public sealed class PoolAndQosCliTests(LoopbackApiServer server)
{
    private OpenStackCli Os => OpenStackCli.NoAuth(server.BaseUrl);

    [Fact]
    public async Task A_subnet_from_a_pool_created_with_the_cli()
    {
        var pool = await Os.JsonAsync("subnet", "pool", "create", "--pool-prefix", "10.230.0.0/16", "--default-prefix-length", "24", "cli-pool");
        Assert.Equal("10.230.0.0/16", (string)pool["prefixes"]![0]!);
        Assert.Equal(24, (int)pool["default_prefixlen"]!);
        await Os.JsonAsync("network", "create", "cli-pool-net");

        var subnet = await Os.JsonAsync("subnet", "create", "--network", "cli-pool-net", "--subnet-pool", "cli-pool", "--prefix-length", "26", "cli-pool-subnet");
        Assert.Equal("10.230.0.0/26", (string)subnet["cidr"]!);
        Assert.Equal((string)pool["id"]!, (string)subnet["subnetpool_id"]!);

        var (exit, _, error) = await Os.TryAsync("subnet", "pool", "delete", "cli-pool");
        Assert.NotEqual(0, exit);
        Assert.Contains("Subnet pool has existing allocations", error, StringComparison.Ordinal);
        await Os.RunAsync("subnet", "delete", "cli-pool-subnet");
        await Os.RunAsync("subnet", "pool", "delete", "cli-pool");
    }

    [Fact]
    public async Task A_qos_policy_with_a_bandwidth_rule_set_on_a_port_with_the_cli()
    {
        var policy = await Os.JsonAsync("network", "qos", "policy", "create", "cli-qos");
        var rule = await Os.JsonAsync("network", "qos", "rule", "create", "--type", "bandwidth-limit", "--max-kbps", "10000",
            "--max-burst-kbits", "1000", "--egress", "cli-qos");
        Assert.Equal(10000, (int)rule["max_kbps"]!);
        Assert.Equal("egress", (string)rule["direction"]!);
        var network = await Os.JsonAsync("network", "create", "cli-qos-net");
        await Os.JsonAsync("subnet", "create", "--network", "cli-qos-net", "--subnet-range", Cidrs.NextV4(), "cli-qos-subnet");
        await Os.JsonAsync("port", "create", "--network", "cli-qos-net", "cli-qos-port");

        await Os.RunAsync("port", "set", "--qos-policy", "cli-qos", "cli-qos-port");
        Assert.Equal((string)policy["id"]!, (string)(await Os.JsonAsync("port", "show", "cli-qos-port"))["qos_policy_id"]!);
        Assert.Single((await Os.JsonAsync("network", "qos", "policy", "show", "cli-qos"))["rules"]!.AsArray());

        var (exit, _, error) = await Os.TryAsync("network", "qos", "policy", "delete", "cli-qos");
        Assert.NotEqual(0, exit);
        Assert.Contains("is used by port", error, StringComparison.Ordinal);
        await Os.RunAsync("port", "unset", "--qos-policy", "cli-qos-port");
        await Os.RunAsync("network", "qos", "policy", "delete", "cli-qos");
        Assert.NotNull(network["id"]);
    }
}
