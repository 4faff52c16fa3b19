using Calico.Netlink.Interop;
using Calico.Netlink.Namespaces;
using Calico.Netlink.Wire;

namespace Calico.Netlink;

/// <summary>
/// An rtnetlink client for one network namespace: routes, links, addresses and neighbours, over one NETLINK_ROUTE
/// socket and without spawning any process.
/// <para>
/// Thread-safe: every call holds an internal lock for its whole request/reply exchange, so calls from several threads
/// are serialised (one socket can only have one dump in flight anyway). Calls block for as long as the kernel takes;
/// use <see cref="ApplyAsync"/> or your own offloading from threads that must not block.
/// </para>
/// <para>
/// The socket is bound to the namespace it was created in: <see cref="Open(NetworkNamespace, NetlinkClientOptions?)"/>
/// creates it inside a named namespace without moving the process there.
/// </para>
/// </summary>
public sealed partial class NetlinkRouteClient : IDisposable
{
    // Dump datagrams are at most ~32 KiB (the kernel caps its dump skbs); single large link messages can be more.
    private const int ReceiveBufferSize = 256 << 10;
    // A conservative estimate of the receive-buffer memory (skb truesize) one queued reply costs.
    private const int ReplyTrueSize = 2048;

    private readonly NetlinkSocket _socket;
    private readonly NetlinkClientOptions _options;
    private readonly Lock _gate = new();
    private readonly byte[] _sendBuffer;
    private readonly byte[] _receiveBuffer = GC.AllocateUninitializedArray<byte>(ReceiveBufferSize, pinned: true);
    private readonly int _maxBatchBytes;
    private readonly int _maxRequestsPerSend;
    private uint _sequence;
    private bool _needsDrain;
    private bool _disposed;

    private NetlinkRouteClient(NetlinkSocket socket, NetlinkClientOptions options)
    {
        _socket = socket;
        _options = options;
        // Extended acks give the kernel's reason in words; capped acks keep error replies small (no echoed request);
        // strict checking makes the kernel honour dump filters. Each is best effort: older kernels lack them.
        socket.TrySetOption(LibC.SOL_NETLINK, LibC.NETLINK_EXT_ACK, 1);
        socket.TrySetOption(LibC.SOL_NETLINK, LibC.NETLINK_CAP_ACK, 1);
        StrictChecking = socket.TrySetOption(LibC.SOL_NETLINK, LibC.NETLINK_GET_STRICT_CHK, 1);
        if (!socket.TrySetOption(LibC.SOL_SOCKET, LibC.SO_SNDBUFFORCE, options.SendBufferBytes))
            socket.TrySetOption(LibC.SOL_SOCKET, LibC.SO_SNDBUF, options.SendBufferBytes);
        if (!socket.TrySetOption(LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, options.ReceiveBufferBytes))
            socket.TrySetOption(LibC.SOL_SOCKET, LibC.SO_RCVBUF, options.ReceiveBufferBytes);
        socket.SetReceiveTimeout(options.ReceiveTimeout);

        // What the kernel granted bounds a batch: a datagram above sndbuf - 32 is refused, and replies above rcvbuf dropped.
        SendBufferBytes = socket.GetOption(LibC.SOL_SOCKET, LibC.SO_SNDBUF);
        ReceiveBufferBytes = socket.GetOption(LibC.SOL_SOCKET, LibC.SO_RCVBUF);
        _maxBatchBytes = Math.Max(1024, Math.Min(options.MaxBatchBytes, SendBufferBytes - 1024));
        _maxRequestsPerSend = Math.Max(16, ReceiveBufferBytes / 2 / ReplyTrueSize);
        _sendBuffer = GC.AllocateUninitializedArray<byte>(_maxBatchBytes + 4096, pinned: true);
    }

    /// <summary>Opens a client in the calling thread's network namespace.</summary>
    public static NetlinkRouteClient Open(NetlinkClientOptions? options = null) => Create(NetlinkSocket.Open, options);

    /// <summary>Opens a client whose socket lives in <paramref name="networkNamespace"/>; the process stays where it is.</summary>
    public static NetlinkRouteClient Open(NetworkNamespace networkNamespace, NetlinkClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(networkNamespace);
        return Create(() => networkNamespace.Run(NetlinkSocket.Open), options);
    }

    /// <summary>The send buffer the kernel granted (bytes, as SO_SNDBUF reports it).</summary>
    public int SendBufferBytes { get; }

    /// <summary>The receive buffer the kernel granted (bytes, as SO_RCVBUF reports it).</summary>
    public int ReceiveBufferBytes { get; }

    /// <summary>Whether the kernel accepted NETLINK_GET_STRICT_CHK, i.e. filters dumps itself.</summary>
    public bool StrictChecking { get; }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _socket.Dispose();
        }
    }

    private static NetlinkRouteClient Create(Func<NetlinkSocket> open, NetlinkClientOptions? options)
    {
        options ??= NetlinkClientOptions.Default;
        options.Validate();
        var socket = open();
        try
        {
            return new NetlinkRouteClient(socket, options);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private uint NextSequence() => unchecked(++_sequence);

    private void EnterRequest()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_needsDrain) Drain();
    }

    /// <summary>
    /// After an exchange was abandoned (an exception mid-dump, a timeout), reads whatever is still queued — a dump in
    /// progress continues as it is read — so that the next request starts on an empty socket; a new dump would
    /// otherwise fail with EBUSY. Replies are matched by sequence number as well, so a leftover is never taken for an answer.
    /// </summary>
    private void Drain()
    {
        while (_socket.Receive(_receiveBuffer, dontWait: true, out var errno) >= 0 || errno == Errno.ENOBUFS) { }
        _needsDrain = false;
    }
}
