using Calico.Dataplane.Linux.Processes;
using Microsoft.Extensions.Logging;

namespace Calico.Dataplane.Linux.Tests.Processes;

/// <summary>
/// A process table in memory, for the supervisor and its owners (dnsmasq) in unit tests: a start succeeds at once (the
/// real one waits for the pid file) or fails with the program's last words; a process runs until its supervisor stops
/// it or the test kills it, which tells its exit watch as the pidfd would. Processes left by a previous agent are
/// found by <see cref="FindRunning"/>. What the real host does is tested in ProcessSupervisorTests and DhcpKernelTests.
/// </summary>
public sealed class FakeProcessHost : IProcessHost
{
    private readonly List<FakeProcess> _processes = [];
    private int _lastPid = 4000;

    /// <summary>Whether the program is installed (else <see cref="ResolveExecutable"/> finds none).</summary>
    public bool Installed { get; set; } = true;

    /// <summary>When set, every start fails and the program's last words are these.</summary>
    public string? FailStartsWith { get; set; }

    /// <summary>Every process started here, in order.</summary>
    public List<FakeProcess> Started { get; } = [];

    /// <summary>The processes running now.</summary>
    public IReadOnlyList<FakeProcess> Running => [.. _processes.Where(p => !p.HasExited)];

    public string Where => "the fake process table";

    public string? AgentNamespace => null;

    public string? ResolveExecutable(string configured) =>
        !Installed ? null : configured.Contains('/') ? configured : "/usr/sbin/" + configured;

    public ISupervisedProcess Start(SupervisedProgram program, string executable, IReadOnlyList<string> arguments, ILogger logger, TimeSpan timeout)
    {
        if (FailStartsWith is { } words) throw new ProcessStartException($"{executable} exited during start-up with code 1: {words}");
        var process = new FakeProcess(++_lastPid, [.. arguments], adopted: false);
        _processes.Add(process);
        Started.Add(process);
        return process;
    }

    /// <summary>Ours: running, with the program's pid file argument on the command line; found, so not this agent's child.</summary>
    public List<ISupervisedProcess> FindRunning(SupervisedProgram program)
    {
        var found = _processes.Where(p => !p.HasExited && p.Arguments.Contains(program.PidFileArgument)).ToList();
        foreach (var process in found) process.Adopted = true;
        return [.. found];
    }

    /// <summary>A process a previous agent started and left running.</summary>
    public FakeProcess LeftByPreviousAgent(IReadOnlyList<string> arguments)
    {
        var process = new FakeProcess(++_lastPid, [.. arguments], adopted: true);
        _processes.Add(process);
        return process;
    }
}

/// <summary>One process of the fake table. Disposing a handle stops watching it; it keeps running.</summary>
public sealed class FakeProcess(int pid, IReadOnlyList<string> arguments, bool adopted) : ISupervisedProcess
{
    private Action<ISupervisedProcess>? _watch;
    private string _exit = "";

    public int Pid => pid;

    public IReadOnlyList<string> Arguments => arguments;

    public bool Adopted { get; internal set; } = adopted;

    public bool HasExited { get; private set; }

    /// <summary>How many SIGHUPs it got.</summary>
    public int Reloads { get; private set; }

    /// <summary>Stopped by its supervisor (SIGTERM), not killed.</summary>
    public bool Stopped { get; private set; }

    public void WatchExit(Action<ISupervisedProcess> exited) => _watch ??= exited;

    public bool Reload()
    {
        if (HasExited) return false;
        Reloads++;
        return true;
    }

    public void Stop(TimeSpan grace)
    {
        _watch = null;
        if (HasExited) return;
        HasExited = Stopped = true;
        _exit = "was stopped";
    }

    /// <summary>Dies as with SIGKILL: its exit watch is told, on the caller's thread.</summary>
    public void Kill()
    {
        HasExited = true;
        _exit = "was killed by signal 9";
        var watch = _watch;
        _watch = null;
        watch?.Invoke(this);
    }

    public string DescribeExit() => $"pid {Pid} {_exit}";

    public void Dispose() => _watch = null;
}
