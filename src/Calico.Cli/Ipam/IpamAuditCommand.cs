using System.CommandLine;
using System.Text.Json;
using Calico.Cli.CommandLine;
using Calico.Grains;

namespace Calico.Cli.Ipam;

/// <summary>
/// <c>calicoctl ipam audit</c>: asks the cluster's IPAM audit grain for leaked and doubly-claimed addresses, prints
/// them, optionally releases the leaks, and exits 1 while any problem remains.
/// </summary>
public sealed class IpamAuditCommand : ICliCommand
{
    private static readonly Option<bool> ReleaseLeaks = CliOptions.Flag("--release-leaks",
        "release leaked addresses (allocated to a port that does not hold them or does not exist)");
    private static readonly Option<TimeSpan?> Grace = CliOptions.Duration("--grace",
        "judge only allocations older than this (default: the cluster's Ipam:LeakGracePeriod, 5m)");

    public IReadOnlyList<string> Path { get; } = ["ipam", "audit"];

    public string Summary => "Find leaked and doubly-claimed IP addresses; with --release-leaks, release the leaks.";

    public IReadOnlyList<Option> Options { get; } = [ReleaseLeaks, Grace, CliOptions.Json];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var request = new IpamAuditRequest(context.Options.GetValue(ReleaseLeaks), context.Options.GetValue(Grace));
        var client = await context.Connect(cancellationToken);
        var report = await client.GetGrain<IIpamAuditGrain>(0).AuditAsync(request).WaitAsync(cancellationToken);
        if (context.Options.GetValue(CliOptions.Json)) await PrintJsonAsync(context.Output, report);
        else await PrintAsync(context.Output, report, request.ReleaseLeaks);
        return report.Remaining.Any() ? ExitCodes.ProblemsRemain : ExitCodes.Ok;
    }

    private static async Task PrintAsync(TextWriter o, IpamAuditReport report, bool releasing)
    {
        await o.WriteLineAsync($"IPAM audit: {report.Subnets} subnets, {report.Allocations} allocations, {report.Ports} ports, " +
                               $"{report.FloatingIps} floating IPs; " +
                               $"allocations judged once older than {report.GracePeriod}");
        foreach (var f in report.Findings)
        {
            var what = f.Problem switch
            {
                IpamProblem.LeakedPortMissing => $"LEAKED      allocated to {f.AllocatedTo}, which does not exist",
                IpamProblem.LeakedNotHeld => $"LEAKED      allocated to {f.AllocatedTo}, which does not hold it",
                IpamProblem.DoublyClaimed => $"DOUBLE      held by {string.Join(", ", f.HeldBy)}, allocated to {f.AllocatedTo ?? "no port"}",
                _ => $"UNRECORDED  held by {string.Join(", ", f.HeldBy)} but free in IPAM (could be given out again)",
            };
            await o.WriteLineAsync($"  {f.SubnetId} {f.Address,-15} {what}{(f.Released ? "  -> released" : "")}");
        }
        if (report.TooRecentToJudge > 0)
            await o.WriteLineAsync($"{report.TooRecentToJudge} allocations without a port are younger than {report.GracePeriod} and were not judged.");
        var remaining = report.Remaining.ToList();
        var leaks = remaining.Count(f => f.IsLeak);
        await o.WriteLineAsync(remaining.Count == 0
            ? "No problems remain."
            : $"Problems remaining: {remaining.Count}" + (leaks > 0 && !releasing ? $" (run with --release-leaks to release {leaks} leaked)" : ""));
    }

    private static async Task PrintJsonAsync(TextWriter o, IpamAuditReport report)
    {
        var json = new
        {
            subnets = report.Subnets,
            allocations = report.Allocations,
            ports = report.Ports,
            floating_ips = report.FloatingIps,
            grace_period_seconds = report.GracePeriod.TotalSeconds,
            too_recent_to_judge = report.TooRecentToJudge,
            findings = report.Findings.Select(f => new
            {
                problem = f.Problem.ToString(), subnet_id = f.SubnetId, address = f.Address.ToString(),
                allocated_to = f.AllocatedTo, held_by = f.HeldBy, released = f.Released,
            }),
            remaining = report.Remaining.Count(),
        };
        await o.WriteLineAsync(JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
    }
}
