using Calico.Dataplane.Linux.Driver;
using Calico.Model.Desired;
using Calico.Model.Validation;
using Microsoft.Extensions.Logging.Abstractions;

namespace Calico.Dataplane.Linux.Commands;

/// <summary>
/// `calico-silo dataplane plan|apply --file FILE [--netns NAME]`: the agent's own reconcilers, run once against a
/// desired-state file (format: <see cref="DesiredStateJson"/>), without a cluster. plan prints what would be added,
/// changed or removed (links and sysctls, routes, the nftables table inet calico, DHCP) and changes nothing; apply
/// makes the kernel hold the file's state and prints each endpoint's status. --no-policy leaves nftables out
/// (Dataplane:PolicyEnabled=false), as on a host that runs without policy.
/// Exit codes: 0 done (plan: no changes needed, or changes listed), 1 an endpoint could not be programmed, 2 bad usage or file.
/// </summary>
public static class DataplaneFileCommand
{
    public const string Usage = "usage: calico-silo dataplane plan|apply --file FILE [--netns NAME] [--route-protocol N] [--no-policy]";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0 || args[0] is not ("plan" or "apply"))
        {
            await error.WriteLineAsync(Usage);
            return 2;
        }
        string? file = null;
        var options = new DataplaneOptions();
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--file" when value is not null: file = value; i++; break;
                case "--netns" when value is not null: options.NetworkNamespace = value; i++; break;
                case "--route-protocol" when value is not null && byte.TryParse(value, out var protocol): options.RouteProtocol = protocol; i++; break;
                case "--no-policy": options.PolicyEnabled = false; break;
                default:
                    await error.WriteLineAsync($"calico-silo dataplane: unexpected argument '{args[i]}'\n{Usage}");
                    return 2;
            }
        }
        if (file is null)
        {
            await error.WriteLineAsync($"calico-silo dataplane: --file is required\n{Usage}");
            return 2;
        }
        var invalid = new DataplaneOptionsValidator().Validate(null, options);
        if (invalid.Failed)
        {
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
        using var dataplane = new LinuxDataplane(Microsoft.Extensions.Options.Options.Create(options), NullLoggerFactory.Instance);
        if (args[0] == "plan")
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
