namespace Calico.Netlink;

/// <summary>
/// The kernel (or the netlink socket) refused an operation. The message names the operation and the object, then
/// the error: "add route 10.65.0.3/32 via 172.18.203.44 dev eth0: No such device (ENODEV)", followed by the kernel's
/// own extended-ack text when it gave one.
/// </summary>
public class NetlinkException : Exception
{
    public NetlinkException(string operation, int errno, string? kernelMessage = null, Exception? innerException = null)
        : base(Format(operation, errno, kernelMessage), innerException)
    {
        Operation = operation;
        Errno = errno;
        KernelMessage = kernelMessage;
    }

    /// <summary>What was attempted, naming the object: "delete route 10.65.0.0/26 table 254 proto 80".</summary>
    public string Operation { get; }

    /// <summary>The positive errno value (the kernel sends it negated).</summary>
    public int Errno { get; }

    public string ErrnoName => Netlink.Errno.Name(Errno);

    /// <summary>The kernel's extended-ack message ("Nexthop device is not up"), when it sent one.</summary>
    public string? KernelMessage { get; }

    /// <summary>
    /// Worth retrying unchanged: the kernel was busy or short of buffers, a call was interrupted, or a dump saw the
    /// table change under it. Everything else (EEXIST, ENODEV, EINVAL...) fails the same way until something changes.
    /// </summary>
    public virtual bool IsTransient => Errno is Netlink.Errno.EBUSY or Netlink.Errno.ENOBUFS or Netlink.Errno.EAGAIN
        or Netlink.Errno.EINTR or Netlink.Errno.ETIMEDOUT;

    /// <summary>The object is already there (an exclusive add).</summary>
    public bool IsAlreadyExists => Errno == Netlink.Errno.EEXIST;

    /// <summary>The object (or the device it names) is not there: ESRCH for routes, ENOENT, ENODEV, EADDRNOTAVAIL.</summary>
    public bool IsNotFound => Errno is Netlink.Errno.ESRCH or Netlink.Errno.ENOENT or Netlink.Errno.ENODEV
        or Netlink.Errno.EADDRNOTAVAIL;

    private static string Format(string operation, int errno, string? kernelMessage)
    {
        var text = $"{operation}: {Netlink.Errno.Describe(errno)} ({Netlink.Errno.Name(errno)})";
        return string.IsNullOrEmpty(kernelMessage) ? text : $"{text}: {kernelMessage}";
    }
}

/// <summary>
/// A dump saw NLM_F_DUMP_INTR: the table changed while it was read, so the listing may miss or repeat objects.
/// Always transient; the client already retried the dump before throwing this.
/// </summary>
public sealed class NetlinkDumpInterruptedException(string operation)
    : NetlinkException(operation, Netlink.Errno.EINTR, "dump interrupted by a concurrent change")
{
    public override bool IsTransient => true;
}
