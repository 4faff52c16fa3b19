using Calico.Dataplane.Linux.Kernel;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Reconcilers;

/// <summary>Link notices raised by hand, as the kernel would send them.</summary>
public sealed class FakeLinkNotifications : ILinkNotifications
{
    public event EventHandler<LinkEvent>? LinkChanged;

    public event EventHandler<LinkNotificationsLost>? NotificationsLost;

    public bool Started { get; private set; }

    public void Start() => Started = true;

    public void Changed(Link link) => LinkChanged?.Invoke(this, new LinkEvent(LinkEventKind.Changed, link));

    public void Deleted(Link link) => LinkChanged?.Invoke(this, new LinkEvent(LinkEventKind.Deleted, link));

    public void Lost(string reason) => NotificationsLost?.Invoke(this, new LinkNotificationsLost(reason, Stopped: false));
}
