using System.CommandLine;
using System.Text.Json.Nodes;
using Calico.Cli.CommandLine;
using Calico.Cli.Output;
using Calico.Grains;
using Calico.Model.Validation;

namespace Calico.Cli.Endpoints;

/// <summary>
/// <c>calicoctl endpoint list [--host H] [--network N]</c>: the ports, where they are bound, their addresses, and
/// their status as their host reported it, with the reason when not ACTIVE. An unknown host or network is named, exit 1.
/// </summary>
public sealed class EndpointListCommand : ICliCommand
{
    private static readonly Option<string> Host = CliOptions.Text("--host", "name", "only the ports bound to this host");
    private static readonly Option<string> Network = CliOptions.Text("--network", "id|name", "only the ports on this network");

    public IReadOnlyList<string> Path { get; } = ["endpoint", "list"];

    public string Summary => "List the ports (endpoints) with their status and its reason, by host or network.";

    public IReadOnlyList<Option> Options { get; } = [Host, Network, CliOptions.Json];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var client = await context.Connect(cancellationToken);
        IReadOnlyList<EndpointSummary> endpoints;
        try
        {
            endpoints = await client.GetGrain<IOperatorGrain>(0)
                .ListEndpointsAsync(context.Options.GetValue(Host), context.Options.GetValue(Network)).WaitAsync(cancellationToken);
        }
        catch (ResourceNotFoundException e)
        {
            await context.Error.WriteLineAsync($"calicoctl endpoint list: no {e.Kind} {e.Id}" +
                                               (e.Kind == "host" ? " is registered, and no port is bound to it" : " (by id or name)"));
            return ExitCodes.ProblemsRemain;
        }
        if (context.Options.GetValue(CliOptions.Json))
            await CliTable.WriteJsonAsync(context.Output, new JsonArray([.. endpoints.Select(e => (JsonNode)EndpointViews.Json(e))]));
        else await CliTable.WriteAsync(context.Output, EndpointViews.Headers, endpoints.Select(EndpointViews.Row));
        return ExitCodes.Ok;
    }
}

/// <summary><c>calicoctl endpoint show --port P</c>: one port (by id, or by name when one port has it) in full; exit 1 when there is none.</summary>
public sealed class EndpointShowCommand : ICliCommand
{
    private static readonly Option<string> Port = CliOptions.Text("--port", "id|name", "the port (required)");

    public IReadOnlyList<string> Path { get; } = ["endpoint", "show"];

    public string Summary => "Show one port: binding, interface, addresses, groups, status and reason.";

    public IReadOnlyList<Option> Options { get; } = [Port, CliOptions.Json];

    /// <summary>The port named by id, or by a name only one port has; null (and the reason printed) otherwise.</summary>
    public static async Task<EndpointSummary?> FindAsync(CliContext context, IClusterClient client, string command, string option, string port,
        CancellationToken cancellationToken)
    {
        var byName = await client.GetGrain<IOperatorGrain>(0).FindEndpointsAsync(port).WaitAsync(cancellationToken);
        if (byName.Count == 1) return byName[0];
        await context.Error.WriteLineAsync(byName.Count == 0
            ? $"calicoctl {command}: {option} {port}: no port has that id or name"
            : $"calicoctl {command}: {option} {port}: {byName.Count} ports have that name ({string.Join(", ", byName.Select(e => e.Port.Id))}); give the id");
        return null;
    }

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var port = context.Options.GetValue(Port);
        if (string.IsNullOrWhiteSpace(port)) throw new CliUsageException("--port is required: the port's id or name");
        var client = await context.Connect(cancellationToken);
        if (await FindAsync(context, client, "endpoint show", "--port", port, cancellationToken) is not { } e) return ExitCodes.ProblemsRemain;
        if (context.Options.GetValue(CliOptions.Json))
        {
            await CliTable.WriteJsonAsync(context.Output, EndpointViews.Json(e));
            return ExitCodes.Ok;
        }
        var o = context.Output;
        var p = e.Port;
        await o.WriteLineAsync($"port:            {p.Id}{(p.Name.Length > 0 ? $" ({p.Name})" : "")}");
        await o.WriteLineAsync($"network:         {e.NetworkName ?? "-"} ({p.NetworkId})");
        await o.WriteLineAsync($"host:            {(p.IsBound ? p.Host : "- (not bound)")}");
        if (p.IsBound) await o.WriteLineAsync($"interface:       {p.InterfaceName}");
        await o.WriteLineAsync($"mac address:     {p.MacAddress}");
        await o.WriteLineAsync($"fixed ips:       {(p.FixedIps.Count == 0 ? "-" : string.Join(", ", p.FixedIps.Select(f => $"{f.Address} ({f.SubnetId})")))}");
        await o.WriteLineAsync($"security groups: {(p.PortSecurityEnabled ? (p.SecurityGroupIds.Count == 0 ? "none (everything dropped)" : string.Join(", ", p.SecurityGroupIds)) : "port security disabled")}");
        if (p.AllowedAddressPairs.Count > 0)
            await o.WriteLineAsync($"address pairs:   {string.Join(", ", p.AllowedAddressPairs.Select(a => a.IpAddress + (a.MacAddress is null ? "" : " " + a.MacAddress)))}");
        await o.WriteLineAsync($"admin state:     {(p.AdminStateUp ? "up" : "DOWN")}");
        await o.WriteLineAsync($"device:          {p.DeviceOwner} {p.DeviceId}".TrimEnd());
        await o.WriteLineAsync($"status:          {EndpointViews.Status(e)}{(e.Reason is null ? "" : " (" + e.Reason + ")")}");
        await o.WriteLineAsync($"reported:        {CliTable.Time(e.ReportedAt)}");
        return ExitCodes.Ok;
    }
}
