using System.Globalization;
using Calico.Dataplane.Linux.Processes;
using Calico.Dataplane.Linux.Tests.Kernel;
using Calico.Netlink.Namespaces;
using Microsoft.Extensions.Logging.Abstractions;

namespace Calico.Dataplane.Linux.Tests.Processes;

/// <summary>
/// The supervisor with a real program of its own (a shell that writes its pid file, notes each SIGHUP, and waits),
/// started inside a namespace of the test's: start, reload, restart after an exit with the backoff pause on a fake
/// clock, adoption by a second supervisor (a restarted agent), a stale process stopped, a failed start reported with
/// the program's last words. What dnsmasq does with it is in DhcpKernelTests.
/// </summary>
public sealed class ProcessSupervisorTests : IDisposable
{
    // $1 is the pid file argument; each SIGHUP appends a line to <pid file>.hup.
    private const string Script = """
        p="${1#--pid-file=}"; trap 'echo hup >> "$p.hup"' HUP; echo $$ > "$p"; while :; do sleep 1 & wait $!; done
        """;

    private readonly TestNamespace _test = TestNamespace.Create();
    private readonly NetworkNamespace _ns;
    private readonly string _directory = Directory.CreateTempSubdirectory("cal-sup-").FullName;
    private readonly Lock _sync = new();
    private readonly List<ProcessSupervisor> _supervisors = [];

    public ProcessSupervisorTests() => _ns = _test.Open();

    private string PidFile => Path.Combine(_directory, "prog.pid");

    private SupervisedProgram Program => new("supervised-test", PidFile, "--pid-file=" + PidFile, "test");

    private IReadOnlyList<string> Arguments(string variant = "a") => ["-c", Script, "supervised-test-" + variant, "--pid-file=" + PidFile];

    private ProcessSupervisor Supervisor(StepClock clock, Action? restartDue = null)
    {
        var supervisor = new ProcessSupervisor(Program, new LinuxProcessHost(_ns), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8),
            _sync, restartDue ?? (() => { }), NullLogger.Instance, clock);
        _supervisors.Add(supervisor);
        return supervisor;
    }

    public void Dispose()
    {
        foreach (var supervisor in _supervisors)
            lock (_sync) supervisor.StopRunning("test over");
        // Any process of ours a test left (an adopted one's first supervisor was only disposed) is stopped here.
        foreach (var left in new LinuxProcessHost(_ns).FindRunning(Program))
        {
            left.Stop(TimeSpan.FromSeconds(1));
            left.Dispose();
        }
        foreach (var supervisor in _supervisors) supervisor.Dispose();
        _ns.Dispose();
        _test.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static void Ensure(ProcessSupervisor supervisor, Lock sync, IReadOnlyList<string> arguments, bool reload = false, bool restartDue = false)
    {
        lock (sync) supervisor.Ensure("/bin/sh", arguments, reload, restartDue);
    }

    private int HupsSeen() => File.Exists(PidFile + ".hup") ? File.ReadAllLines(PidFile + ".hup").Length : 0;

    [Fact]
    public void Starts_the_program_in_the_namespace_and_reloads_it_only_when_asked()
    {
        var supervisor = Supervisor(new StepClock());

        Ensure(supervisor, _sync, Arguments());
        var running = supervisor.Running!;
        Assert.Equal(running.Pid, SupervisedProcess.ReadPid(PidFile));
        Assert.Equal(NamespaceIdentity.Of(_ns), NamespaceIdentity.OfProcess(running.Pid));
        Assert.True(supervisor.Settled);

        Ensure(supervisor, _sync, Arguments());
        Ensure(supervisor, _sync, Arguments(), reload: true);

        Assert.Same(running, supervisor.Running);
        Assert.True(SpinWait.SpinUntil(() => HupsSeen() == 1, TimeSpan.FromSeconds(30)), "the program to note the SIGHUP");
    }

    [Fact]
    public async Task A_killed_process_is_restarted_after_the_backoff_pause()
    {
        var clock = new StepClock();
        var restarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ProcessSupervisor? supervisor = null;
        supervisor = Supervisor(clock, () =>
        {
            supervisor!.Ensure("/bin/sh", Arguments(), reload: false, restartDue: true);
            restarted.TrySetResult();
        });
        Ensure(supervisor, _sync, Arguments());
        var first = supervisor.Running!.Pid;

        TestNamespace.Run("kill", "-KILL", first.ToString(CultureInfo.InvariantCulture));

        // Noticed through the pidfd, on the watch's own thread: a restart timer for the first backoff step.
        Assert.True(await clock.PassNextPauseAsync(restarted.Task));
        Assert.Equal(TimeSpan.FromSeconds(1), clock.Pauses[^1]);
        await restarted.Task;
        lock (_sync)
        {
            Assert.NotNull(supervisor.Running);
            Assert.NotEqual(first, supervisor.Running!.Pid);
        }
    }

    [Fact]
    public void A_second_supervisor_adopts_the_running_process_and_one_with_another_command_line_stops_it()
    {
        var first = Supervisor(new StepClock());
        Ensure(first, _sync, Arguments());
        var pid = first.Running!.Pid;
        lock (_sync) first.Dispose(); // the agent goes; the process stays (fail-static)

        var second = Supervisor(new StepClock());
        lock (_sync) second.AdoptOrStop(Arguments(), "not wanted");
        Assert.Equal(pid, second.Running!.Pid);
        Assert.True(second.Running.Adopted);
        Assert.False(second.Settled); // an adopted process owes one reload
        Ensure(second, _sync, Arguments());
        Assert.True(SpinWait.SpinUntil(() => HupsSeen() == 1, TimeSpan.FromSeconds(30)), "the adopted program to note the SIGHUP");
        lock (_sync) second.Dispose();

        var third = Supervisor(new StepClock());
        lock (_sync) third.AdoptOrStop(Arguments("b"), "not wanted");
        Assert.Null(third.Running);
        Assert.Empty(SupervisedProcess.FindRunning(Program, NamespaceIdentity.Of(_ns)));
    }

    [Fact]
    public async Task A_failed_start_is_reported_with_the_programs_last_words_and_retried_after_the_pause()
    {
        var clock = new StepClock();
        var due = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var supervisor = Supervisor(clock, () => due.TrySetResult());
        IReadOnlyList<string> failing = ["-c", "echo 'bad configuration' >&2; exit 3", "supervised-test", "--pid-file=" + PidFile];

        var error = Assert.Throws<ProcessStartException>(() => Ensure(supervisor, _sync, failing));
        Assert.Contains("exited during start-up with code 3", error.Message);
        Assert.Contains("bad configuration", error.Message);

        // Until the pause is over the same words come back, without another start.
        var again = Assert.Throws<ProcessStartException>(() => Ensure(supervisor, _sync, failing));
        Assert.Equal(error.Message, again.Message);

        Assert.True(await clock.PassNextPauseAsync(due.Task));
        Assert.Equal(new[] { TimeSpan.FromSeconds(1) }, clock.Pauses);
        await due.Task;
    }
}
