using System.CommandLine;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Calico.Cli.CommandLine;
using Calico.Cli.Hosts;
using Calico.Cli.Output;
using Calico.Grains;
using Calico.Model.Desired;
using Calico.Model.Resources;

namespace Calico.Cli.Diags;

/// <summary>
/// <c>calicoctl diags</c>: one tar.gz for a support case, its path printed as the last line. Inside: the cluster's
/// state as the control plane holds it (status, hosts with their agents' reports, ports with their statuses, IPAM,
/// BGP settings and peers without passwords, each host's desired state without passwords, and what each live host's
/// agent would change now), this machine's kernel as <c>ip -d</c> and <c>nft list ruleset</c> show it (in
/// <c>--netns</c> if given), logs (<c>--log</c> files or directories, <c>--journal-unit</c> units), configuration
/// files (<c>--config</c>, and /etc/calico when present), and <c>errors.txt</c> listing what could not be collected.
/// Reads only; a cluster that cannot be reached still gets a bundle (of the rest). Exit 0 when everything was
/// collected, 1 when some part could not be (see errors.txt).
/// </summary>
public sealed class DiagsCommand : ICliCommand
{
    private static readonly Option<string> Netns = CliOptions.Text("--netns", "name", "dump the kernel of this network namespace (default: the one calicoctl runs in)");
    private static readonly Option<string[]> Hosts = new("--host") { Description = "only these hosts' desired states and plans (default: every host)", HelpName = "name", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<string[]> Logs = new("--log") { Description = "a log file, or a directory of them, to include; repeat for several", HelpName = "path", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<string[]> Units = new("--journal-unit") { Description = "a systemd unit whose journal (last 24 h) to include", HelpName = "unit", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<string[]> Configs = new("--config") { Description = "a configuration file or directory to include (default: /etc/calico if present)", HelpName = "path", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<string> OutputDirectory = CliOptions.Text("--output-dir", "dir", "where the bundle is written (default: the temporary directory)");

    /// <summary>What a hidden password is written as.</summary>
    private const string Hidden = "(hidden)";

    public IReadOnlyList<string> Path { get; } = ["diags"];

    public string Summary => "Write a support bundle (tar.gz): cluster state, agent statuses, kernel dumps, logs, configuration.";

    public IReadOnlyList<Option> Options { get; } = [Netns, Hosts, Logs, Units, Configs, OutputDirectory];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var netns = context.Options.GetValue(Netns);
        if (netns is not null && (netns.Length == 0 || netns.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
            throw new CliUsageException($"--netns '{netns}' is not a namespace name (letters, digits, '-', '_', '.')");
        var outputDirectory = context.Options.GetValue(OutputDirectory) ?? System.IO.Path.GetTempPath();
        if (!Directory.Exists(outputDirectory)) throw new CliUsageException($"--output-dir '{outputDirectory}' is not a directory");
        foreach (var path in (context.Options.GetValue(Logs) ?? []).Concat(context.Options.GetValue(Configs) ?? []))
            if (!File.Exists(path) && !Directory.Exists(path)) throw new CliUsageException($"'{path}' does not exist");

        var name = $"calico-diags-{Environment.MachineName}-{DateTime.UtcNow:yyyyMMdd-HHmmss}";
        var work = Directory.CreateTempSubdirectory("calicoctl-diags-");
        var root = Directory.CreateDirectory(System.IO.Path.Combine(work.FullName, name)).FullName;
        var errors = new List<string>();
        try
        {
            await CollectClusterAsync(context, root, errors, cancellationToken);
            await CollectKernelAsync(root, netns, errors, cancellationToken);
            await CollectFilesAsync(root, "logs", context.Options.GetValue(Logs) ?? [], errors);
            var configs = context.Options.GetValue(Configs) ?? (Directory.Exists("/etc/calico") ? ["/etc/calico"] : []);
            await CollectFilesAsync(root, "config", configs, errors);
            foreach (var unit in context.Options.GetValue(Units) ?? [])
                await RunToFileAsync(root, $"logs/journal-{Safe(unit)}.txt", errors, cancellationToken, "journalctl", "--no-pager", "-u", unit, "--since", "-24h");
            await File.WriteAllLinesAsync(System.IO.Path.Combine(root, "errors.txt"),
                errors.Count == 0 ? ["nothing failed"] : errors, cancellationToken);
            var bundle = System.IO.Path.GetFullPath(System.IO.Path.Combine(outputDirectory, name + ".tar.gz"));
            await using (var file = File.Create(bundle))
            await using (var gzip = new GZipStream(file, CompressionLevel.Optimal))
                await TarFile.CreateFromDirectoryAsync(root, gzip, includeBaseDirectory: true, cancellationToken);
            foreach (var e in errors) await context.Error.WriteLineAsync($"calicoctl diags: not collected: {e}");
            await context.Output.WriteLineAsync(bundle);
            return errors.Count == 0 ? ExitCodes.Ok : ExitCodes.ProblemsRemain;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task CollectClusterAsync(CliContext context, string root, List<string> errors, CancellationToken cancellationToken)
    {
        IClusterClient client;
        try
        {
            client = await context.Connect(cancellationToken);
        }
        catch (CliConnectionException e)
        {
            errors.Add($"cluster state: {e.Message}");
            return;
        }
        var grain = client.GetGrain<IOperatorGrain>(0);
        var cluster = System.IO.Path.Combine(root, "cluster");
        Directory.CreateDirectory(cluster);
        async Task Part(string what, Func<Task> collect)
        {
            try
            {
                await collect();
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                errors.Add($"{what}: {e.GetType().Name}: {e.Message}");
            }
        }
        async Task Write(string file, string text) => await File.WriteAllTextAsync(System.IO.Path.Combine(cluster, file), text, cancellationToken);
        static string Json(JsonNode node) => node.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });

        IReadOnlyList<HostSummary> hosts = [];
        await Part("status", async () =>
        {
            var status = await grain.GetStatusAsync().WaitAsync(cancellationToken);
            hosts = status.Hosts;
            await Write("silos.json", Json(new JsonArray([.. status.Silos.Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Name, ["address"] = s.Address, ["status"] = s.Status, ["roles"] = string.Join(",", s.Roles), ["host"] = s.Host,
                ["started_at"] = CliTable.Iso(s.StartedAt), ["i_am_alive_at"] = CliTable.Iso(s.IAmAliveAt),
            })])));
            await Write("hosts.json", Json(new JsonArray([.. status.Hosts.Select(h => (JsonNode)HostViews.Json(h))])));
        });
        await Part("endpoints", async () =>
        {
            var endpoints = await grain.ListEndpointsAsync().WaitAsync(cancellationToken);
            await Write("endpoints.json", Json(new JsonArray([.. endpoints.Select(e => (JsonNode)Endpoints.EndpointViews.Json(e))])));
        });
        await Part("ipam", async () =>
        {
            var ipam = await grain.GetIpamAsync().WaitAsync(cancellationToken);
            await Write("ipam.txt", string.Join("\n", ipam.Pools.Select(p => $"pool {p.Name} {p.Cidr} /{p.BlockSize} disabled={p.Disabled} outgoing_nat={p.OutgoingNat}")
                .Concat(ipam.Subnets.Select(s => $"subnet {s.SubnetId} {s.Cidr} pool={s.Pool ?? "-"} block=/{s.BlockLength} allocated={s.Allocated} capacity={s.Capacity}"))
                .Concat(ipam.Blocks.Select(b => $"block {b.Cidr} subnet={b.SubnetId} host={b.Host ?? "-"} allocated={b.Allocated}/{b.Size}"))) + "\n");
        });
        await Part("bgp", async () =>
        {
            var configuration = client.GetGrain<IBgpConfigurationGrain>(BgpConfiguration.DefaultKey);
            var settings = (await configuration.GetAsync().WaitAsync(cancellationToken))?.Value ?? new BgpConfiguration();
            var peers = await configuration.ListPeersAsync().WaitAsync(cancellationToken);
            await Write("bgp.txt", string.Join("\n", new[] { $"node-to-node mesh: {(settings.NodeToNodeMesh ? "on" : "off")}", $"as number: {settings.AsNumber?.ToString() ?? "as configured"}" }
                .Concat(peers.Select(p => $"peer {p.Value.Key} as {p.Value.AsNumber} password {(p.Value.Password is null ? "unset" : "set")} multihop {p.Value.Multihop} for {p.Value.Scope}"))) + "\n");
        });
        var only = context.Options.GetValue(Hosts);
        var names = only is { Length: > 0 } ? only : [.. hosts.Select(h => h.Spec.Name)];
        Directory.CreateDirectory(System.IO.Path.Combine(cluster, "desired-state"));
        Directory.CreateDirectory(System.IO.Path.Combine(cluster, "plan"));
        foreach (var host in names)
        {
            await Part($"desired state of {host}", async () =>
            {
                var items = (await grain.GetDesiredStateAsync(host).WaitAsync(cancellationToken))
                    .Select(i => i is BgpPeerItem { Password: not null } peer ? peer with { Password = Hidden } : i);
                await Write($"desired-state/{Safe(host)}.json", DesiredStateJson.Serialize(items));
            });
            if (hosts.FirstOrDefault(h => h.Spec.Name == host) is not { Alive: true }) continue;
            await Part($"plan of {host}", async () =>
            {
                var plan = await client.GetGrain<IHostGrain>(host).PlanAsync().WaitAsync(cancellationToken);
                await Write($"plan/{Safe(host)}.txt", $"applied {plan.Applied}, {plan.Items} items, at {CliTable.Time(plan.At)} on silo {plan.Silo}\n" +
                                                      string.Join("\n", plan.Changes.DefaultIfEmpty("no changes")) + "\n");
            });
        }
    }

    private static async Task CollectKernelAsync(string root, string? netns, List<string> errors, CancellationToken cancellationToken)
    {
        string[] At(params string[] args) => netns is null ? ["ip", .. args] : ["ip", "-n", netns, .. args];
        var dumps = new (string File, string[] Command)[]
        {
            ("ip-link.txt", At("-d", "link", "show")),
            ("ip-addr.txt", At("-d", "addr", "show")),
            ("ip-route.txt", At("-d", "route", "show", "table", "all")),
            ("ip-route6.txt", At("-d", "-6", "route", "show", "table", "all")),
            ("ip-neigh.txt", At("-d", "neigh", "show")),
            ("ip-rule.txt", At("rule", "show")),
            ("nft-ruleset.txt", netns is null ? ["nft", "list", "ruleset"] : ["ip", "netns", "exec", netns, "nft", "list", "ruleset"]),
        };
        Directory.CreateDirectory(System.IO.Path.Combine(root, "kernel"));
        await File.WriteAllTextAsync(System.IO.Path.Combine(root, "kernel", "namespace.txt"), (netns ?? "(the namespace calicoctl ran in)") + "\n", cancellationToken);
        foreach (var (file, command) in dumps) await RunToFileAsync(root, "kernel/" + file, errors, cancellationToken, command);
    }

    private static async Task RunToFileAsync(string root, string file, List<string> errors, CancellationToken cancellationToken, params string[] command)
    {
        var path = System.IO.Path.Combine(root, file);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var line = string.Join(' ', command);
        try
        {
            var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in command.Skip(1)) info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                errors.Add($"{line}: did not finish within 60 s");
                return;
            }
            await File.WriteAllTextAsync(path, $"$ {line}\n{await output}{await error}", cancellationToken);
            if (process.ExitCode != 0) errors.Add($"{line}: exit {process.ExitCode}: {(await error).Trim()}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            errors.Add($"{line}: {e.Message}");
        }
    }

    private static async Task CollectFilesAsync(string root, string into, IEnumerable<string> paths, List<string> errors)
    {
        foreach (var path in paths)
        {
            try
            {
                var target = System.IO.Path.Combine(root, into, Safe(System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(path))));
                if (File.Exists(path))
                {
                    Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
                    File.Copy(path, target);
                    continue;
                }
                foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
                {
                    var copy = System.IO.Path.Combine(target, System.IO.Path.GetRelativePath(path, file));
                    Directory.CreateDirectory(System.IO.Path.GetDirectoryName(copy)!);
                    File.Copy(file, copy);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add($"{path}: {e.Message}");
            }
        }
        await Task.CompletedTask;
    }

    private static string Safe(string name) => new([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')]);
}
