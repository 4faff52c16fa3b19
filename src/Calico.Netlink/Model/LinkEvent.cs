namespace Calico.Netlink;

/// <summary>What a link notification says happened.</summary>
public enum LinkEventKind
{
    /// <summary>RTM_NEWLINK: the link was created, or something about it changed (flags, name, MTU, carrier...).</summary>
    Changed,

    /// <summary>RTM_DELLINK: the link is gone (deleted, or moved to another namespace).</summary>
    Deleted,
}

/// <summary>One RTM_NEWLINK / RTM_DELLINK notification: the link as the kernel describes it in that message.</summary>
public sealed record LinkEvent(LinkEventKind Kind, Link Link)
{
    public override string ToString() => $"{Kind} {Link}";
}

/// <summary>
/// Notifications may have been lost: the socket overran (ENOBUFS), a message could not be read, or the monitor
/// stopped. Whoever keeps state from notifications must read the links again.
/// </summary>
/// <param name="Reason">What happened, in words.</param>
/// <param name="Stopped">The monitor has stopped for good: no notification follows.</param>
public sealed record LinkNotificationsLost(string Reason, bool Stopped);
