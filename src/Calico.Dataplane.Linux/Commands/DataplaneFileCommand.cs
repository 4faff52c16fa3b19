using System.CommandLine;
using System.CommandLine.Help;
using Calico.Dataplane.Linux.Bgp;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Dhcp;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Policy;
using Calico.Dataplane.Linux.Routes;
using Calico.Model.Desired;
using Calico.Model.Validation;
using Microsoft.Extensions.Logging.Abstractions;

namespace Calico.Dataplane.Linux.Commands;

/// <summary>
/// `calico-silo dataplane plan|apply --file FILE [--netns NAME]`: the agent's own reconcilers, run once against a
/// desired-state file (format: <see cref="DesiredStateJson"/>), without a cluster. plan prints what would be added,
/// changed or removed (links and sysctls, routes, the nftables table inet calico, DHCP) and changes nothing; apply
/// makes the kernel hold the file's state and prints each endpoint's status. --no-policy leaves nftables out
/// (Dataplane:PolicyEnabled=false), as on a host that runs without policy; --dhcp-state-directory names where the
/// host's agent keeps dnsmasq's files (Dataplane:DhcpStateDirectory), so that its DHCP hosts are compared too;
/// --bird-state-directory likewise for BIRD's configuration (Dataplane:BirdStateDirectory, BGP routing mode), and
/// --bird-graceful-restart-wait, --bgp-hold-time and --bird-graceful-restart-time the agent's BIRD timers, which its
/// bird.conf carries (otherwise a host whose agent runs with other timers than the defaults plans a rewrite of it).
/// Exit codes: 0 done (plan: no changes needed, or changes listed; --help), 1 an endpoint could not be programmed,
/// 2 bad usage or file. Arguments are parsed by System.CommandLine, which also answers --help.
/// </summary>
public static class DataplaneFileCommand
{
    public const string Usage = "usage: calico-silo dataplane plan|apply --file FILE [--netns NAME] [--route-protocol N] [--no-policy] [--dhcp-state-directory DIR] [--bird-state-directory DIR] " +
        "[--bird-graceful-restart-wait T] [--bgp-hold-time T] [--bird-graceful-restart-time T]";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var file = new Option<string>("--file") { Description = "The desired-state JSON file", HelpName = "FILE" };
        var netns = new Option<string>("--netns") { Description = "The network namespace to program (/var/run/netns/NAME); default: this one", HelpName = "NAME" };
        var protocol = new Option<byte>("--route-protocol")
        {
            Description = "The rtm_protocol that marks our routes",
            HelpName = "N",
            DefaultValueFactory = _ => new RouteOptions().RouteProtocol,
        };
        var noPolicy = new Option<bool>("--no-policy") { Description = "Leave nftables out (Dataplane:PolicyEnabled=false)" };
        var dhcpDirectory = new Option<string>("--dhcp-state-directory")
        {
            Description = "dnsmasq's files, as the host's agent keeps them (Dataplane:DhcpStateDirectory)",
            HelpName = "DIR",
            DefaultValueFactory = _ => new DhcpOptions().DhcpStateDirectory,
        };
        var birdDirectory = new Option<string>("--bird-state-directory")
        {
            Description = "BIRD's configuration and socket, as the host's agent keeps them (Dataplane:BirdStateDirectory)",
            HelpName = "DIR",
            DefaultValueFactory = _ => new BgpOptions().BirdStateDirectory,
        };
        var defaults = new BgpOptions();
        Option<TimeSpan> Timer(string name, string key, TimeSpan value) => new(name)
        {
            Description = $"As the host's agent has it (Dataplane:{key}); it is written into bird.conf",
            HelpName = "hh:mm:ss",
            DefaultValueFactory = _ => value,
        };
        var restartWait = Timer("--bird-graceful-restart-wait", nameof(BgpOptions.BirdGracefulRestartWait), defaults.BirdGracefulRestartWait);
        var holdTime = Timer("--bgp-hold-time", nameof(BgpOptions.BgpHoldTime), defaults.BgpHoldTime);
        var restartTime = Timer("--bird-graceful-restart-time", nameof(BgpOptions.BirdGracefulRestartTime), defaults.BirdGracefulRestartTime);
        var command = new Command("dataplane", "The agent's reconcilers, run once against a desired-state file, without a cluster")
        {
            new HelpOption { Recursive = true },
        };
        foreach (var (verb, description) in new[]
        {
            ("plan", "Print what would be added, changed or removed; change nothing"),
            ("apply", "Make the kernel hold the file's state; print each endpoint's status"),
        })
        {
            var sub = new Command(verb, description) { file, netns, protocol, noPolicy, dhcpDirectory, birdDirectory, restartWait, holdTime, restartTime };
            sub.SetAction((result, _) => RunAsync(verb == "plan", result.GetValue(file),
                new DataplaneOptions { NetworkNamespace = result.GetValue(netns) },
                new RouteOptions { RouteProtocol = result.GetValue(protocol) },
                new PolicyOptions { PolicyEnabled = !result.GetValue(noPolicy) },
                new DhcpOptions { DhcpStateDirectory = result.GetValue(dhcpDirectory)! },
                new BgpOptions
                {
                    BirdStateDirectory = result.GetValue(birdDirectory)!,
                    BirdGracefulRestartWait = result.GetValue(restartWait),
                    BgpHoldTime = result.GetValue(holdTime),
                    BirdGracefulRestartTime = result.GetValue(restartTime),
                }, output, error));
            command.Subcommands.Add(sub);
        }

