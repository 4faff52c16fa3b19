using System.Globalization;
using Calico.Netlink.Codecs;
using Calico.Netlink.Wire;

namespace Calico.Netlink;

public sealed partial class NetlinkRouteClient
{
    public IReadOnlyList<Link> ListLinks() => Locked(ListLinksLocked);

    /// <summary>The link called <paramref name="name"/>, or null if there is none.</summary>
    public Link? GetLink(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return Locked(() => Get(
            (ref NetlinkWriter writer, uint sequence) => LinkCodec.EncodeGet(ref writer, 0, name, sequence),
            MessageType.NewLink, LinkCodec.Decode, Errno.ENODEV, () => $"get link {name}"));
    }

    /// <summary>The link with index <paramref name="index"/>, or null if there is none.</summary>
    public Link? GetLink(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(index);
        return Locked(() => GetLinkLocked(index));
    }

    public void SetLinkUp(int index) => SetLink(index, LinkFlags.Up, LinkFlags.Up, null, "set link {0} up");

    public void SetLinkDown(int index) => SetLink(index, LinkFlags.None, LinkFlags.Up, null, "set link {0} down");

    public void SetLinkMtu(int index, int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mtu);
        SetLink(index, LinkFlags.None, LinkFlags.None, mtu, $"set link {{0}} mtu {mtu}");
    }

    /// <summary>
    /// Creates a veth pair, both ends in this client's namespace and down (`ip link add NAME type veth peer name PEER`);
    /// EEXIST if a link of either name exists. Each end's <see cref="Link.ParentIndex"/> is the other's index.
    /// </summary>
    public void AddVethPair(string name, string peer)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(peer);
        Locked(() => Execute(
            (ref NetlinkWriter writer, uint sequence) => LinkCodec.EncodeAddVethPair(ref writer, name, peer, sequence),
            () => $"add link {name} type veth peer {peer}"));
    }

    /// <summary>
    /// Creates a link of a kind that needs no further data (`ip link add NAME up type ifb`), in this client's
    /// namespace; EEXIST if a link of that name exists.
    /// </summary>
    public void AddLink(string name, string kind, bool up)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(kind);
        Locked(() => Execute(
            (ref NetlinkWriter writer, uint sequence) => LinkCodec.EncodeAdd(ref writer, name, kind, up, sequence),
            () => $"add link {name} type {kind}"));
    }

    /// <summary>Deletes the link (`ip link del`), with its addresses and routes; deleting one end of a veth deletes both. ENODEV if there is none.</summary>
    public void DeleteLink(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(index);
        Locked(() => Execute(
            (ref NetlinkWriter writer, uint sequence) => LinkCodec.EncodeDelete(ref writer, index, sequence),
            () => $"delete link {InterfaceNameOrIndex(index)}"));
    }

    private void SetLink(int index, LinkFlags flags, LinkFlags change, int? mtu, string operation)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(index);
        Locked(() => Execute(
            (ref NetlinkWriter writer, uint sequence) => LinkCodec.EncodeSet(ref writer, index, flags, change, mtu, sequence),
            () => string.Format(CultureInfo.InvariantCulture, operation, InterfaceNameOrIndex(index))));
    }

    private List<Link> ListLinksLocked() => Dump(
        (ref NetlinkWriter writer, uint sequence) => LinkCodec.EncodeDump(ref writer, sequence),
        MessageType.NewLink, LinkCodec.Decode, null, () => "list links");

    private Link? GetLinkLocked(int index) => Get(
        (ref NetlinkWriter writer, uint sequence) => LinkCodec.EncodeGet(ref writer, index, null, sequence),
        MessageType.NewLink, LinkCodec.Decode, Errno.ENODEV, () => $"get link {index}");

    /// <summary>
    /// The interface's name for an error message ("eth0"), or "if7" — as iproute2 prints an index it cannot name —
    /// when it does not exist (the usual cause of ENODEV) or cannot be asked for now. Called with the lock held.
    /// </summary>
    private string InterfaceNameOrIndex(int index)
    {
        if (!_needsDrain && !_disposed)
        {
            try
            {
                if (GetLinkLocked(index) is { } link) return link.Name;
            }
            catch (NetlinkException)
            {
                // Naming is a courtesy of the message; the operation's own error is what matters.
            }
        }
        return $"if{index}";
    }
}
