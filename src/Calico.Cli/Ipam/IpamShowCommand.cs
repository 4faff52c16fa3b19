using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Calico.Cli.CommandLine;
using Calico.Cli.Output;
using Calico.Grains;

namespace Calico.Cli.Ipam;

/// <summary>
/// <c>calicoctl ipam show</c>: the IP pools, each subnet's address use (allocated of what automatic allocation may
/// hand out), and the blocks each host holds with their use.
/// </summary>
public sealed class IpamShowCommand : ICliCommand
{
    public IReadOnlyList<string> Path { get; } = ["ipam", "show"];

    public string Summary => "Show the IP pools, each subnet's address use, and the blocks by host.";

    public IReadOnlyList<Option> Options { get; } = [CliOptions.Json];

    private static string Percent(double part, double whole) =>
        double.IsNaN(whole) || whole <= 0 ? "-" : (100 * part / whole).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var client = await context.Connect(cancellationToken);
        var ipam = await client.GetGrain<IOperatorGrain>(0).GetIpamAsync().WaitAsync(cancellationToken);
        if (context.Options.GetValue(CliOptions.Json))
        {
            await CliTable.WriteJsonAsync(context.Output, new JsonObject
            {
                ["pools"] = new JsonArray([.. ipam.Pools.Select(p => (JsonNode)new JsonObject
                {
                    ["name"] = p.Name, ["cidr"] = p.Cidr.ToString(), ["block_size"] = p.BlockSize, ["disabled"] = p.Disabled, ["outgoing_nat"] = p.OutgoingNat,
                })]),
                ["subnets"] = new JsonArray([.. ipam.Subnets.Select(s => (JsonNode)new JsonObject
                {
                    ["id"] = s.SubnetId, ["name"] = s.Name, ["network_id"] = s.NetworkId, ["cidr"] = s.Cidr, ["pool"] = s.Pool,
                    ["block_length"] = s.BlockLength, ["capacity"] = double.IsNaN(s.Capacity) ? null : s.Capacity, ["allocated"] = s.Allocated,
                    ["allocation_disabled"] = s.Disabled,
                })]),
                ["blocks"] = new JsonArray([.. ipam.Blocks.Select(b => (JsonNode)new JsonObject
                {
                    ["host"] = b.Host, ["subnet_id"] = b.SubnetId, ["cidr"] = b.Cidr, ["allocated"] = b.Allocated, ["size"] = b.Size,
                })]),
            });
            return ExitCodes.Ok;
        }
        var o = context.Output;
        await o.WriteLineAsync("IP pools:");
        if (ipam.Pools.Count == 0) await o.WriteLineAsync("  none (each subnet is a pool of its own, with /26 or /122 blocks)");
        else await CliTable.WriteAsync(o, ["POOL", "CIDR", "BLOCK", "ALLOCATION", "OUTGOING NAT"],
            ipam.Pools.Select(p => (IReadOnlyList<string>)[p.Name, p.Cidr.ToString(), "/" + p.BlockSize, p.Disabled ? "disabled" : "enabled", p.OutgoingNat ? "yes" : "no"]), "  ");
        await o.WriteLineAsync();
        await o.WriteLineAsync("Subnets:");
        if (ipam.Subnets.Count == 0) await o.WriteLineAsync("  none");
        else await CliTable.WriteAsync(o, ["SUBNET", "NAME", "CIDR", "POOL", "BLOCK", "ALLOCATED", "CAPACITY", "USE"],
            ipam.Subnets.Select(s => (IReadOnlyList<string>)[s.SubnetId, s.Name.Length == 0 ? "-" : s.Name, s.Cidr,
                (s.Pool ?? "-") + (s.Disabled ? " (disabled)" : ""), "/" + s.BlockLength, s.Allocated.ToString(CultureInfo.InvariantCulture),
                double.IsNaN(s.Capacity) ? "-" : s.Capacity.ToString("0", CultureInfo.InvariantCulture), Percent(s.Allocated, s.Capacity)]), "  ");
        await o.WriteLineAsync();
        await o.WriteLineAsync("Blocks by host:");
        if (ipam.Blocks.Count == 0) await o.WriteLineAsync("  none claimed");
        else await CliTable.WriteAsync(o, ["HOST", "SUBNET", "BLOCK", "ALLOCATED", "USE"],
            ipam.Blocks.Select(b => (IReadOnlyList<string>)[b.Host ?? "(no host)", b.SubnetId, b.Cidr, $"{b.Allocated}/{b.Size}", Percent(b.Allocated, b.Size)]), "  ");
        return ExitCodes.Ok;
    }
}
