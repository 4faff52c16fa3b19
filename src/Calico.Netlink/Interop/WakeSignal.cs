using System.Runtime.InteropServices;

namespace Calico.Netlink.Interop;

/// <summary>
/// An eventfd that a thread blocked in poll() watches beside its socket, so another thread can wake it for good
/// (closing a descriptor does not wake a thread blocked on it, and netlink sockets have no shutdown()).
/// </summary>
internal sealed class WakeSignal : IDisposable
{
    private WakeSignal(DescriptorHandle handle) => Handle = handle;

    public DescriptorHandle Handle { get; }

    public static WakeSignal Create()
    {
        var fd = LibC.EventFd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
        if (fd < 0) throw new NetlinkException("create eventfd", Marshal.GetLastPInvokeError());
        return new WakeSignal(new DescriptorHandle(fd));
    }

    /// <summary>Makes the eventfd readable, for as long as nobody reads it (nobody does): every later poll returns at once.</summary>
    public unsafe void Set()
    {
        ulong one = 1;
        // A full counter (EAGAIN) is already set; a closed descriptor means nobody waits any more.
        if (!Handle.IsClosed) LibC.Write(Handle, &one, sizeof(ulong));
    }

    public void Dispose() => Handle.Dispose();
}
