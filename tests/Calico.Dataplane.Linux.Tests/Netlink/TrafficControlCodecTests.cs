using System.Runtime.CompilerServices;
using Calico.Netlink;
using Calico.Netlink.Codecs;
using Calico.Netlink.Wire;

using static Calico.Dataplane.Linux.Tests.Netlink.EncodingTests;

namespace Calico.Dataplane.Linux.Tests.Netlink;

/// <summary>Qdisc and filter messages as bytes, against layouts written out from pkt_sched.h, pkt_cls.h and tc_mirred.h.</summary>
public class TrafficControlCodecTests
{
    private const ushort Request = 0x1, Ack = 0x4, Replace = 0x100, Create = 0x400;

    [Fact]
    public void Fixed_structs_have_the_kernel_sizes()
    {
        Assert.Equal(20, Unsafe.SizeOf<TcMsg>());
        Assert.Equal(12, Unsafe.SizeOf<TcRateSpec>());
        Assert.Equal(36, Unsafe.SizeOf<TcTbfQopt>());
        Assert.Equal(16, Unsafe.SizeOf<TcU32Sel>());
        Assert.Equal(16, Unsafe.SizeOf<TcU32Key>());
        Assert.Equal(28, Unsafe.SizeOf<TcMirred>());
    }

    [Fact]
    public void Replace_of_a_root_token_bucket_carries_parms_and_burst_with_an_ethernet_link_layer()
    {
        var qdisc = Qdisc.RootTokenBucket(7, TcHandle.Make(0xca1, 0), new TokenBucket(1_250_000, 100_000, 162_500));

        var bytes = Encode((ref NetlinkWriter w) => TrafficControlCodec.EncodeQdisc(ref w, MessageType.NewQdisc, qdisc, Create | Replace, 3));

        var ticks = (uint)(100_000 * 1e9 / 1_250_000) >> 6; // 80 ms of 64 ns ticks
        var expected = new Layout()
            .Header(16 + 20 + 8 + 4 + 40 + 8, 36, Request | Ack | Create | Replace, 3)
            .U8(0, 0).U16(0).S32(7).U32(0x0ca10000).U32(0xFFFFFFFF).U32(0)   // tcmsg: ifindex 7, handle ca1:, parent root
            .Attr(1, (byte)'t', (byte)'b', (byte)'f', 0)                       // TCA_KIND
            .U16(4 + 40 + 8).U16(2 | 0x8000)                                   // TCA_OPTIONS, nested
            .U16(40).U16(1)                                                    // TCA_TBF_PARMS: struct tc_tbf_qopt
            .U8(0, 1).U16(0).U16(0).U16(0).U32(1_250_000)                      // rate: linklayer ethernet, bytes/s
            .U8(0, 1).U16(0).U16(0).U16(0).U32(0)                              // no peak rate
            .U32(162_500).U32(ticks).U32(0)                                    // limit, buffer, mtu
            .AttrU32(6, 100_000);                                              // TCA_TBF_BURST
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void A_token_bucket_dump_is_read_back_with_its_64_bit_rate_and_the_burst_from_its_bucket_time()
    {
        var rate = 6_000_000_000UL;
        var ticks = (uint)(4_000_000 * 1e9 / rate) >> 6;
        var payload = new Layout()
            .U8(0, 0).U16(0).S32(9).U32(0x0ca10000).U32(0xFFFFFFFF).U32(1)
            .Attr(1, (byte)'t', (byte)'b', (byte)'f', 0)
            .U16(4 + 40 + 12).U16(2)
            .U16(40).U16(1)
            .U8(0, 1).U16(0).U16(0).U16(0).U32(uint.MaxValue)
            .U8(0, 1).U16(0).U16(0).U16(0).U32(0)
            .U32(300_000_000).U32(ticks).U32(0)
            .Attr(4, BitConverter.GetBytes(rate))                              // TCA_TBF_RATE64
            .ToArray();

        var qdisc = TrafficControlCodec.DecodeQdisc(payload)!;

        Assert.Equal(("tbf", 9, 0x0ca10000u, TcHandle.Root), (qdisc.Kind, qdisc.InterfaceIndex, qdisc.Handle, qdisc.Parent));
        Assert.Equal(rate, qdisc.TokenBucket!.RateBytesPerSecond);
        Assert.Equal(300_000_000u, qdisc.TokenBucket.LimitBytes);
        Assert.InRange(qdisc.TokenBucket.BurstBytes, 3_999_000u, 4_001_000u);
    }

    [Fact]
    public void Options_of_other_kinds_are_not_read_as_attributes()
    {
        // pfifo_fast's TCA_OPTIONS is a struct tc_prio_qopt (bands, priomap): not attributes at all.
        var payload = new Layout()
            .U8(0, 0).U16(0).S32(2).U32(0).U32(0xFFFFFFFF).U32(1)
            .Attr(1, "pfifo_fast\0"u8.ToArray())
            .Attr(2, 3, 0, 0, 0, 1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)
            .ToArray();

        Assert.Equal(new Qdisc(2, 0, TcHandle.Root, "pfifo_fast"), TrafficControlCodec.DecodeQdisc(payload));
    }

    [Fact]
    public void A_redirect_filter_request_reads_back_as_the_kernel_dumps_it()
    {
        var filter = new RedirectFilter(4, TcHandle.IngressQdisc, 0xca1, 11);

        var bytes = Encode((ref NetlinkWriter w) => TrafficControlCodec.EncodeAddRedirect(ref w, filter, 8));
        var decoded = TrafficControlCodec.DecodeFilter(bytes.AsSpan(16));

        Assert.Equal(44, BitConverter.ToUInt16(bytes, 4));                       // RTM_NEWTFILTER
        Assert.Equal((0xca1u << 16) | 0x0300, BitConverter.ToUInt32(bytes, 16 + 16)); // tcm_info: prio, htons(ETH_P_ALL)
        Assert.Equal(new TcFilter(4, TcHandle.IngressQdisc, 0xca1, "u32", 0, 11), decoded);
    }

    [Fact]
    public void Handles_and_rates_print_as_tc_prints_them()
    {
        Assert.Equal("ca1:", TcHandle.Format(TcHandle.Make(0xca1, 0)));
        Assert.Equal("1:a", TcHandle.Format(TcHandle.Make(1, 10)));
        Assert.Equal("root", TcHandle.Format(TcHandle.Root));
        Assert.Equal("ffff:", TcHandle.Format(TcHandle.IngressQdisc));
        Assert.Equal("tbf rate 10Mbit burst 100000b limit 162500b", new TokenBucket(1_250_000, 100_000, 162_500).ToString());
        Assert.Equal("1500Kbit", TokenBucket.Rate(1_500_000));
        Assert.Equal("12345bit", TokenBucket.Rate(12_345));
    }
}
