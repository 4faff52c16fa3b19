using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Calico.Topology.Kernel;

public sealed record CommandResult(int ExitCode, string Output, string Error)
{
    public bool Succeeded => ExitCode == 0;
}

public sealed class CommandFailedException(string command, CommandResult result)
    : Exception($"`{command}` exited with {result.ExitCode}: {(result.Error.Trim().Length > 0 ? result.Error.Trim() : result.Output.Trim())}")
{
    public CommandResult Result { get; } = result;
}

/// <summary>
/// Runs the machine's tools (ip, ping, openstack, ...). Every child gets an environment without proxies (a
/// connection inside a topology namespace must never be sent to a proxy of the machine), without OpenStack, Calico
/// or OpenTelemetry settings of the user's shell, so that only the arguments decide what a command does.
/// </summary>
public static partial class Shell
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task<CommandResult> TryRunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = StartInfo(file, args);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"`{Describe(file, args)}` did not finish within {(timeout ?? DefaultTimeout).TotalSeconds:0} s");
        }
        return new CommandResult(process.ExitCode, await output, await error);
    }

    public static async Task<string> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var list = args.ToList();
        var result = await TryRunAsync(file, list, timeout, cancellationToken);
        return result.Succeeded ? result.Output : throw new CommandFailedException(Describe(file, list), result);
    }

    /// <summary>Synchronous, for the process-exit hook (no async continuations run once the process is exiting).</summary>
    public static CommandResult TryRun(string file, params string[] args)
    {
        try
        {
            using var process = Process.Start(StartInfo(file, args));
            if (process is null) return new CommandResult(-1, "", $"cannot start {file}");
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(30_000))
            {
                process.Kill(entireProcessTree: true);
                return new CommandResult(-1, output, "timed out");
            }
            return new CommandResult(process.ExitCode, output, error.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new CommandResult(-1, "", e.Message);
        }
    }

    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        Clean(info);
        return info;
    }

    /// <summary>Removes what the user's shell may carry that would change where a child connects or what it configures.</summary>
    public static void Clean(ProcessStartInfo info)
    {
        foreach (var key in info.Environment.Keys.ToList())
        {
            if (key.EndsWith("_proxy", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("OS_", StringComparison.Ordinal)
                || key.StartsWith("CALICO_", StringComparison.Ordinal)
                || key.StartsWith("OTEL_", StringComparison.Ordinal)
                || key.StartsWith("ASPNETCORE_", StringComparison.Ordinal))
                info.Environment.Remove(key);
        }
    }

    public static string Describe(string file, IEnumerable<string> args) =>
        string.Join(' ', new[] { file }.Concat(args).Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a));

    /// <summary>Sends a signal to one process by id (2 SIGINT, 9 SIGKILL, 15 SIGTERM). False if it is gone.</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && pid != Environment.ProcessId && Kill(pid, signal) == 0;

    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
