using System.Runtime.InteropServices;
using System.Text;
using Calico.Nftables.Native;
using Calico.Netlink.Namespaces;

namespace Calico.Nftables;

/// <summary>libnftables' output flags (nft_ctx_output_set_flags).</summary>
[Flags]
public enum NftOutputFlags : uint
{
    None = 0,
    /// <summary>Print object handles.</summary>
    Handle = 1 << 3,
    /// <summary>Print JSON (the format this project reads back).</summary>
    Json = 1 << 4,
    /// <summary>Print what a command added (with handles when combined with <see cref="Handle"/>).</summary>
    Echo = 1 << 5,
}

/// <summary>
/// One libnftables context, reused for every call (it keeps nft's cache warm), optionally bound to a network
/// namespace. Runs nft scripts in process, without spawning nft: one script is one transaction, applied entirely or
/// not at all. Thread-safe: calls are serialised by a lock. In a namespace, libnftables calls all run on one dedicated
/// thread inside it (libnftables talks netlink from the calling thread's namespace).
/// Also reads the ruleset generation (<see cref="GetGeneration"/>) and commits element batches over its own
/// NETLINK_NETFILTER socket, opened inside the namespace once and then used from the caller's thread; and, unless
/// told not to, listens to the namespace's nftables change notifications (<see cref="Changes"/>) on another one.
/// </summary>
public sealed unsafe class NftablesContext : IDisposable
{
    private readonly Lock _gate = new();
    private readonly NamespaceThread? _thread;
    private readonly LibNftables.Functions _api;
    private readonly NetfilterSocket _netfilter;
    private readonly NftablesMonitor? _monitor;
    private nint _context;

    private NftablesContext(NamespaceThread? thread, string where, int? monitorBufferBytes)
    {
        _thread = thread;
        Where = where;
        _api = LibNftables.Api;
        (_context, _netfilter, _monitor) = OnThread(() =>
        {
            var context = _api.CtxNew(0);
            if (context == 0) throw new InvalidOperationException("nft_ctx_new failed (out of memory?)");
            // Buffered output and errors: nft writes into memory that we copy, never to our stdout/stderr.
            _api.BufferOutput(context);
            _api.BufferError(context);
            NetfilterSocket? netfilter = null;
            try
            {
                netfilter = NetfilterSocket.Open();
                return (context, netfilter, monitorBufferBytes is { } bytes ? NftablesMonitor.Open(bytes) : null);
            }
            catch
            {
                netfilter?.Dispose();
                _api.CtxFree(context);
                throw;
            }
        });
    }

    /// <summary>Element batches sent without libnftables (for tests and diagnostics).</summary>
    internal int NativeBatches { get; private set; }

    /// <summary>"the current namespace" or "netns NAME": where this context's commands take effect.</summary>
    public string Where { get; }

    /// <summary>
    /// Opens a context in <paramref name="networkNamespace"/> (the caller keeps ownership of it and may dispose it
    /// afterwards: the dedicated thread stays inside), or in the calling thread's namespace when null.
    /// Throws <see cref="DllNotFoundException"/> saying to install libnftables1 when the library is missing.
    /// With <paramref name="watchChanges"/>, it joins the change notifications before anything else, so that no
    /// transaction after <see cref="Open"/> returns goes unseen.
    /// </summary>
    public static NftablesContext Open(NetworkNamespace? networkNamespace = null, bool watchChanges = true) =>
        Open(networkNamespace, watchChanges ? NftablesMonitor.DefaultReceiveBufferBytes : null);

