using System.Runtime.InteropServices;

namespace Calico.Netlink.Interop;

/// <summary>A file descriptor owned by this process (a socket, an eventfd), closed once when released.</summary>
internal sealed class DescriptorHandle : SafeHandle
{
    public DescriptorHandle(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle == new IntPtr(-1);

    protected override bool ReleaseHandle() => LibC.Close(handle.ToInt32()) == 0;
}
