using System.CommandLine;
using System.Text.Json.Nodes;
using Calico.Cli.CommandLine;
using Calico.Cli.Endpoints;
using Calico.Cli.Output;
using Calico.Grains;

namespace Calico.Cli.Hosts;

/// <summary><c>calicoctl host list</c>: every registered host, alive or dead, its version applied and lag, its endpoints by status.</summary>
public sealed class HostListCommand : ICliCommand
{
    public IReadOnlyList<string> Path { get; } = ["host", "list"];

    public string Summary => "List the registered hosts: alive or dead, last report, version applied and lag, endpoints.";

    public IReadOnlyList<Option> Options { get; } = [CliOptions.Json];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var client = await context.Connect(cancellationToken);
        var hosts = await client.GetGrain<IOperatorGrain>(0).ListHostsAsync().WaitAsync(cancellationToken);
        if (context.Options.GetValue(CliOptions.Json))
            await CliTable.WriteJsonAsync(context.Output, new JsonArray([.. hosts.Select(h => (JsonNode)HostViews.Json(h))]));
        else await CliTable.WriteAsync(context.Output, HostViews.Headers, hosts.Select(h => HostViews.Row(h, DateTimeOffset.UtcNow)));
        return ExitCodes.Ok;
    }
}

/// <summary><c>calicoctl host show --host H</c>: one host in full, and its endpoints (exit 1 when no such host is registered).</summary>
public sealed class HostShowCommand : ICliCommand
{
    private static readonly Option<string> Host = CliOptions.Text("--host", "name", "the host, as ports name it in binding:host_id (required)");

    public IReadOnlyList<string> Path { get; } = ["host", "show"];

    public string Summary => "Show one host: registration, liveness, version applied and lag, its endpoints with their status.";

    public IReadOnlyList<Option> Options { get; } = [Host, CliOptions.Json];

    public static string RequiredHost(CliContext context, Option<string> option)
    {
        var host = context.Options.GetValue(option);
        return string.IsNullOrWhiteSpace(host) ? throw new CliUsageException($"{option.Name} is required: the host's name, as ports name it in binding:host_id") : host;
    }

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var name = RequiredHost(context, Host);
        var client = await context.Connect(cancellationToken);
        var grain = client.GetGrain<IOperatorGrain>(0);
        if ((await grain.ListHostsAsync(name).WaitAsync(cancellationToken)) is not [var h])
        {
            await context.Error.WriteLineAsync($"calicoctl host show: no host {name} is registered");
            return ExitCodes.ProblemsRemain;
        }
        var endpoints = await grain.ListEndpointsAsync(name).WaitAsync(cancellationToken);
        if (context.Options.GetValue(CliOptions.Json))
        {
            var json = HostViews.Json(h);
            json["ports"] = new JsonArray([.. endpoints.Select(e => (JsonNode)EndpointViews.Json(e))]);
            await CliTable.WriteJsonAsync(context.Output, json);
            return ExitCodes.Ok;
        }
        var o = context.Output;
        var now = DateTimeOffset.UtcNow;
        await o.WriteLineAsync($"host:          {h.Spec.Name}");
        await o.WriteLineAsync($"state:         {(h.Alive ? "alive" : "DEAD")} (last report {CliTable.Time(h.ReportedAt)}, {CliTable.Ago(h.ReportedAt, now)}; first seen {CliTable.Time(h.FirstSeen)})");
        await o.WriteLineAsync($"addresses:     {h.Spec.Ipv4Address?.ToString() ?? "-"} {h.Spec.Ipv6Address?.ToString() ?? ""}".TrimEnd());
        if (h.Spec.AsNumber is { } asn) await o.WriteLineAsync($"as number:     {asn}");
        if (h.Spec.Labels.Count > 0) await o.WriteLineAsync($"labels:        {string.Join(", ", h.Spec.Labels.Select(l => $"{l.Key}={l.Value}"))}");
        if (h.Spec.RouteReflectorClusterId is { } rr) await o.WriteLineAsync($"route reflector cluster id: {rr}");
        await o.WriteLineAsync($"silo:          {h.Silo ?? "-"} (agent {h.AgentVersion ?? "-"})");
        await o.WriteLineAsync($"applied:       {h.Applied?.ToString() ?? "nothing yet"}");
        await o.WriteLineAsync($"desired:       {h.Desired?.ToString() ?? "-"} (lag: {HostViews.Lag(h)})");
        await o.WriteLineAsync($"endpoints:     {h.Endpoints} reported ({h.Active} active, {h.Down} down, {h.Error} error); {endpoints.Count} ports bound here");
        if (endpoints.Count > 0)
        {
            await o.WriteLineAsync();
            await CliTable.WriteAsync(o, EndpointViews.Headers, endpoints.Select(EndpointViews.Row), "  ");
        }
        return ExitCodes.Ok;
    }
}
