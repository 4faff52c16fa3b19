using Calico.Netlink.Codecs;
using Calico.Netlink.Interop;
using Calico.Netlink.Namespaces;
using Calico.Netlink.Wire;

namespace Calico.Netlink;

/// <summary>
/// Listens to the kernel's link notifications (rtnetlink multicast group RTNLGRP_LINK) of one network namespace:
/// every RTM_NEWLINK (a link created or changed) and RTM_DELLINK, decoded into <see cref="LinkEvent"/>s. Its own
/// NETLINK_ROUTE socket, separate from any <see cref="NetlinkRouteClient"/>, so notifications never mix with replies.
/// <para>
/// The socket joins the group when opened, so nothing that happens after <see cref="Open(NetworkNamespace?, int)"/>
/// returns is missed: notifications queue in the socket until <see cref="Start"/> starts the reading thread. Subscribe
/// first, then start. Handlers run on that thread, one at a time, and should return quickly.
/// </para>
/// <para>
/// The kernel drops notifications when the socket's receive buffer is full and says so once with ENOBUFS; that, a
/// message that cannot be read, or a failing socket raise <see cref="NotificationsLost"/>: whoever keeps state from
/// notifications must then read the links again. Only AF_UNSPEC link messages count: the AF_BRIDGE port notices sent
/// to the same group describe bridge ports, not links coming and going.
/// </para>
/// <see cref="Dispose"/> wakes the thread (an eventfd watched beside the socket), waits for it to end and closes both.
/// </summary>
public sealed class NetlinkLinkMonitor : IDisposable
{
    /// <summary>Room for bursts: one notification costs a few KiB of receive buffer (the skb's true size).</summary>
    public const int DefaultReceiveBufferBytes = 4 << 20;

    // One link message is a few KiB; links with many VFs can exceed that by far, and a cut-off one counts as lost.
    private const int DatagramBufferBytes = 256 << 10;

    private readonly NetlinkSocket _socket;
    private readonly WakeSignal _wake;
    private Thread? _thread;
    private int _disposed;
    private bool _closeOnExit; // set and read on the monitor's thread only

    private NetlinkLinkMonitor(NetlinkSocket socket, WakeSignal wake, string name)
    {
        _socket = socket;
        _wake = wake;
        Name = name;
    }

    /// <summary>Raised for every link notification, on the monitor's thread.</summary>
    public event EventHandler<LinkEvent>? LinkChanged;

    /// <summary>Raised when notifications may have been lost, on the monitor's thread.</summary>
    public event EventHandler<LinkNotificationsLost>? NotificationsLost;

    /// <summary>The namespace watched, for messages.</summary>
    public string Name { get; }

    /// <summary>Whether the reading thread runs (started, not disposed, not stopped by a socket failure).</summary>
    public bool IsRunning => _thread?.IsAlive ?? false;

    /// <summary>
    /// Opens a monitor of <paramref name="networkNamespace"/> (the calling thread's namespace if null) and joins the
    /// link group. <paramref name="receiveBufferBytes"/> is set with SO_RCVBUFFORCE, falling back to SO_RCVBUF.
    /// </summary>
    public static NetlinkLinkMonitor Open(NetworkNamespace? networkNamespace = null, int receiveBufferBytes = DefaultReceiveBufferBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(receiveBufferBytes);
        var socket = networkNamespace is null ? NetlinkSocket.Open() : networkNamespace.Run(NetlinkSocket.Open);
        WakeSignal? wake = null;
        try
        {
            if (!socket.TrySetOption(LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, receiveBufferBytes))
                socket.TrySetOption(LibC.SOL_SOCKET, LibC.SO_RCVBUF, receiveBufferBytes);
            socket.Bind(LibC.RTMGRP_LINK);
            wake = WakeSignal.Create();
            return new NetlinkLinkMonitor(socket, wake, networkNamespace?.Name ?? "current");
        }
        catch
        {
            wake?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Starts the reading thread; notifications queued since <see cref="Open"/> are delivered first.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var thread = new Thread(Run) { IsBackground = true, Name = $"link monitor {Name}" };
        if (Interlocked.CompareExchange(ref _thread, thread, null) is not null)
            throw new InvalidOperationException("The link monitor is started already.");
        thread.UnsafeStart();
    }

    /// <summary>Stops the thread (waiting for it, unless called from a handler on it) and closes the socket.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _wake.Set();
        var thread = Volatile.Read(ref _thread);
        if (thread == Thread.CurrentThread)
        {
            // Called by a handler: the thread closes both itself once the handler has returned.
            _closeOnExit = true;
            return;
        }
        thread?.Join();
        _socket.Dispose();
        _wake.Dispose();
    }

    private void Run()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(DatagramBufferBytes, pinned: true);
        try
        {
            while (Volatile.Read(ref _disposed) == 0 && _socket.WaitReadable(_wake))
            {
                if (!ReceiveQueued(buffer)) return;
            }
        }
        catch (NetlinkException failure)
        {
            Lost(failure.Message, stopped: true);
        }
        finally
        {
            if (_closeOnExit)
            {
                _socket.Dispose();
                _wake.Dispose();
            }
        }
    }

    /// <summary>Reads until nothing is queued; false when the socket failed for good or the monitor is disposed.</summary>
    private bool ReceiveQueued(byte[] buffer)
    {
        while (Volatile.Read(ref _disposed) == 0)
        {
            var length = _socket.ReceiveWhole(buffer, dontWait: true, out var errno);
            if (length < 0)
            {
                if (errno == Errno.EAGAIN) return true;
                if (errno == Errno.ENOBUFS)
                {
                    Lost("the kernel dropped link notifications: the socket's receive buffer was full (ENOBUFS)", stopped: false);
                    continue;
                }
                Lost($"receiving link notifications failed: {Errno.Describe(errno)} ({Errno.Name(errno)})", stopped: true);
                return false;
            }
            if (length > buffer.Length)
            {
                Lost($"a {length}-byte link notification did not fit in {buffer.Length} bytes", stopped: false);
                continue;
            }
            Dispatch(buffer.AsSpan(0, (int)length));
        }
        return false;
    }

    private void Dispatch(ReadOnlySpan<byte> datagram)
    {
        var events = new List<LinkEvent>();
        try
        {
            var reader = new NetlinkMessageReader(datagram);
            while (reader.TryRead(out var header, out var payload))
            {
                if (header.Type is not (MessageType.NewLink or MessageType.DelLink)) continue;
                if (Payload.ReadHeader<IfInfoMsg>(payload, out _).Family != Family.Unspecified) continue;
                if (LinkCodec.Decode(payload) is not { } link) continue;
                events.Add(new LinkEvent(header.Type == MessageType.DelLink ? LinkEventKind.Deleted : LinkEventKind.Changed, link));
            }
        }
        catch (InvalidDataException malformed)
        {
            Lost("a link notification could not be read: " + malformed.Message, stopped: false);
        }
        foreach (var change in events)
        {
            try
            {
                LinkChanged?.Invoke(this, change);
            }
            catch (Exception e)
            {
                // A handler that failed has not taken the change in: to it, the notification is lost.
                Lost($"a handler failed on {change}: {e.Message}", stopped: false);
            }
        }
    }

    private void Lost(string reason, bool stopped)
    {
        try
        {
            NotificationsLost?.Invoke(this, new LinkNotificationsLost(reason, stopped));
        }
        catch (Exception)
        {
            // Nobody left to tell: the reading thread must go on (or end) regardless.
        }
    }
}
