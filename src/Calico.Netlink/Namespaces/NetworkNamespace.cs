using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Calico.Netlink.Interop;

namespace Calico.Netlink.Namespaces;

/// <summary>
/// A network namespace held open by descriptor (so it cannot vanish while held), and a way to run code inside it
/// without moving the process: <see cref="Run{T}"/> starts a dedicated thread, switches that thread alone into the
/// namespace (setns with CLONE_NEWNET is per thread), runs the delegate, and switches back.
/// <para>
/// What keeps working after the switch back: sockets created inside (a netlink socket stays bound to the namespace it
/// was created in). What resolves per thread, hence works inside the delegate: /proc/sys/net/... (the kernel looks up
/// the net sysctls in the calling thread's namespace — checked by the tests) and /proc/thread-self/net/....
/// What does not: /proc/net and /proc/self/net, which follow the process's main thread.
/// </para>
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    /// <summary>Where `ip netns add NAME` bind-mounts named namespaces.</summary>
    public const string NamedNamespaceDirectory = "/var/run/netns";

    private readonly SafeNamespaceHandle _handle;

    private NetworkNamespace(SafeNamespaceHandle handle, string name)
    {
        _handle = handle;
        Name = name;
    }

    /// <summary>The name it was opened by, or the path for namespaces opened by path.</summary>
    public string Name { get; }

    /// <summary>Opens the namespace `ip netns` calls <paramref name="name"/> (/var/run/netns/NAME).</summary>
    public static NetworkNamespace Open(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/') || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a namespace name", nameof(name));
        return OpenPath(Path.Combine(NamedNamespaceDirectory, name), name);
    }

    /// <summary>Opens a namespace by path: /proc/PID/ns/net, a bind mount, ...</summary>
    public static NetworkNamespace OpenPath(string path) => OpenPath(path, path);

    /// <summary>The namespace of the calling thread.</summary>
    public static NetworkNamespace OpenCurrent() => OpenPath("/proc/thread-self/ns/net", "current");

    /// <summary>Runs <paramref name="action"/> on a new thread inside this namespace and returns its result (or rethrows).</summary>
    public T Run<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = Start(action, value => result = value, e => failure = ExceptionDispatchInfo.Capture(e));
        thread.Join();
        failure?.Throw();
        return result;
    }

    public void Run(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Run(() => { action(); return true; });
    }

    /// <summary><see cref="Run{T}"/> without blocking the caller's thread, nor a thread-pool thread.</summary>
    public Task<T> RunAsync<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Start(action, value => completion.SetResult(value), e => completion.SetException(e));
        return completion.Task;
    }

    public void Dispose() => _handle.Dispose();

    public override string ToString() => $"netns {Name}";

    /// <summary>
    /// Called on the dedicated thread. Switching back matters little — the thread ends right after and a managed
    /// thread's OS thread is never reused — but it keeps the thread's state honest while it winds down; if it fails the
    /// thread still ends, so no other code ever runs in the wrong namespace.
    /// </summary>
    private T RunInside<T>(Func<T> action)
    {
        using var original = SafeNamespaceHandle.Open("/proc/thread-self/ns/net");
        Enter(_handle, Name);
        try
        {
            return action();
        }
        finally
        {
            Enter(original, "original");
        }
    }

    private static void Enter(SafeNamespaceHandle handle, string name)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (LibC.SetNs((int)handle.DangerousGetHandle(), LibC.CLONE_NEWNET) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"setns into network namespace {name}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    private Thread Start<T>(Func<T> action, Action<T> succeeded, Action<Exception> failed)
    {
        var thread = new Thread(() =>
        {
            T value;
            try { value = RunInside(action); }
            catch (Exception e) { failed(e); return; }
            succeeded(value);
        })
        {
            IsBackground = true,
            Name = $"netns {Name}",
        };
        thread.UnsafeStart();
        return thread;
    }

    private static NetworkNamespace OpenPath(string path, string name) => new(SafeNamespaceHandle.Open(path), name);

    private sealed class SafeNamespaceHandle : SafeHandle
    {
        private SafeNamespaceHandle(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

        public override bool IsInvalid => handle == new IntPtr(-1);

        public static SafeNamespaceHandle Open(string path)
        {
            var fd = LibC.Open(path, LibC.O_RDONLY | LibC.O_CLOEXEC);
            if (fd >= 0) return new SafeNamespaceHandle(fd);
            var errno = Marshal.GetLastPInvokeError();
            var message = $"open network namespace {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
            throw errno == 2 ? new FileNotFoundException(message, path) : new IOException(message);
        }

        protected override bool ReleaseHandle() => LibC.Close(handle.ToInt32()) == 0;
    }
}
