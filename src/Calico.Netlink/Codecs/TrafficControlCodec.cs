using System.Runtime.InteropServices;
using Calico.Netlink.Wire;

namespace Calico.Netlink.Codecs;

/// <summary>
/// RTM_NEWQDISC / RTM_DELQDISC / RTM_GETQDISC and RTM_NEWTFILTER / RTM_DELTFILTER / RTM_GETTFILTER: struct tcmsg
/// followed by TCA_* attributes, the kind's own options nested in TCA_OPTIONS. Only what we program is encoded and
/// decoded: TBF settings, and u32 match-all filters with a mirred egress redirect.
/// </summary>
internal static class TrafficControlCodec
{
    /// <summary>htons(ETH_P_ALL): a filter for every protocol.</summary>
    public const ushort ProtocolAll = 0x0300;

    /// <summary>TC_LINKLAYER_ETHERNET: with it the kernel computes packet times itself, no rate table needed.</summary>
    private const byte LinkLayerEthernet = 1;
    private const byte U32Terminal = 1;
    private const int ActStolen = 4;
    private const int EgressRedirect = 1;

    /// <summary>Scheduler ticks are 64 ns (PSCHED_SHIFT 6).</summary>
    private const int TickShift = 6;

    public static void EncodeQdiscDump(ref NetlinkWriter writer, int interfaceIndex, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.GetQdisc, MessageFlags.Request | MessageFlags.Dump, sequence);
        writer.WriteStruct(new TcMsg { Index = interfaceIndex });
        writer.EndMessage(start);
    }

    /// <summary>
    /// A qdisc write. With Create|Replace on a parent whose qdisc already has this handle and kind, the kernel changes
    /// its parameters in place (qdisc_change: the queue and its packets stay); otherwise it creates and grafts one.
    /// </summary>
    public static void EncodeQdisc(ref NetlinkWriter writer, ushort type, Qdisc qdisc, ushort flags, uint sequence)
    {
        var start = writer.BeginMessage(type, (ushort)(MessageFlags.Request | MessageFlags.Ack | flags), sequence);
        writer.WriteStruct(new TcMsg { Index = qdisc.InterfaceIndex, Handle = qdisc.Handle, Parent = qdisc.Parent });
        if (type == MessageType.NewQdisc)
        {
            writer.AttributeString(TcAttr.Kind, qdisc.Kind);
            if (qdisc.TokenBucket is { } tbf)
            {
                var options = writer.BeginNested(TcAttr.Options);
                EncodeTokenBucket(ref writer, tbf);
                writer.EndNested(options);
            }
        }
        writer.EndMessage(start);
    }

    private static void EncodeTokenBucket(ref NetlinkWriter writer, TokenBucket tbf)
    {
        var rate = tbf.RateBytesPerSecond;
        if (rate == 0) throw new ArgumentException("a token bucket needs a rate above 0", nameof(tbf));
        writer.AttributeStruct(TcAttr.TbfParms, new TcTbfQopt
        {
            Rate = new TcRateSpec { LinkLayer = LinkLayerEthernet, Rate = (uint)Math.Min(rate, uint.MaxValue) },
            PeakRate = new TcRateSpec { LinkLayer = LinkLayerEthernet },
            Limit = tbf.LimitBytes,
            // Ignored when TCA_TBF_BURST is present (the kernel computes the bucket time from it); set for readers.
            Buffer = (uint)Math.Min(BucketTicks(rate, tbf.BurstBytes), uint.MaxValue),
        });
        if (rate >= 1UL << 32) writer.AttributeU64(TcAttr.TbfRate64, rate);
        writer.AttributeU32(TcAttr.TbfBurst, tbf.BurstBytes);
    }

    public static void EncodeFilterDump(ref NetlinkWriter writer, int interfaceIndex, uint parent, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.GetTFilter, MessageFlags.Request | MessageFlags.Dump, sequence);
        writer.WriteStruct(new TcMsg { Index = interfaceIndex, Parent = parent });
        writer.EndMessage(start);
    }

    /// <summary>Adds the filter (exclusive: EEXIST if that handle is taken).</summary>
    public static void EncodeAddRedirect(ref NetlinkWriter writer, RedirectFilter filter, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.NewTFilter,
            MessageFlags.Request | MessageFlags.Ack | MessageFlags.Create | MessageFlags.Exclusive, sequence);
        writer.WriteStruct(new TcMsg
        {
            Index = filter.InterfaceIndex,
            Handle = filter.Handle,
            Parent = filter.Parent,
            Info = FilterInfo(filter.Priority),
        });
        writer.AttributeString(TcAttr.Kind, "u32");
        var options = writer.BeginNested(TcAttr.Options);
        // One key that masks nothing: every packet matches. Terminal: the actions' verdict is final.
        Span<byte> selector = stackalloc byte[TcU32Sel.Size + Marshal.SizeOf<TcU32Key>()];
        MemoryMarshal.Write(selector, new TcU32Sel { Flags = U32Terminal, KeyCount = 1 });
        MemoryMarshal.Write(selector[TcU32Sel.Size..], new TcU32Key());
        writer.Attribute(TcAttr.U32Selector, selector);
        var actions = writer.BeginNested(TcAttr.U32Actions);
        var first = writer.BeginNested(1);
        writer.AttributeString(TcAttr.ActKind, "mirred");
        var mirred = writer.BeginNested(TcAttr.ActOptions);
        writer.AttributeStruct(TcAttr.MirredParms, new TcMirred
        {
            Action = ActStolen,
            EAction = EgressRedirect,
            TargetIndex = filter.TargetIndex,
        });
        writer.EndNested(mirred);
        writer.EndNested(first);
        writer.EndNested(actions);
        writer.EndNested(options);
        writer.EndMessage(start);
    }

    /// <summary>Deletes every filter of one priority (and protocol all) under the parent: `tc filter del dev IF parent P prio N protocol all`.</summary>
    public static void EncodeDeleteFilters(ref NetlinkWriter writer, int interfaceIndex, uint parent, ushort priority, uint sequence)
    {
        var start = writer.BeginMessage(MessageType.DelTFilter, MessageFlags.Request | MessageFlags.Ack, sequence);
        writer.WriteStruct(new TcMsg { Index = interfaceIndex, Parent = parent, Info = FilterInfo(priority) });
        writer.EndMessage(start);
    }

    public static Qdisc? DecodeQdisc(ReadOnlySpan<byte> payload)
    {
        var header = Payload.ReadHeader<TcMsg>(payload, out var attributes);
        string? kind = null;
        TokenBucket? tbf = null;
        var reader = new AttributeReader(attributes);
        // TCA_KIND comes first; other kinds' options are not attributes at all (pfifo_fast's is a struct).
        while (reader.TryRead(out var type, out var value))
        {
            if (type == TcAttr.Kind) kind = Payload.String(value);
            else if (type == TcAttr.Options && kind == "tbf") tbf = DecodeTokenBucket(value);
        }
        return kind is null ? null : new Qdisc(header.Index, header.Handle, header.Parent, kind, tbf);
    }

    public static TcFilter? DecodeFilter(ReadOnlySpan<byte> payload)
    {
        var header = Payload.ReadHeader<TcMsg>(payload, out var attributes);
        string? kind = null;
        var target = 0;
        var reader = new AttributeReader(attributes);
        while (reader.TryRead(out var type, out var value))
        {
            if (type == TcAttr.Kind) kind = Payload.String(value);
            else if (type == TcAttr.Options && kind == "u32") target = RedirectTarget(value);
        }
        return kind is null ? null : new TcFilter(header.Index, header.Parent, (ushort)(header.Info >> 16), kind, header.Handle, target);
    }

    /// <summary>The bucket time in scheduler ticks that <paramref name="burst"/> bytes take at <paramref name="rate"/> bytes/s.</summary>
    public static ulong BucketTicks(ulong rate, uint burst) => (ulong)(burst * 1e9 / rate) >> TickShift;

    private static uint FilterInfo(ushort priority) => ((uint)priority << 16) | ProtocolAll;

    private static TokenBucket? DecodeTokenBucket(ReadOnlySpan<byte> options)
    {
        TcTbfQopt? parameters = null;
        ulong? rate64 = null;
        var reader = new AttributeReader(options);
        while (reader.TryRead(out var type, out var value))
        {
            switch (type)
            {
                case TcAttr.TbfParms when value.Length >= TcTbfQopt.Size: parameters = MemoryMarshal.Read<TcTbfQopt>(value); break;
                case TcAttr.TbfRate64 when value.Length >= 8: rate64 = MemoryMarshal.Read<ulong>(value); break;
            }
        }
        if (parameters is not { } p) return null;
        var rate = rate64 ?? p.Rate.Rate;
        var burst = rate == 0 ? 0 : Math.Min((ulong)Math.Round(((ulong)p.Buffer << TickShift) * (double)rate / 1e9), uint.MaxValue);
        return new TokenBucket(rate, (uint)burst, p.Limit);
    }

    /// <summary>The device a u32 filter's first mirred egress redirect sends to; 0 if it has none.</summary>
    private static int RedirectTarget(ReadOnlySpan<byte> options)
    {
        var reader = new AttributeReader(options);
        while (reader.TryRead(out var type, out var value))
        {
            if (type != TcAttr.U32Actions) continue;
            var actions = new AttributeReader(value);
            while (actions.TryRead(out _, out var action))
            {
                string? kind = null;
                TcMirred? mirred = null;
                var fields = new AttributeReader(action);
                while (fields.TryRead(out var field, out var fieldValue))
                {
                    if (field == TcAttr.ActKind) kind = Payload.String(fieldValue);
                    else if (field == TcAttr.ActOptions)
                    {
                        var parms = new AttributeReader(fieldValue);
                        while (parms.TryRead(out var parm, out var parmValue))
                            if (parm == TcAttr.MirredParms && parmValue.Length >= TcMirred.Size) mirred = MemoryMarshal.Read<TcMirred>(parmValue);
                    }
                }
                if (kind == "mirred" && mirred is { EAction: EgressRedirect } m) return m.TargetIndex;
            }
        }
        return 0;
    }
}
