using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Calico.Netlink.Namespaces;

namespace Calico.Nftables.Native;

/// <summary>
/// One long-lived thread that lives inside a network namespace and runs the work handed to it, in order.
/// libnftables talks netlink from the calling thread's namespace (and may reopen its socket later), so every call
/// on a context bound to a namespace runs on this thread.
/// <para>
/// How it gets there: <see cref="NetworkNamespace.Run{T}"/> switches a short-lived thread into the namespace, and that
/// thread starts this one. Linux gives a new thread the namespaces of the thread that creates it, so this thread
/// starts inside without ever calling setns itself; <see cref="Start"/> checks that it did by comparing namespace
/// identities (/proc/thread-self/ns/net) before any work runs.
/// </para>
/// </summary>
internal sealed class NamespaceThread : IDisposable
{
    private readonly BlockingCollection<WorkItem> _queue = new();
    private readonly Thread _thread;

    private NamespaceThread(string name)
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
    }

    /// <summary>Starts the thread inside <paramref name="networkNamespace"/> and checks that it is there.</summary>
    public static NamespaceThread Start(NetworkNamespace networkNamespace, string name)
    {
        var worker = new NamespaceThread(name);
        var expected = networkNamespace.Run(() =>
        {
            worker._thread.UnsafeStart();
            return CurrentNamespaceId();
        });
        var actual = worker.Invoke(CurrentNamespaceId);
        if (actual != expected)
        {
            worker.Dispose();
            throw new InvalidOperationException(
                $"the nftables thread for {networkNamespace} started in {actual}, not in {expected}; refusing to program the wrong namespace");
        }
        return worker;
    }

    /// <summary>"net:[4026532281]": the identity of the calling thread's network namespace.</summary>
    public static string CurrentNamespaceId() =>
        new FileInfo("/proc/thread-self/ns/net").LinkTarget ?? throw new IOException("cannot read /proc/thread-self/ns/net");

    /// <summary>Runs <paramref name="work"/> on the thread and returns its result, or rethrows its exception.</summary>
    public T Invoke<T>(Func<T> work)
    {
        if (Environment.CurrentManagedThreadId == _thread.ManagedThreadId) return work();
        var item = new WorkItem(() => work());
        try
        {
            _queue.Add(item);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(NamespaceThread), "the nftables context was disposed");
        }
        item.Done.Wait();
        item.Done.Dispose();
        item.Failure?.Throw();
        return (T)item.Result!;
    }

    /// <summary>Lets queued work finish, then ends the thread.</summary>
    public void Dispose()
    {
        if (_queue.IsAddingCompleted) return;
        _queue.CompleteAdding();
        if (_thread.IsAlive && Environment.CurrentManagedThreadId != _thread.ManagedThreadId) _thread.Join();
    }

    private void Loop()
    {
        foreach (var item in _queue.GetConsumingEnumerable())
        {
            try { item.Result = item.Work(); }
            catch (Exception e) { item.Failure = ExceptionDispatchInfo.Capture(e); }
            item.Done.Set();
        }
    }

    private sealed class WorkItem(Func<object?> work)
    {
        public Func<object?> Work { get; } = work;
        public ManualResetEventSlim Done { get; } = new(false);
        public object? Result { get; set; }
        public ExceptionDispatchInfo? Failure { get; set; }
    }
}
