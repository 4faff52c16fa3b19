using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Calico.Netlink.Namespaces;
using Microsoft.Extensions.Logging;

namespace Calico.Dataplane.Linux.Processes;

/// <summary>A supervised program could not be started: not installed, refused its configuration, or died at once.</summary>
public sealed class ProcessStartException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// What the supervisor needs to know of a long-running program of ours (dnsmasq, BIRD).
/// </summary>
/// <param name="Name">The program, for logs and errors ("dnsmasq").</param>
/// <param name="PidFile">The pid file it writes once it is ready (after binding its sockets).</param>
/// <param name="PidFileArgument">The one argument of its command line that names <paramref name="PidFile"/>
/// ("--pid-file=/var/lib/calico/dhcp/dnsmasq.pid"): what makes a running process ours.</param>
/// <param name="TelemetryKind">The kind its exits are counted under in calico.dataplane.failures ("dhcp").</param>
/// <param name="IsChatty">Lines of its output logged at Debug rather than Information (per-request lines).</param>
public sealed record SupervisedProgram(string Name, string PidFile, string PidFileArgument, string TelemetryKind,
    Func<string, bool>? IsChatty = null);

/// <summary>
/// One process of a <see cref="SupervisedProgram"/>: started here (our child: its stdout and stderr are read into our
/// log) or adopted from a previous agent (found by our pid file and its command line; its output went to the previous
/// agent, and after that wherever the program sends it when its stderr pipe breaks — dnsmasq falls back to syslog and
/// keeps serving).
/// <para>
/// Ours means: its command line carries the program's pid file argument. Nothing else identifies it, and no other
/// process is ever signalled. Every signal goes through a pidfd (<see cref="ProcessHandle"/>), so a reused pid can
/// never receive it; the pidfd also tells us when it exits, whoever its parent is.
/// </para>
/// Disposing stops watching and reading; the process keeps running (fail-static: a restarted agent adopts it).
/// </summary>
internal sealed partial class SupervisedProcess : ISupervisedProcess
{
    private const int KeptLines = 6;

    private readonly ProcessHandle _handle;
    private readonly SupervisedProgram _program;
    private readonly Process? _child;
    private readonly ConcurrentQueue<string> _lastLines = new();
    private readonly TaskCompletionSource _stdoutEnd = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrEnd = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IDisposable? _watch;

    private SupervisedProcess(SupervisedProgram program, ProcessHandle handle, IReadOnlyList<string> arguments, Process? child)
    {
        _program = program;
        _handle = handle;
        Arguments = arguments;
        _child = child;
    }

    public int Pid => _handle.Pid;

    /// <summary>Its arguments (without the program name), as it was started or as /proc shows them.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>Started by a previous agent, not by this one.</summary>
    public bool Adopted => _child is null;

    public bool HasExited => _handle.HasExited;

    /// <summary>
    /// Starts the program in <paramref name="ns"/> (or here) and waits until it has written our pid file — which it
    /// does once ready — or has died, or <paramref name="timeout"/> passed. Throws <see cref="ProcessStartException"/>
    /// with the program's own last words when it does not come up.
    /// </summary>
    public static SupervisedProcess Start(SupervisedProgram program, string executable, IReadOnlyList<string> arguments,
        NetworkNamespace? ns, ILogger logger, TimeSpan timeout)
    {
        TryDelete(program.PidFile);
        var start = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);

        Process child;
        try
        {
            // fork() copies the calling thread's network namespace, and Process.Start forks on the calling thread:
            // started from a thread inside the namespace, the program lives there, with no `ip netns exec` in between.
            child = (ns is null ? Process.Start(start) : ns.Run(() => Process.Start(start)))
                ?? throw new ProcessStartException($"{executable} did not start");
        }
        catch (Win32Exception e)
        {
            throw new ProcessStartException($"cannot run {executable}: {e.Message}", e);
        }

