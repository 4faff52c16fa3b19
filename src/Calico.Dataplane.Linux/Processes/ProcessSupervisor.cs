using Calico.Dataplane.Linux.Kernel;
using Microsoft.Extensions.Logging;

namespace Calico.Dataplane.Linux.Processes;

/// <summary>
/// Keeps one process of a <see cref="SupervisedProgram"/> of ours running with the command line its owner wants
/// (dnsmasq for DHCP; BIRD next):
/// <list type="bullet">
/// <item>Adoption: at the first call, and after <see cref="Invalidate"/> while none is held, a running process of ours
/// (pid file, command line, namespace: <see cref="IProcessHost.FindRunning"/>) is kept if its command line is the
/// desired one — with one reload owed, since its previous agent may have died between writing a file and signalling —
/// and stopped otherwise.</item>
/// <item>Changes: the same command line with changed files is a SIGHUP; another command line is a restart.</item>
/// <item>Exits: watched through a pidfd, and also noticed by <see cref="CheckExited"/>. An exit not asked for, or a
/// failed start, is retried after a <see cref="RestartBackoff"/> pause; the restart calls the owner back, which redoes
/// whatever must precede a start. Until the pause is over, starts with the same command line fail with the same words,
/// so the owner reports the failure once.</item>
/// </list>
/// The process outlives the supervisor (fail-static): disposing stops watching and cancels a pending restart only.
/// Every call is made under the owner's <c>sync</c> lock, which the supervisor also takes on its own threads (the exit
/// watch, the restart timer), so the owner's state and the process never disagree.
/// </summary>
internal sealed partial class ProcessSupervisor : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly SupervisedProgram _program;
    private readonly IProcessHost _host;
    private readonly Lock _sync;
    private readonly Action _restartDue;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RestartBackoff _backoff;

    private ISupervisedProcess? _process;
    private DateTimeOffset _processSince;
    private bool _reloadPending;
    private bool _searched;
    private IReadOnlyList<string>? _failedArguments;
    private DateTimeOffset _nextStart;
    private string? _lastExit;
    private ITimer? _restartTimer;
    private bool _disposed;

    /// <param name="host">Where the program runs (<see cref="LinuxProcessHost"/>: one network namespace of the machine).</param>
    /// <param name="restartDue">Called under <paramref name="sync"/> when a restart pause is over and no process is held.</param>
    public ProcessSupervisor(SupervisedProgram program, IProcessHost host, TimeSpan restartDelay,
        TimeSpan maxRestartDelay, Lock sync, Action restartDue, ILogger logger, TimeProvider? time = null)
    {
        _program = program;
        _host = host;
        _sync = sync;
        _restartDue = restartDue;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _backoff = new RestartBackoff(restartDelay, maxRestartDelay);
    }

    /// <summary>The process held, if any.</summary>
    public ISupervisedProcess? Running => _process;

    /// <summary>A process is held and owes no reload: nothing to do while the configuration stays the same.</summary>
    public bool Settled => _process is not null && !_reloadPending;

    /// <summary>Forget what was searched: with no process held, the next <see cref="AdoptOrStop"/> looks in /proc again.</summary>
    public void Invalidate()
    {
        if (_process is null) _searched = false;
    }

    /// <summary>
    /// Once (see <see cref="Invalidate"/>): a process of ours started by a previous agent is adopted if its command line
    /// is <paramref name="desired"/>, and stopped otherwise (stale command line, or <paramref name="desired"/> null:
    /// nothing to run, for <paramref name="unwantedReason"/>).
    /// </summary>
    public void AdoptOrStop(IReadOnlyList<string>? desired, string unwantedReason)
    {
        if (_searched) return;
        foreach (var found in _host.FindRunning(_program))
        {
            if (_process is null && desired is not null && found.Arguments.SequenceEqual(desired))
            {
                _process = found;
                _processSince = _time.GetUtcNow();
                _reloadPending = true;
                found.WatchExit(p => Exited(p, fromWatch: true));
                LogAdopted(_logger, _program.Name, found.Pid);
                continue;
            }
            LogStoppingStale(_logger, _program.Name, found.Pid, desired is null ? unwantedReason : "its command line is out of date");
            Stop(found);
        }
        _searched = true;
    }

    /// <summary>Every running process of ours, for a plan; the caller disposes them. None while one is held.</summary>
    public List<ISupervisedProcess> FindUnheld() => _process is null ? _host.FindRunning(_program) : [];

    /// <summary>A held process that died without its exit being seen yet is forgotten, and its restart scheduled.</summary>
    public void CheckExited()
    {
        if (_process is { } held && held.HasExited) Exited(held, fromWatch: false);
    }

    /// <summary>
    /// Makes a process run <paramref name="executable"/> with <paramref name="arguments"/>: the held one if its command
    /// line is that (signalled to reload when <paramref name="reload"/> or a reload is owed), else a new one. Throws
    /// <see cref="ProcessStartException"/> when it cannot start, or while the restart pause of a failure with these
    /// arguments lasts (<paramref name="restartDue"/>: the pause is over, whatever the clock says).
    /// </summary>
    public void Ensure(string executable, IReadOnlyList<string> arguments, bool reload, bool restartDue)
    {
        if (_process is { } running)
        {
            if (running.Arguments.SequenceEqual(arguments))
            {
                if (!reload && !_reloadPending) return;
                running.Reload();
                _reloadPending = false;
                Count("reload");
                LogReloaded(_logger, _program.Name, running.Pid);
                return;
            }
            LogRestarting(_logger, _program.Name, running.Pid, Difference(running.Arguments, arguments));
            Stop(running);
            _backoff.Reset();
        }

        var now = _time.GetUtcNow();
        var retrying = _failedArguments is not null && _failedArguments.SequenceEqual(arguments);
        if (retrying && !restartDue && now < _nextStart) throw new ProcessStartException(Pausing(_lastExit));
        try
        {
            var process = _host.Start(_program, executable, arguments, _logger, StartTimeout);
            _process = process;
            _processSince = now;
            _reloadPending = false;
            _failedArguments = null;
            process.WatchExit(p => Exited(p, fromWatch: true));
            Count("start");
            LogStarted(_logger, _program.Name, process.Pid, _host.Where);
        }
        catch (ProcessStartException e)
        {
            _lastExit = e.Message;
            ScheduleRestart(arguments, TimeSpan.Zero);
            throw new ProcessStartException(Pausing(e.Message), e);
        }
    }

    /// <summary>No restart is wanted any more (nothing to run): a pending one is cancelled.</summary>
    public void CancelRestart()
    {
        _restartTimer?.Dispose();
        _restartTimer = null;
        _failedArguments = null;
    }

    /// <summary>Stops the held process, if any, for <paramref name="reason"/>; true if there was one.</summary>
    public bool StopRunning(string reason)
    {
        if (_process is not { } running) return false;
        LogStopping(_logger, _program.Name, running.Pid, reason);
        Stop(running);
        return true;
    }

    /// <summary>Stops watching and cancels a pending restart; the process keeps running for the next agent to adopt.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _restartTimer?.Dispose();
        _process?.Dispose();
        _process = null;
    }

    /// <summary>
    /// The process exited without being asked: noticed by the exit watch (its own thread) or by <see cref="CheckExited"/>.
    /// Forget it and schedule a restart after the backoff pause.
    /// </summary>
    private void Exited(ISupervisedProcess process, bool fromWatch)
    {
        lock (_sync)
        {
            if (_disposed || process != _process) return;
            _process = null;
            var description = process.DescribeExit();
            process.Dispose();
            _lastExit = $"{_program.Name} {description}";
            DataplaneTelemetry.Failures.Add(1, DataplaneTelemetry.Kind(_program.TelemetryKind));
            var delay = ScheduleRestart(process.Arguments, _time.GetUtcNow() - _processSince);
            LogExited(_logger, _program.Name, description, delay.TotalSeconds, fromWatch ? "noticed by its exit watch" : "noticed at a reconcile");
        }
    }

    private TimeSpan ScheduleRestart(IReadOnlyList<string> arguments, TimeSpan ranFor)
    {
        var delay = _backoff.Next(ranFor);
        _failedArguments = arguments;
        _nextStart = _time.GetUtcNow() + delay;
        _restartTimer?.Dispose();
        _restartTimer = _time.CreateTimer(_ => RestartNow(), null, delay, Timeout.InfiniteTimeSpan);
        return delay;
    }

    private void RestartNow()
    {
        lock (_sync)
        {
            if (_disposed || _process is not null) return;
            _restartDue();
        }
    }

    private void Stop(ISupervisedProcess process)
    {
        if (process == _process) _process = null;
        process.Stop(StopGrace);
        process.Dispose();
    }

    private void Count(string operation) =>
        DataplaneTelemetry.Operations.Add(1, DataplaneTelemetry.Kind(_program.TelemetryKind), DataplaneTelemetry.Operation(operation));

    /// <summary>The same words for every attempt of one failure, so it is logged (and reported) once, not at each retry.</summary>
    private static string Pausing(string? failure) => $"{failure}; it is started again after a pause (restart backoff)";

    /// <summary>"+added, -removed" arguments between two command lines.</summary>
    public static string Difference(IReadOnlyList<string> running, IReadOnlyList<string> wanted)
    {
        var added = wanted.Except(running).ToList();
        var removed = running.Except(wanted).ToList();
        return string.Join(", ", added.Select(a => "+" + a).Concat(removed.Select(r => "-" + r)));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started {Program} (pid {Pid}) in {Namespace}")]
    private static partial void LogStarted(ILogger logger, string program, int pid, string @namespace);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adopted the running {Program} (pid {Pid}): its command line is the desired one")]
    private static partial void LogAdopted(ILogger logger, string program, int pid);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sent SIGHUP to {Program} (pid {Pid}) to re-read its configuration")]
    private static partial void LogReloaded(ILogger logger, string program, int pid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Restarting {Program} (pid {Pid}): its command line changes ({Difference})")]
    private static partial void LogRestarting(ILogger logger, string program, int pid, string difference);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping {Program} (pid {Pid}): {Reason}")]
    private static partial void LogStopping(ILogger logger, string program, int pid, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping {Program} (pid {Pid}) left by a previous agent: {Reason}")]
    private static partial void LogStoppingStale(ILogger logger, string program, int pid, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Program} {Exit} ({How}); starting it again in {Delay} s")]
    private static partial void LogExited(ILogger logger, string program, string exit, double delay, string how);
}
