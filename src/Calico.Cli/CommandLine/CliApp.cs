using Calico.Cli.Connection;

namespace Calico.Cli.CommandLine;

/// <summary>
/// Finds the command named by the leading words, parses its options (its own and the connection options), prints
/// help, runs it, and turns failures into exit codes: 2 for a wrong command line, 3 when the cluster cannot be
/// reached, 130 on Ctrl-C. A connection is made only when a command asks for one, and closed at the end.
/// </summary>
public sealed class CliApp(string name, IReadOnlyList<ICliCommand> commands)
{
    private static readonly CliOption Help = new("--help", null, "show this help");

    public async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var words = args.TakeWhile(a => !a.StartsWith('-')).ToList();
        var command = commands.Where(c => c.Path.Count <= words.Count && c.Path.SequenceEqual(words.Take(c.Path.Count)))
            .MaxBy(c => c.Path.Count);
        if (command is null)
        {
            // Asked for help: usage on stdout, success. Anything else (nothing at all included) is a usage error.
            var wantsHelp = args.Any(a => a is "--help" or "-h" or "help");
            if (!wantsHelp && words.Count > 0) await error.WriteLineAsync($"{name}: unknown command '{string.Join(' ', words)}'");
            await PrintUsageAsync(wantsHelp ? output : error, words.Where(w => w != "help").ToList());
            return wantsHelp ? ExitCodes.Ok : ExitCodes.Usage;
        }

        var allowed = command.Options.Concat(ClusterConnection.Options).Append(Help).ToList();
        ParsedOptions options;
        try
        {
            options = ParsedOptions.Parse([.. args.Skip(command.Path.Count)], allowed);
        }
        catch (CliUsageException ex)
        {
            await error.WriteLineAsync($"{name} {string.Join(' ', command.Path)}: {ex.Message}");
            await error.WriteLineAsync($"Run '{name} {string.Join(' ', command.Path)} --help' for its options.");
            return ExitCodes.Usage;
        }
        if (options.Has(Help.Name))
        {
            await PrintCommandHelpAsync(output, command);
            return ExitCodes.Ok;
        }

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        ClusterConnection? connection = null;
        try
        {
            var context = new CliContext(options, output, error, async ct =>
            {
                connection ??= await ClusterConnection.ConnectAsync(options, ct);
                return connection.Client;
            });
            return await command.RunAsync(context, cancel.Token);
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
            Console.CancelKeyPress -= onCancel;
            if (connection is not null) await connection.DisposeAsync();
        }
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

    private async Task PrintCommandHelpAsync(TextWriter writer, ICliCommand command)
    {
        await writer.WriteLineAsync($"Usage: {name} {string.Join(' ', command.Path)} [options]");
        await writer.WriteLineAsync();
        await writer.WriteLineAsync(command.Summary);
        await PrintOptionsAsync(writer, "Options", command.Options.Append(Help).ToList());
        await PrintOptionsAsync(writer, "Connection", ClusterConnection.Options);
        await writer.WriteLineAsync();
        await writer.WriteLineAsync("Exit codes: 0 nothing wrong, 1 problems remain, 2 bad command line, 3 cluster unreachable.");
    }

    private static async Task PrintOptionsAsync(TextWriter writer, string title, IReadOnlyList<CliOption> options)
    {
        await writer.WriteLineAsync();
        await writer.WriteLineAsync($"{title}:");
        var width = options.Max(o => o.Usage.Length);
        foreach (var o in options) await writer.WriteLineAsync($"  {o.Usage.PadRight(width)}  {o.Help}");
    }
}