        if (ProcessHandle.Open(child.Id) is not { } handle)
        {
            // Gone already (exited and reaped): its output is complete, read it directly.
            var words = ReadToEnd(child.StandardError) + ReadToEnd(child.StandardOutput);
            child.WaitForExit(2000);
            var code = child.HasExited ? child.ExitCode.ToString(CultureInfo.InvariantCulture) : "unknown";
            child.Dispose();
            throw new ProcessStartException($"{executable} exited during start-up with code {code}" +
                (words.Length == 0 ? "" : ": " + string.Join(" | ", words.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(KeptLines))));
        }
        var process = new SupervisedProcess(program, handle, arguments, child);
        child.StandardInput.Close();
        child.OutputDataReceived += (_, e) => process.Output(e.Data, process._stdoutEnd, logger);
        child.ErrorDataReceived += (_, e) => process.Output(e.Data, process._stderrEnd, logger);
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();

        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (handle.WaitForExit(TimeSpan.FromMilliseconds(20)))
            {
                var error = process.Died(executable);
                process.Dispose();
                throw error;
            }
            if (ReadPid(program.PidFile) == child.Id) return process;
            if (Stopwatch.GetTimestamp() > deadline)
            {
                process.Stop(TimeSpan.FromSeconds(1));
                process.Dispose();
                throw new ProcessStartException($"{executable} (pid {child.Id}) did not write {program.PidFile} within {timeout}; stopped it. {process.LastWords}");
            }
        }
    }

    /// <summary>
    /// Every running process of the program that is ours: the process named by our pid file, and any other process
    /// whose command line carries our pid file argument (one whose pid file was lost), in the namespace we serve
    /// (<paramref name="identity"/>), each verified through a pidfd so that a pid reused meanwhile is not taken for it.
    /// </summary>
    public static List<SupervisedProcess> FindRunning(SupervisedProgram program, string identity)
    {
        var marker = program.PidFileArgument;
        var candidates = new List<int>();
        if (ReadPid(program.PidFile) is { } fromFile) candidates.Add(fromFile);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) &&
                !candidates.Contains(pid) && CommandLine(pid) is { } line && line.Contains(marker))
                candidates.Add(pid);
        }

        var found = new List<SupervisedProcess>();
        foreach (var pid in candidates)
        {
            var handle = ProcessHandle.Open(pid);
            if (handle is null) continue;
            // Read the command line only once the pidfd is held, and check that it is still alive afterwards: then
            // the command line is that of the process the pidfd refers to.
            var argv = CommandLine(pid);
            if (argv is not { Count: > 1 } || !argv.Contains(marker) || NamespaceIdentity.OfProcess(pid) != identity || handle.HasExited)
            {
                handle.Dispose();
                continue;
            }
            found.Add(new SupervisedProcess(program, handle, argv.Skip(1).ToList(), null));
        }
        return found;
    }

    /// <summary>Calls <paramref name="exited"/> (on a thread of its own) when the process exits, unless disposed or stopped first.</summary>
    public void WatchExit(Action<ISupervisedProcess> exited) =>
        _watch ??= _handle.Watch(() => exited(this), $"{_program.Name} {Pid} exit watch");

    /// <summary>SIGHUP: the program re-reads its configuration (dnsmasq: its hosts and options files), without dropping anything it serves.</summary>
    public bool Reload() => _handle.Signal(ProcessHandle.SIGHUP);

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>. Stops watching first: this exit is no crash.</summary>
    public void Stop(TimeSpan grace)
    {
        _watch?.Dispose();
        if (!_handle.Signal(ProcessHandle.SIGTERM)) return;
        if (_handle.WaitForExit(grace)) return;
        _handle.Signal(ProcessHandle.SIGKILL);
        _handle.WaitForExit(TimeSpan.FromSeconds(5));
    }

    /// <summary>"pid 7 was killed by signal 9" or "pid 7 exited with code 2" for our child; what is known for an adopted one.</summary>
    public string DescribeExit()
    {
        if (_child is null || !WaitForOutput()) return $"pid {Pid} exited";
        // .NET reports a child killed by signal N as 128 + N; the programs' own exit codes are small.
        return _child.ExitCode is > 128 and < 160
            ? $"pid {Pid} was killed by signal {_child.ExitCode - 128}"
            : $"pid {Pid} exited with code {_child.ExitCode}";
    }

    public void Dispose()
    {
        _watch?.Dispose();
        _handle.Dispose();
        _child?.Dispose();
    }

    private string LastWords => string.Join(" | ", _lastLines);

    private string LastWordsSuffix => _lastLines.IsEmpty ? "" : ": " + LastWords;

    private void Output(string? line, TaskCompletionSource end, ILogger logger)
    {
        if (line is null)
        {
            end.TrySetResult();
            return;
        }
        if (string.IsNullOrWhiteSpace(line)) return;
        _lastLines.Enqueue(line);
        while (_lastLines.Count > KeptLines) _lastLines.TryDequeue(out _);
        // Per-request lines are chatty; the rest is start-up, reloads, errors.
        if (_program.IsChatty?.Invoke(line) == true) LogRequest(logger, line);
        else LogLine(logger, line);
    }

    /// <summary>
    /// Waits (a little) for the exit to be reaped and for stdout and stderr to reach their end, so that the exit code
    /// and the last words are complete; a grandchild holding the pipes open cannot hang us.
    /// </summary>
    private bool WaitForOutput()
    {
        Task.WaitAll([_stdoutEnd.Task, _stderrEnd.Task], TimeSpan.FromSeconds(2));
        return _child is not null && _child.WaitForExit(2000);
    }

    private ProcessStartException Died(string executable)
    {
        var code = WaitForOutput() ? _child!.ExitCode.ToString(CultureInfo.InvariantCulture) : "unknown";
        return new ProcessStartException($"{executable} exited during start-up with code {code}{LastWordsSuffix}");
    }

    private static string ReadToEnd(StreamReader reader)
    {
        var read = reader.ReadToEndAsync();
        return read.Wait(TimeSpan.FromSeconds(2)) ? read.Result.Trim() : "";
    }

    public static int? ReadPid(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>/proc/PID/cmdline split into arguments; null if the process is gone (or a zombie, which has none).</summary>
    private static List<string>? CommandLine(int pid)
    {
        try
        {
            var bytes = File.ReadAllBytes($"/proc/{pid}/cmdline");
            if (bytes.Length == 0) return null;
            var parts = Encoding.UTF8.GetString(bytes).Split('\0').ToList();
            if (parts[^1].Length == 0) parts.RemoveAt(parts.Count - 1);
            return parts;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Line}")]
    private static partial void LogLine(ILogger logger, string line);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Line}")]
    private static partial void LogRequest(ILogger logger, string line);
}
