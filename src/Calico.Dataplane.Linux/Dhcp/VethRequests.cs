using Calico.Netlink;
using Calico.Netlink.Interop;
using Calico.Netlink.Namespaces;
using Calico.Netlink.Wire;

namespace Calico.Dataplane.Linux.Dhcp;

/// <summary>
/// Creating and deleting a veth pair over rtnetlink: the two link writes ns-dhcp needs that
/// <see cref="NetlinkRouteClient"/> does not offer (it never creates links; the hypervisor creates taps). Each call
/// opens a short-lived socket in the namespace (these are rare operations) and waits for the kernel's ack.
/// If the netlink client gains link creation, this file goes.
/// </summary>
internal static class VethRequests
{
    private const ushort InfoData = 2;    // IFLA_INFO_DATA
    private const ushort VethInfoPeer = 1; // VETH_INFO_PEER

    /// <summary>`ip link add NAME type veth peer name PEER`, both ends in the namespace, both down.</summary>
    public static void CreatePair(NetworkNamespace? ns, string name, string peer) =>
        Exchange(ns, $"add link {name} type veth peer {peer}", (ref NetlinkWriter writer, uint sequence) =>
        {
            var start = writer.BeginMessage(MessageType.NewLink,
                MessageFlags.Request | MessageFlags.Ack | MessageFlags.Create | MessageFlags.Exclusive, sequence);
            writer.WriteStruct(new IfInfoMsg());
            writer.AttributeString(LinkAttr.IfName, name);
            var info = writer.BeginNested(LinkAttr.LinkInfo);
            writer.AttributeString(LinkAttr.InfoKind, "veth");
            var data = writer.BeginNested(InfoData);
            // VETH_INFO_PEER carries a struct ifinfomsg, then the peer's own IFLA_* attributes.
            var peerInfo = writer.BeginNested(VethInfoPeer);
            writer.WriteStruct(new IfInfoMsg());
            writer.AttributeString(LinkAttr.IfName, peer);
            writer.EndNested(peerInfo);
            writer.EndNested(data);
            writer.EndNested(info);
            writer.EndMessage(start);
        });

    /// <summary>`ip link del` by index; deleting one end of a veth deletes both.</summary>
    public static void Delete(NetworkNamespace? ns, int index, string name) =>
        Exchange(ns, $"delete link {name}", (ref NetlinkWriter writer, uint sequence) =>
        {
            var start = writer.BeginMessage(MessageType.DelLink, MessageFlags.Request | MessageFlags.Ack, sequence);
            writer.WriteStruct(new IfInfoMsg { Index = index });
            writer.EndMessage(start);
        });

    private delegate void Encoder(ref NetlinkWriter writer, uint sequence);

    private static void Exchange(NetworkNamespace? ns, string description, Encoder encode)
    {
        using var socket = ns is null ? NetlinkSocket.Open() : ns.Run(NetlinkSocket.Open);
        socket.TrySetOption(LibC.SOL_NETLINK, LibC.NETLINK_EXT_ACK, 1);
        socket.TrySetOption(LibC.SOL_NETLINK, LibC.NETLINK_CAP_ACK, 1);
        socket.SetReceiveTimeout(TimeSpan.FromSeconds(5));

        const uint sequence = 1;
        var buffer = new byte[8192];
        var writer = new NetlinkWriter(buffer);
        encode(ref writer, sequence);
        socket.Send(writer.Written);

        while (true)
        {
            var length = socket.Receive(buffer, dontWait: false, out var errno);
            if (length < 0)
                throw new NetlinkException(description, errno == Errno.EAGAIN ? Errno.ETIMEDOUT : errno, "waiting for the kernel's answer");
            try
            {
                var reader = new NetlinkMessageReader(buffer.AsSpan(0, length));
                while (reader.TryRead(out var header, out var payload))
                {
                    if (header.Sequence != sequence || header.Type != MessageType.Error) continue;
                    var error = NetlinkReplies.ReadError(header, payload, out var kernelMessage);
                    if (error != 0) throw new NetlinkException(description, error, kernelMessage);
                    return;
                }
            }
            catch (InvalidDataException malformed)
            {
                throw new NetlinkException(description, Errno.EPROTO, malformed.Message, malformed);
            }
        }
    }
}
