using System.CommandLine;
using Calico.Cli.Connection;

namespace Calico.Cli.CommandLine;

/// <summary>
/// Builds the command tree from the commands' paths (System.CommandLine), parses, prints help, runs the command named,
/// and turns failures into exit codes: 2 for a wrong command line, 3 when the cluster cannot be reached, 130 on Ctrl-C.
/// A connection is made only when a command asks for one, and closed at the end.
/// </summary>
public sealed class CliApp(string name, IReadOnlyList<ICliCommand> commands)
{
    private const string ExitCodesHelp = "Exit codes: 0 nothing wrong, 1 problems remain, 2 bad command line, 3 cluster unreachable.";

    public async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        // "calicoctl help [group]" as "--help", as before.
        if (args.Count > 0 && args[0] == "help") args = [.. args.Skip(1), "--help"];
        using var cancel = new CancellationTokenSource();
        var root = Tree(output, error, cancel.Token);
        var parsed = root.Parse([.. args]);
        if (parsed.Errors.Count > 0) return await UsageErrorAsync(parsed, error);

        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            }, cancel.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private RootCommand Tree(TextWriter output, TextWriter error, CancellationToken cancel)
    {
        var root = new RootCommand($"{name}: the Calico operator's tool");
        foreach (var command in commands)
        {
            Command parent = root;
            foreach (var word in command.Path.SkipLast(1))
            {
                var group = parent.Subcommands.FirstOrDefault(c => c.Name == word);
                if (group is null) parent.Subcommands.Add(group = new Command(word, $"{word} commands"));
                parent = group;
            }
            var leaf = new Command(command.Path[^1], $"{command.Summary}\n\n{ExitCodesHelp}");
            foreach (var option in command.Options.Concat(ClusterConnection.Options)) leaf.Options.Add(option);
            leaf.SetAction((result, _) => RunAsync(command, result, output, error, cancel));
            parent.Subcommands.Add(leaf);
        }
        return root;
    }

    private async Task<int> RunAsync(ICliCommand command, ParseResult options, TextWriter output, TextWriter error, CancellationToken cancel)
    {
        ClusterConnection? connection = null;
        try
        {
            var context = new CliContext(options, output, error, async ct =>
            {
                connection ??= await ClusterConnection.ConnectAsync(options, ct);
                return connection.Client;
            });
            return await command.RunAsync(context, cancel);
        }
        catch (CliUsageException ex)
        {
            await error.WriteLineAsync($"{name} {string.Join(' ', command.Path)}: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (CliConnectionException ex)
        {
            await error.WriteLineAsync($"{name}: {ex.Message}");
            return ExitCodes.Unreachable;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return 130;
        }
        finally
        {
            if (connection is not null) await connection.DisposeAsync();
        }
    }

    /// <summary>
    /// A wrong command line, exit code 2: on a command, the first reason in our words and where its options are told;
    /// short of one (nothing, a group, an unknown word), the commands there are.
    /// </summary>
    private async Task<int> UsageErrorAsync(ParseResult parsed, TextWriter error)
    {
        var path = parsed.CommandResult.Command.Parents.OfType<Command>().Where(c => c is not RootCommand).Reverse()
            .Select(c => c.Name).Append(parsed.CommandResult.Command.Name).Skip(parsed.CommandResult.Command is RootCommand ? 1 : 0).ToList();
        var unmatched = parsed.UnmatchedTokens.FirstOrDefault();
        if (commands.Any(c => c.Path.SequenceEqual(path)))
        {
            var reason = unmatched is null ? parsed.Errors[0].Message
                : unmatched.StartsWith('-') ? $"unknown option '{unmatched}'" : $"unexpected argument '{unmatched}'";
            await error.WriteLineAsync($"{name} {string.Join(' ', path)}: {reason}");
            await error.WriteLineAsync($"Run '{name} {string.Join(' ', path)} --help' for its options.");
            return ExitCodes.Usage;
        }
        if (unmatched is not null) await error.WriteLineAsync($"{name}: unknown command '{string.Join(' ', path.Append(unmatched))}'");
        await PrintUsageAsync(error, path);
        return ExitCodes.Usage;
    }

    private async Task PrintUsageAsync(TextWriter writer, IReadOnlyList<string> prefix)
    {
        var shown = commands.Where(c => c.Path.Take(prefix.Count).SequenceEqual(prefix)).ToList();
        if (shown.Count == 0) shown = [.. commands];
        await writer.WriteLineAsync($"Usage: {name} <command> [options]");
        await writer.WriteLineAsync();
        await writer.WriteLineAsync("Commands:");
        var width = shown.Max(c => string.Join(' ', c.Path).Length);
        foreach (var c in shown.OrderBy(c => string.Join(' ', c.Path), StringComparer.Ordinal))
            await writer.WriteLineAsync($"  {string.Join(' ', c.Path).PadRight(width)}  {c.Summary}");
        await writer.WriteLineAsync();
        await writer.WriteLineAsync($"Run '{name} <command> --help' for a command's options.");
    }
}
