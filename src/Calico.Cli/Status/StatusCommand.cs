using System.CommandLine;
using System.Text.Json.Nodes;
using Calico.Cli.CommandLine;
using Calico.Cli.Hosts;
using Calico.Cli.Output;
using Calico.Grains;

namespace Calico.Cli.Status;

/// <summary>
/// <c>calicoctl status</c>: the cluster at a glance. The silos as Orleans membership lists them, with their roles
/// (controller: hosts the control-plane grains; compute: a host reports from it), and every registered host: alive
/// or dead, when it last reported, the desired-state version its agent applied and how far that is behind the
/// version its host grain holds; silos that died within the last hour are listed too. Exit 1 while a host is dead
/// (or no controller is active).
/// </summary>
public sealed class StatusCommand : ICliCommand
{
    public IReadOnlyList<string> Path { get; } = ["status"];

    public string Summary => "Show the controllers and silos, and each host: alive or dead, version applied, lag.";

    public IReadOnlyList<Option> Options { get; } = [CliOptions.Json];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var client = await context.Connect(cancellationToken);
        var status = await client.GetGrain<IOperatorGrain>(0).GetStatusAsync().WaitAsync(cancellationToken);
        // A silo that died in the last hour is listed (Dead) but is no problem by itself: a restarted silo leaves one.
        var controllers = status.Silos.Count(s => s.Status == "Active" && s.Roles.Contains("controller"));
        var problems = status.Hosts.Count(h => !h.Alive) + (controllers == 0 ? 1 : 0);
        if (context.Options.GetValue(CliOptions.Json))
        {
            await CliTable.WriteJsonAsync(context.Output, new JsonObject
            {
                ["silos"] = new JsonArray([.. status.Silos.Select(s => (JsonNode)new JsonObject
                {
                    ["name"] = s.Name, ["address"] = s.Address, ["status"] = s.Status,
                    ["roles"] = new JsonArray([.. s.Roles.Select(r => (JsonNode)r)]), ["host"] = s.Host,
                    ["started_at"] = CliTable.Iso(s.StartedAt), ["i_am_alive_at"] = CliTable.Iso(s.IAmAliveAt),
                })]),
                ["hosts"] = new JsonArray([.. status.Hosts.Select(h => (JsonNode)HostViews.Json(h))]),
                ["dead_after_seconds"] = status.DeadAfter.TotalSeconds,
                ["problems"] = problems,
            });
            return problems == 0 ? ExitCodes.Ok : ExitCodes.ProblemsRemain;
        }
        var now = DateTimeOffset.UtcNow;
        await context.Output.WriteLineAsync($"Silos ({controllers} active controllers):");
        await CliTable.WriteAsync(context.Output, ["SILO", "STATUS", "ROLES", "ADDRESS", "STARTED", "LAST ALIVE", "HOST"],
            status.Silos.Select(s => (IReadOnlyList<string>)[s.Name, s.Status, s.Roles.Count == 0 ? "-" : string.Join(",", s.Roles),
                s.Address, CliTable.Time(s.StartedAt), CliTable.Ago(s.IAmAliveAt, now), s.Host ?? "-"]), "  ");
        await context.Output.WriteLineAsync();
        var dead = status.Hosts.Count(h => !h.Alive);
        var lagging = status.Hosts.Count(h => h.Alive && h.Lag is not 0);
        await context.Output.WriteLineAsync($"Hosts ({status.Hosts.Count} registered, {dead} dead, {lagging} not at their desired version as of their last report; " +
                                            $"dead after {status.DeadAfter.TotalSeconds:0}s without a report):");
        if (status.Hosts.Count == 0) await context.Output.WriteLineAsync("  none registered");
        else await CliTable.WriteAsync(context.Output, HostViews.Headers, status.Hosts.Select(h => HostViews.Row(h, now)), "  ");
        return problems == 0 ? ExitCodes.Ok : ExitCodes.ProblemsRemain;
    }
}
