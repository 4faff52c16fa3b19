using System.CommandLine;
using System.Text.Json.Nodes;
using Calico.Cli.CommandLine;
using Calico.Cli.Output;
using Calico.Grains;

namespace Calico.Cli.Hosts;

/// <summary>
/// <c>calicoctl plan --host H</c>: what the host's dataplane would change now. Only the host can read its kernel,
/// so the request goes to its agent (through the host grain, which holds the agent as an observer from its reports);
/// the agent plans the desired state it applied last with its own reconcilers, as <c>calico-silo dataplane plan</c>
/// does, and changes nothing. Also printed: the version the agent applied against the one its host grain holds (a
/// newer version's changes are not in the plan; they arrive with the next update). Exit 1 when the host is unknown,
/// dead, or its agent does not answer.
/// </summary>
public sealed class PlanCommand : ICliCommand
{
    private static readonly Option<string> Host = CliOptions.Text("--host", "name", "the host, as ports name it in binding:host_id (required)");

    public IReadOnlyList<string> Path { get; } = ["plan"];

    public string Summary => "Show what a host's dataplane would change now (asked of its agent; changes nothing).";

    public IReadOnlyList<Option> Options { get; } = [Host, CliOptions.Json];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var name = HostShowCommand.RequiredHost(context, Host);
        var client = await context.Connect(cancellationToken);
        if ((await client.GetGrain<IOperatorGrain>(0).ListHostsAsync(name).WaitAsync(cancellationToken)) is not [var host])
        {
            await context.Error.WriteLineAsync($"calicoctl plan: no host {name} is registered");
            return ExitCodes.ProblemsRemain;
        }
        HostPlan plan;
        try
        {
            plan = await client.GetGrain<IHostGrain>(name).PlanAsync().WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is HostUnreachableException or NotSupportedException or TimeoutException or OrleansException)
        {
            await context.Error.WriteLineAsync($"calicoctl plan: {e.Message}");
            return ExitCodes.ProblemsRemain;
        }
        var pending = plan.Applied is { } a && host.Desired is { } d && a.Epoch == d.Epoch ? d.Version - a.Version : (long?)null;
        if (context.Options.GetValue(CliOptions.Json))
        {
            await CliTable.WriteJsonAsync(context.Output, new JsonObject
            {
                ["host"] = plan.Host, ["silo"] = plan.Silo, ["applied"] = plan.Applied?.ToString(), ["desired"] = host.Desired?.ToString(),
                ["versions_not_applied"] = pending, ["items"] = plan.Items, ["planned_at"] = CliTable.Iso(plan.At),
                ["changes"] = new JsonArray([.. plan.Changes.Select(c => (JsonNode)c)]),
            });
            return ExitCodes.Ok;
        }
        var o = context.Output;
        await o.WriteLineAsync($"host {plan.Host} (silo {plan.Silo}): planned {plan.Items} desired items, version {plan.Applied?.ToString() ?? "none applied"}, at {CliTable.Time(plan.At)}");
        if (pending is > 0)
            await o.WriteLineAsync($"the host grain holds version {host.Desired}: {pending} versions not applied yet (their changes are not in this plan)");
        else if (pending is null && plan.Applied is not null)
            await o.WriteLineAsync($"the host grain holds {host.Desired?.ToString() ?? "nothing"} (another epoch): the agent takes a snapshot next");
        foreach (var line in plan.Changes) await o.WriteLineAsync(line);
        await o.WriteLineAsync(plan.Changes.Count == 0 ? "no changes" : $"{plan.Changes.Count} changes");
        return ExitCodes.Ok;
    }
}