    /// <summary>As above, with the notification socket's receive buffer in bytes (null: no notifications); tests make it small to overflow it.</summary>
    internal static NftablesContext Open(NetworkNamespace? networkNamespace, int? monitorBufferBytes)
    {
        _ = LibNftables.Api;
        if (networkNamespace is null) return new NftablesContext(null, "the current namespace", monitorBufferBytes);
        var thread = NamespaceThread.Start(networkNamespace, $"nft {networkNamespace.Name}");
        try
        {
            return new NftablesContext(thread, networkNamespace.ToString(), monitorBufferBytes);
        }
        catch
        {
            thread.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="commands"/> (nft syntax, one or more lines) as one transaction and returns what nft
    /// printed (JSON with <see cref="NftOutputFlags.Json"/>). An error throws <see cref="NftablesException"/> naming
    /// <paramref name="description"/> (or the first command) with nft's error text.
    /// </summary>
    public string Run(string commands, NftOutputFlags flags = NftOutputFlags.None, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(commands);
        var input = new byte[Encoding.UTF8.GetMaxByteCount(commands.Length) + 1];
        input[Encoding.UTF8.GetBytes(commands, input)] = 0;
        return OnThread(() =>
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_context == 0, this);
                _api.OutputSetFlags(_context, (uint)flags);
                int result;
                fixed (byte* pointer = input) result = _api.RunCmdFromBuffer(_context, pointer);
                // Both buffers are read every time: reading one resets it for the next command.
                var output = Marshal.PtrToStringUTF8(_api.GetOutputBuffer(_context)) ?? "";
                var error = Marshal.PtrToStringUTF8(_api.GetErrorBuffer(_context)) ?? "";
                if (result != 0)
                    throw new NftablesException(description ?? Describe(commands), error.Length > 0 ? error : $"nft returned {result} without a message");
                return output;
            }
        });
    }

    /// <summary>
    /// Commits an element-only transaction as one nfnetlink batch of our own, without libnftables (see
    /// <see cref="ElementBatch"/>). Returns false, having done nothing, when the transaction is not of that kind or
    /// too large; throws <see cref="NftablesException"/> (nothing applied) when the kernel refuses it.
    /// </summary>
    internal bool TryCommitElements(NftTransaction transaction, string description)
    {
        if (!ElementBatch.CanEncode(transaction)) return false;
        // On the caller's thread: the socket stays in the namespace it was opened in, and skipping the hop to the
        // namespace thread saves a wake-up (milliseconds on a loaded host).
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_context == 0, this);
            var first = _netfilter.NextSequence;
            var batch = ElementBatch.Encode(transaction, first);
            if (batch is null) return false;
            _netfilter.Reserve(transaction.Count + 2);
            NativeBatches++;
            if (_netfilter.CommitBatch(batch, first + 1, transaction.Count) is { } failure)
            {
                var operation = transaction.Operations[Math.Min(failure.Index, transaction.Count - 1)];
                // Worded as nft words kernel errors, so that both paths read the same to people and to ParseErrno.
                throw new NftablesException(description, failure.Errno,
                    $"Error: Could not process rule: {Netlink.Errno.Describe(failure.Errno)}\n{operation}\n");
            }
            return true;
        }
    }

    /// <summary>The ruleset generation of the namespace: it changes with every committed transaction, of any table.</summary>
    public uint GetGeneration()
    {
        // On the caller's thread, like TryCommitElements: the socket is already in the right namespace.
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_context == 0, this);
            return _netfilter.ReadGeneration();
        }
    }

    /// <summary>Whether this context listens to change notifications.</summary>
    public bool WatchesChanges => _monitor is not null;

    /// <summary>
    /// What the change notifications say about <paramref name="table"/> in the generations after
    /// <paramref name="after"/> up to <paramref name="upTo"/>; null when this context does not listen.
    /// </summary>
    public NftChanges? Changes(NftTableId table, uint after, uint upTo)
    {
        if (_monitor is null) return null;
        // On the caller's thread, like GetGeneration: the socket is already in the right namespace.
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_context == 0, this);
            return _monitor.Changes(table, after, upTo, _netfilter.ReadGeneration);
        }
    }

    /// <summary>The monitor's log, for tests.</summary>
    internal NftChangeLog? ChangeLog => _monitor?.Log;

    public void Dispose()
    {
        try
        {
            OnThread(() =>
            {
                lock (_gate)
                {
                    if (_context == 0) return false;
                    _api.CtxFree(_context);
                    _context = 0;
                    _netfilter.Dispose();
                    _monitor?.Dispose();
                    return true;
                }
            });
        }
        catch (ObjectDisposedException)
        {
            // The thread is already gone: so is everything it held.
        }
        _thread?.Dispose();
    }

    public override string ToString() => $"nftables context in {Where}";

    private T OnThread<T>(Func<T> work) => _thread is null ? work() : _thread.Invoke(work);

    private static string Describe(string commands)
    {
        var lines = commands.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var first = lines.Length == 0 ? "(empty)" : lines[0].Length > 120 ? lines[0][..120] + "..." : lines[0];
        return lines.Length <= 1 ? $"`{first}`" : $"{lines.Length} commands (first `{first}`)";
    }
}
