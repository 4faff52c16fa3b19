using Calico.Netlink.Codecs;
using Calico.Netlink.Wire;

namespace Calico.Netlink;

// Traffic control: qdiscs and the filters we use (u32 match-all with a mirred redirect), as `tc` would send them.
public sealed partial class NetlinkRouteClient
{
    /// <summary>
    /// The qdiscs of one interface (all interfaces when 0): root, ingress and child qdiscs, default ones included
    /// (handle 0). The kernel filters a dump by interface itself only with strict checking; the result is filtered here too.
    /// </summary>
    public IReadOnlyList<Qdisc> ListQdiscs(int interfaceIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(interfaceIndex);
        return Locked(() => Dump(
            (ref NetlinkWriter writer, uint sequence) => TrafficControlCodec.EncodeQdiscDump(ref writer, interfaceIndex, sequence),
            MessageType.NewQdisc, TrafficControlCodec.DecodeQdisc, q => interfaceIndex == 0 || q.InterfaceIndex == interfaceIndex,
            () => interfaceIndex == 0 ? "list qdiscs" : $"list qdiscs dev {InterfaceNameOrIndex(interfaceIndex)}"));
    }

    /// <summary>
    /// `tc qdisc replace`: creates the qdisc at its parent, or, when the qdisc there already has this handle and kind,
    /// changes its parameters in place (its queue and the packets in it stay). A qdisc at that parent with another
    /// handle is replaced, so callers check what is there first.
    /// </summary>
    public void ReplaceQdisc(Qdisc qdisc) =>
        WriteQdisc(MessageType.NewQdisc, qdisc, MessageFlags.Create | MessageFlags.Replace, "replace");

    /// <summary>`tc qdisc add`: EEXIST if the parent has a qdisc of its own already (the ingress qdisc, say).</summary>
    public void AddQdisc(Qdisc qdisc) =>
        WriteQdisc(MessageType.NewQdisc, qdisc, MessageFlags.Create | MessageFlags.Exclusive, "add");

    /// <summary>`tc qdisc del`: by parent and handle; ENOENT if there is none with that handle, EINVAL for a default one.</summary>
    public void DeleteQdisc(Qdisc qdisc) => WriteQdisc(MessageType.DelQdisc, qdisc, 0, "delete");

    /// <summary>The filters under <paramref name="parent"/> of one interface (`tc filter show dev IF parent P`).</summary>
    public IReadOnlyList<TcFilter> ListFilters(int interfaceIndex, uint parent)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interfaceIndex);
        return Locked(() => Dump(
            (ref NetlinkWriter writer, uint sequence) => TrafficControlCodec.EncodeFilterDump(ref writer, interfaceIndex, parent, sequence),
            MessageType.NewTFilter, TrafficControlCodec.DecodeFilter, f => f.InterfaceIndex == interfaceIndex,
            () => $"list filters dev {InterfaceNameOrIndex(interfaceIndex)} parent {TcHandle.Format(parent)}"));
    }

    /// <summary>Adds a u32 match-all filter redirecting to another device's egress; EEXIST if its handle is taken.</summary>
    public void AddRedirectFilter(RedirectFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filter.InterfaceIndex);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filter.TargetIndex);
        ArgumentOutOfRangeException.ThrowIfZero(filter.Priority);
        Locked(() => Execute(
            (ref NetlinkWriter writer, uint sequence) => TrafficControlCodec.EncodeAddRedirect(ref writer, filter, sequence),
            () => $"add filter dev {InterfaceNameOrIndex(filter.InterfaceIndex)} parent {TcHandle.Format(filter.Parent)} prio {filter.Priority} redirect to {InterfaceNameOrIndex(filter.TargetIndex)}"));
    }

    /// <summary>Deletes every filter of <paramref name="priority"/> (protocol all) under the parent; ENOENT if there is none.</summary>
    public void DeleteFilters(int interfaceIndex, uint parent, ushort priority)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interfaceIndex);
        ArgumentOutOfRangeException.ThrowIfZero(priority);
        Locked(() => Execute(
            (ref NetlinkWriter writer, uint sequence) => TrafficControlCodec.EncodeDeleteFilters(ref writer, interfaceIndex, parent, priority, sequence),
            () => $"delete filters dev {InterfaceNameOrIndex(interfaceIndex)} parent {TcHandle.Format(parent)} prio {priority}"));
    }

    private void WriteQdisc(ushort type, Qdisc qdisc, ushort flags, string verb)
    {
        ArgumentNullException.ThrowIfNull(qdisc);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(qdisc.InterfaceIndex);
        Locked(() => Execute(
            (ref NetlinkWriter writer, uint sequence) => TrafficControlCodec.EncodeQdisc(ref writer, type, qdisc, flags, sequence),
            () => $"{verb} qdisc {qdisc.Kind} {TcHandle.Format(qdisc.Handle)} dev {InterfaceNameOrIndex(qdisc.InterfaceIndex)} {TcHandle.Format(qdisc.Parent)}"));
    }
}
