using System.CommandLine;
using Calico.Cli.CommandLine;
using Calico.Grains;
using Calico.Model.Resources;

namespace Calico.Cli.Bgp;

/// <summary>
/// <c>calicoctl bgp status [--host H]</c>: each host's BGP sessions as its compute silo last read them from BIRD —
/// peer, state, since when, routes received. Exit 1 when a session is not established, a host is dead or its BIRD
/// could not be read; 0 when every session of every host shown is established.
/// </summary>
public sealed class BgpStatusCommand : ICliCommand
{
    private static readonly Option<string> Host = CliOptions.Text("--host", "name", "only this host");

    public IReadOnlyList<string> Path { get; } = ["bgp", "status"];

    public string Summary => "Show each host's BGP sessions (peer, state, since, routes received).";

    public IReadOnlyList<Option> Options { get; } = [Host];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var only = context.Options.GetValue(Host);
        var client = await context.Connect(cancellationToken);
        var hosts = await client.GetGrain<IBgpConfigurationGrain>(BgpConfiguration.DefaultKey).ListSessionsAsync(only).WaitAsync(cancellationToken);
        if (only is not null && hosts.Count == 0)
        {
            await context.Error.WriteLineAsync($"calicoctl bgp status: no host {only} is registered");
            return ExitCodes.ProblemsRemain;
        }
        var problems = 0;
        foreach (var host in hosts)
        {
            var at = host.ReportedAt is { } t ? $"reported {t.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z" : "never reported";
            await context.Output.WriteLineAsync($"host {host.Host} ({(host.Alive ? "alive" : "dead")}, {at})");
            if (!host.Alive) problems++;
            if (host.Sessions is not { } sessions)
            {
                await context.Output.WriteLineAsync("  BGP sessions not known (no BIRD here: direct routing mode, or it could not be asked)");
                problems++;
                continue;
            }
            if (sessions.Count == 0) await context.Output.WriteLineAsync("  no BGP peers");
            // IPv6 peers are wider than the usual column: it grows to the longest.
            var width = sessions.Select(x => x.Peer.ToString().Length).Append(16).Max();
            if (sessions.Count > 0) await context.Output.WriteLineAsync($"  {"PEER".PadRight(width)} {"STATE",-12} {"SINCE",-20} {"ROUTES",-7} INFO");
            foreach (var s in sessions)
            {
                var since = s.Since is { } when ? when.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss") + "Z" : "-";
                await context.Output.WriteLineAsync(
                    $"  {s.Peer.ToString().PadRight(width)} {s.State,-12} {since,-20} {(s.RoutesReceived is { } n ? n.ToString() : "-"),-7} {s.Info}".TrimEnd());
                if (!s.IsEstablished) problems++;
            }
        }
        return problems == 0 ? ExitCodes.Ok : ExitCodes.ProblemsRemain;
    }
}
