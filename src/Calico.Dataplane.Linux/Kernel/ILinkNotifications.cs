using Calico.Netlink;

namespace Calico.Dataplane.Linux.Kernel;

/// <summary>
/// The kernel's notices of links coming, changing and going: implemented by <see cref="NetlinkLinkMonitor"/> against
/// the kernel (through <see cref="NetlinkLinkNotifications"/>), and by a fake in unit tests. Subscribe, then
/// <see cref="Start"/>; handlers run on the notifier's thread.
/// </summary>
public interface ILinkNotifications
{
    event EventHandler<LinkEvent>? LinkChanged;

    /// <summary>Notices may have been lost (an overrun): what was learnt from them must be read again.</summary>
    event EventHandler<LinkNotificationsLost>? NotificationsLost;

    void Start();
}
