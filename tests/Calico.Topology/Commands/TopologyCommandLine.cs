using System.CommandLine;

namespace Calico.Topology.Commands;

/// <summary>
/// The topology program's command line (System.CommandLine): <c>up [--hosts N] [--vms-per-host M] [--racks 1|2]</c> and
/// <c>down [--force]</c>. Help goes to stdout with exit code 0; a wrong command line gets the reason and the usage
/// line on stderr and exit code 2, before anything is built.
/// </summary>
public static class TopologyCommandLine
{
    public const string UpUsage = "usage: topology up [--hosts N] [--vms-per-host M] [--racks 1|2]";

    public const string DownUsage = "usage: topology down [--force]";

    public const string Usage = """
        usage: topology up [--hosts N] [--vms-per-host M] [--racks 1|2]
                 Builds the end-to-end topology (a fabric bridge, a controller silo, N compute hosts with a compute silo
                 each, M VMs per host on 10.65.0.0/24), prints how to reach everything and keeps it until Ctrl-C, then
                 removes everything. Defaults: 2 hosts, 1 VM per host. Needs root.
                 --racks 2: BGP routing mode, even hosts on a second segment (172.18.204.0/24, fd00:18:204::/64)
                 behind a router namespace whose BIRD is every host's route reflector over IPv4 and IPv6 (needs bird2).
               topology down [--force]
                 Removes what runs that were killed left behind: namespaces, processes, /etc/netns and temporary
                 directories named cal-topo-, cal-e2e- or cal-bench-XXXXXX-*. Runs whose process still lives are kept
                 unless --force.
        (from a checkout: scripts/topology.sh up|down ...)
        """;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        if (args.Count == 1 && args[0] is "help" or "--help" or "-h")
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }

        var hosts = new Option<int>("--hosts") { Description = "compute hosts, 1..17", HelpName = "N", DefaultValueFactory = _ => 2 };
        var vmsPerHost = new Option<int>("--vms-per-host") { Description = "VMs per host (at most 200 in all)", HelpName = "M", DefaultValueFactory = _ => 1 };
        var racks = new Option<int>("--racks") { Description = "1 (one segment) or 2 (BGP across two racks behind a router)", HelpName = "1|2", DefaultValueFactory = _ => 1 };
        var up = new Command("up", "Build the topology, print how to reach it, keep it until Ctrl-C, then remove it") { hosts, vmsPerHost, racks };
        up.SetAction((result, _) => UpCommand.RunAsync(result.GetValue(hosts), result.GetValue(vmsPerHost), output, error, result.GetValue(racks)));
        var force = new Option<bool>("--force") { Description = "also remove runs whose process still lives" };
        var down = new Command("down", "Remove what killed runs left behind") { force };
        down.SetAction(result => DownCommand.Run(result.GetValue(force), output, error));
        var root = new RootCommand("The end-to-end topology by hand") { up, down };

        var parsed = root.Parse([.. args]);
        var problem = parsed.Errors.Count > 0 || parsed.CommandResult.Command != up ? null
            : parsed.GetValue(hosts) is < 1 or > 17 ? "--hosts must be 1..17"
            : parsed.GetValue(racks) is not (1 or 2) ? "--racks must be 1 or 2"
            : parsed.GetValue(vmsPerHost) is var m && (m < 0 || parsed.GetValue(hosts) * m > 200)
                ? "--vms-per-host must be 0 or more, and at most 200 VMs in all"
                : null;
        if (problem is not null)
        {
            await error.WriteLineAsync($"topology up: {problem} ({UpUsage})");
            return 2;
        }
        if (parsed.Errors.Count > 0)
        {
            var command = parsed.CommandResult.Command;
            var usage = command == up ? UpUsage : command == down ? DownUsage : null;
            if (usage is null)
            {
                await error.WriteLineAsync(Usage);
                return 2;
            }
            var unmatched = parsed.UnmatchedTokens.FirstOrDefault();
            var reason = unmatched is not null ? $"unknown argument '{unmatched}'" : parsed.Errors[0].Message;
            await error.WriteLineAsync($"topology {command.Name}: {reason} ({usage})");
            return 2;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }
}
