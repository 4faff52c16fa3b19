using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Calico.Dataplane.Linux.Processes;

/// <summary>
/// A pidfd: a handle on one process that cannot be confused with another process that later gets the same pid.
/// Signals go through it (pidfd_send_signal), and it becomes readable when the process exits — for our own child and
/// equally for a process a previous agent started, which is not our child (waitpid cannot watch that one).
/// </summary>
internal sealed partial class ProcessHandle : IDisposable
{
    public const int SIGHUP = 1;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    private const int ESRCH = 3;
    private const int EINTR = 4;
    private const short POLLIN = 0x1;
    private const int EFD_CLOEXEC = 0x80000;

    private readonly SafeFileHandle _pidfd;

    private ProcessHandle(int pid, SafeFileHandle pidfd)
    {
        Pid = pid;
        _pidfd = pidfd;
    }

    public int Pid { get; }

    /// <summary>A handle on <paramref name="pid"/>, or null if no such process exists (any more).</summary>
    public static ProcessHandle? Open(int pid)
    {
        var fd = PidfdOpen(pid, 0);
        if (fd >= 0) return new ProcessHandle(pid, new SafeFileHandle(fd, ownsHandle: true));
        var errno = Marshal.GetLastPInvokeError();
        if (errno == ESRCH) return null;
        throw new IOException($"pidfd_open({pid}): {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    public bool HasExited => WaitForExit(TimeSpan.Zero);

    /// <summary>Sends <paramref name="signal"/>; false if the process has already exited.</summary>
    public bool Signal(int signal)
    {
        if (PidfdSendSignal(_pidfd, signal, IntPtr.Zero, 0) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == ESRCH) return false;
        throw new IOException($"signal {signal} to pid {Pid}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the process to exit; true if it has.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            var remaining = (int)Math.Max(0, deadline - Environment.TickCount64);
            var ready = PollOne(_pidfd, remaining);
            if (ready >= 0) return ready > 0;
            if (Marshal.GetLastPInvokeError() != EINTR) return false;
        }
    }

    /// <summary>
    /// Starts a thread that calls <paramref name="exited"/> once when the process exits, unless the returned watch is
    /// disposed first. It blocks in poll() on the pidfd and an eventfd that disposing the watch writes to.
    /// </summary>
    public IDisposable Watch(Action exited, string name)
    {
        var wake = EventFd(0, EFD_CLOEXEC);
        if (wake < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"eventfd: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
        var watch = new ExitWatch(new SafeFileHandle(wake, ownsHandle: true));
        var thread = new Thread(() => watch.Run(_pidfd, exited)) { IsBackground = true, Name = name };
        thread.UnsafeStart();
        return watch;
    }

    public void Dispose() => _pidfd.Dispose();

    private sealed class ExitWatch(SafeFileHandle wake) : IDisposable
    {
        private int _disposed;

        public unsafe void Run(SafeFileHandle pidfd, Action exited)
        {
            var pidAdded = false;
            var wakeAdded = false;
            try
            {
                pidfd.DangerousAddRef(ref pidAdded);
                wake.DangerousAddRef(ref wakeAdded);
                var fds = stackalloc PollFd[2];
                fds[0] = new PollFd { Fd = (int)pidfd.DangerousGetHandle(), Events = POLLIN };
                fds[1] = new PollFd { Fd = (int)wake.DangerousGetHandle(), Events = POLLIN };
                while (Poll(fds, 2, -1) < 0 && Marshal.GetLastPInvokeError() == EINTR) { }
                if (fds[1].Revents != 0 || Volatile.Read(ref _disposed) != 0) return;
                if (fds[0].Revents != 0) exited();
            }
            catch (ObjectDisposedException)
            {
                // The handle was disposed before the thread started: nothing to watch any more.
            }
            finally
            {
                if (pidAdded) pidfd.DangerousRelease();
                if (wakeAdded) wake.DangerousRelease();
            }
        }

        public unsafe void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            ulong one = 1;
            WriteFd(wake, &one, sizeof(ulong));
            wake.Dispose();
        }
    }

    private static unsafe int PollOne(SafeFileHandle fd, int timeoutMs)
    {
        var added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            var pollFd = new PollFd { Fd = (int)fd.DangerousGetHandle(), Events = POLLIN };
            return Poll(&pollFd, 1, timeoutMs);
        }
        finally
        {
            if (added) fd.DangerousRelease();
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "pidfd_open", SetLastError = true)]
    private static partial int PidfdOpen(int pid, uint flags);

    [LibraryImport("libc", EntryPoint = "pidfd_send_signal", SetLastError = true)]
    private static partial int PidfdSendSignal(SafeHandle pidfd, int signal, IntPtr info, uint flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint WriteFd(SafeHandle fd, void* buffer, nuint count);
}
