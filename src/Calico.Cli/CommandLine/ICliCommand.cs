using System.CommandLine;

namespace Calico.Cli.CommandLine;

/// <summary>
/// A subcommand, addressed by its path (<c>ipam audit</c>). To add one, implement this and list it in Program.cs;
/// the application parses its options (System.CommandLine), prints its help, and maps its result to the exit code.
/// </summary>
public interface ICliCommand
{
    IReadOnlyList<string> Path { get; }

    string Summary { get; }

    /// <summary>Options of this command alone; the connection options are common to all (<see cref="CliContext.Connect"/>).</summary>
    IReadOnlyList<Option> Options { get; }

    /// <summary>Runs the command; returns an <see cref="ExitCodes"/> value.</summary>
    Task<int> RunAsync(CliContext context, CancellationToken cancellationToken);
}

public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The command ran and found problems that remain.</summary>
    public const int ProblemsRemain = 1;
    public const int Usage = 2;
    /// <summary>The cluster could not be reached.</summary>
    public const int Unreachable = 3;
}

/// <summary>What a command gets: its parsed command line, the output streams, and a connection made on first use.</summary>
public sealed class CliContext(ParseResult options, TextWriter output, TextWriter error, Func<CancellationToken, Task<IClusterClient>> connect)
{
    public ParseResult Options { get; } = options;

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>Connects to the cluster named by the connection options; throws <see cref="CliConnectionException"/>.</summary>
    public Task<IClusterClient> Connect(CancellationToken cancellationToken) => connect(cancellationToken);
}

/// <summary>The command line is wrong; the message says how.</summary>
public sealed class CliUsageException(string message) : Exception(message);

/// <summary>The cluster could not be reached; the message says where it was looked for.</summary>
public sealed class CliConnectionException(string message, Exception? inner = null) : Exception(message, inner);