        var parsed = command.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Bad usage: the first reason and the usage line, exit code 2 (System.CommandLine's own would be 1).
            await error.WriteLineAsync(args.Length == 0 || args[0] is not ("plan" or "apply")
                ? Usage
                : $"calico-silo dataplane: {parsed.Errors[0].Message}\n{Usage}");
            return 2;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }

    private static async Task<int> RunAsync(bool planOnly, string? file, DataplaneOptions options, RouteOptions routes, PolicyOptions policy,
        DhcpOptions dhcp, BgpOptions bgp, TextWriter output, TextWriter error)
    {
        if (file is null)
        {
            await error.WriteLineAsync($"calico-silo dataplane: --file is required\n{Usage}");
            return 2;
        }
        foreach (var invalid in new[]
        {
            new DataplaneOptionsValidator().Validate(null, options), new RouteOptionsValidator().Validate(null, routes),
            new DhcpOptionsValidator().Validate(null, dhcp), new BgpOptionsValidator().Validate(null, bgp),
        })
        {
            if (!invalid.Failed) continue;
            await error.WriteLineAsync($"calico-silo dataplane: {invalid.FailureMessage}");
            return 2;
        }

        Dictionary<DesiredKey, DesiredItem> desired;
        try
        {
            desired = DesiredStateJson.Deserialize(await File.ReadAllTextAsync(file));
        }
        catch (Exception e) when (e is InvalidInputException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"calico-silo dataplane: {file}: {e.Message}");
            return 2;
        }

        // Runs once: nothing is reconciled later, so link notifications would only cost a socket and a thread.
        options.WatchLinks = false;
        using var dataplane = new LinuxDataplane(Microsoft.Extensions.Options.Options.Create(options), NullLoggerFactory.Instance,
            new FeatureOptions([routes, policy, dhcp, bgp]));
        if (planOnly)
        {
            var plan = await dataplane.PlanAsync(desired, CancellationToken.None);
            foreach (var line in plan) await output.WriteLineAsync(line);
            await output.WriteLineAsync(plan.Count == 0 ? "no changes" : $"{plan.Count} changes");
            return 0;
        }
        var result = await dataplane.ApplyAsync(desired, desired.Values.Select(i => new DesiredChange(i.Key, i)).ToList(), true, CancellationToken.None);
        foreach (var (endpoint, programming) in result.Endpoints.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            await output.WriteLineAsync($"{endpoint}: {programming.Status.ToString().ToUpperInvariant()}{(programming.Message is null ? "" : " (" + programming.Message + ")")}");
        await output.WriteLineAsync($"applied {desired.Count} items");
        return result.Endpoints.Values.Any(e => e.Status == Calico.Model.Resources.EndpointStatusKind.Error) ? 1 : 0;
    }
}
