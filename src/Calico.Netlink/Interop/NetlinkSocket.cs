using System.Runtime.InteropServices;

namespace Calico.Netlink.Interop;

/// <summary>
/// A NETLINK_ROUTE socket descriptor with blocking send/recv. The socket belongs to the network namespace of the
/// thread that created it, for its whole life, whichever thread later uses it.
/// </summary>
internal sealed class NetlinkSocket : IDisposable
{
    private readonly DescriptorHandle _handle;

    private NetlinkSocket(DescriptorHandle handle) => _handle = handle;

    /// <summary>Creates the socket in the calling thread's network namespace.</summary>
    public static NetlinkSocket Open() => Open(LibC.NETLINK_ROUTE, "NETLINK_ROUTE");

    /// <summary>A socket of another netlink family (<paramref name="protocol"/>, named <paramref name="name"/> in errors), in the calling thread's network namespace.</summary>
    public static NetlinkSocket Open(int protocol, string name)
    {
        var fd = LibC.Socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, protocol);
        if (fd < 0) throw new NetlinkException($"open {name} socket", Marshal.GetLastPInvokeError());
        return new NetlinkSocket(new DescriptorHandle(fd));
    }

    /// <summary>Binds to a port id of the kernel's choosing and joins the multicast groups in <paramref name="groups"/> (nl_groups bits).</summary>
    public unsafe void Bind(uint groups)
    {
        var address = new LibC.SockAddrNetlink { Family = LibC.AF_NETLINK, Groups = groups };
        if (LibC.Bind(_handle, &address, (uint)sizeof(LibC.SockAddrNetlink)) != 0)
            throw new NetlinkException($"bind netlink socket to groups 0x{groups:x}", Marshal.GetLastPInvokeError());
    }

    /// <summary>
    /// Blocks until a datagram (or a pending error such as ENOBUFS) can be received, or <paramref name="wake"/> is set:
    /// true for the socket, false for the wake signal. Any other failure of poll() throws.
    /// </summary>
    public unsafe bool WaitReadable(WakeSignal wake)
    {
        bool socketAdded = false, wakeAdded = false;
        try
        {
            _handle.DangerousAddRef(ref socketAdded);
            wake.Handle.DangerousAddRef(ref wakeAdded);
            var fds = stackalloc LibC.PollFd[2];
            fds[0] = new LibC.PollFd { Fd = (int)_handle.DangerousGetHandle(), Events = LibC.POLLIN };
            fds[1] = new LibC.PollFd { Fd = (int)wake.Handle.DangerousGetHandle(), Events = LibC.POLLIN };
            while (true)
            {
                if (LibC.Poll(fds, 2, -1) < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR) continue;
                    throw new NetlinkException("poll netlink socket", errno);
                }
                if (fds[1].ReturnedEvents != 0) return false;
                if (fds[0].ReturnedEvents != 0) return true;
            }
        }
        finally
        {
            if (wakeAdded) wake.Handle.DangerousRelease();
            if (socketAdded) _handle.DangerousRelease();
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for a datagram (or a pending error): true if one may be received.</summary>
    public unsafe bool WaitReadable(TimeSpan timeout)
    {
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            var fd = new LibC.PollFd { Fd = (int)_handle.DangerousGetHandle(), Events = LibC.POLLIN };
            var result = LibC.Poll(&fd, 1, (int)Math.Ceiling(timeout.TotalMilliseconds));
            if (result >= 0) return result > 0;
            var errno = Marshal.GetLastPInvokeError();
            // Interrupted: say "readable", so the caller tries to receive and then waits again.
            return errno == Errno.EINTR ? true : throw new NetlinkException("poll netlink socket", errno);
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    public unsafe bool TrySetOption(int level, int name, int value)
    {
        return LibC.SetSockOpt(_handle, level, name, &value, sizeof(int)) == 0;
    }

    public void SetOption(int level, int name, int value, string description)
    {
        if (!TrySetOption(level, name, value)) throw new NetlinkException($"set socket option {description}", Marshal.GetLastPInvokeError());
    }

    public unsafe int GetOption(int level, int name)
    {
        int value = 0;
        uint length = sizeof(int);
        if (LibC.GetSockOpt(_handle, level, name, &value, ref length) != 0)
            throw new NetlinkException($"get socket option {level}/{name}", Marshal.GetLastPInvokeError());
        return value;
    }

    public unsafe void SetReceiveTimeout(TimeSpan timeout)
    {
        var micros = (long)(timeout.TotalMilliseconds * 1000);
        var value = new LibC.TimeVal { Seconds = micros / 1_000_000, Microseconds = micros % 1_000_000 };
        if (LibC.SetSockOpt(_handle, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, &value, (uint)sizeof(LibC.TimeVal)) != 0)
            throw new NetlinkException("set socket option SO_RCVTIMEO", Marshal.GetLastPInvokeError());
    }

    /// <summary>Sends one datagram. The kernel processes every request in it before send returns.</summary>
    public unsafe void Send(ReadOnlySpan<byte> data)
    {
        fixed (byte* pointer = data)
        {
            while (true)
            {
                var sent = LibC.Send(_handle, pointer, (nuint)data.Length, 0);
                if (sent >= 0) return;
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) throw new NetlinkException($"send {data.Length} bytes of netlink requests", errno);
            }
        }
    }

    /// <summary>
    /// Receives one datagram into <paramref name="buffer"/> and returns its length, or -1 when
    /// <paramref name="dontWait"/> and nothing is queued. A datagram larger than the buffer is an error, never a
    /// silent truncation (MSG_TRUNC makes recv return the real length).
    /// </summary>
    public int Receive(Span<byte> buffer, bool dontWait, out int errno)
    {
        var received = ReceiveWhole(buffer, dontWait, out errno);
        if (received > buffer.Length)
            throw new NetlinkException($"receive a {received}-byte netlink reply into {buffer.Length} bytes", Errno.EMSGSIZE);
        return (int)received;
    }

    /// <summary>
    /// Like <see cref="Receive"/>, but a datagram larger than <paramref name="buffer"/> is not an error: its real
    /// length comes back (more than the buffer holds, so the caller knows it was cut off), or -1 with errno.
    /// </summary>
    public unsafe nint ReceiveWhole(Span<byte> buffer, bool dontWait, out int errno)
    {
        fixed (byte* pointer = buffer)
        {
            while (true)
            {
                var flags = LibC.MSG_TRUNC | (dontWait ? LibC.MSG_DONTWAIT : 0);
                var received = LibC.Recv(_handle, pointer, (nuint)buffer.Length, flags);
                if (received >= 0) { errno = 0; return received; }
                errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) return -1;
            }
        }
    }

    public void Dispose() => _handle.Dispose();
}
