using System.Runtime.InteropServices;

namespace Calico.Netlink.Wire;

/// <summary>Decoding of the control replies: NLMSG_ERROR (an error or, with 0, an ack) and NLMSG_DONE.</summary>
internal static class NetlinkReplies
{
    /// <summary>
    /// Reads struct nlmsgerr: a negative errno (0 = ack), the request's header, the request's payload unless the ack
    /// was capped (NETLINK_CAP_ACK) or is a success, then extended-ack TLVs when the header says NLM_F_ACK_TLVS.
    /// </summary>
    public static int ReadError(in NlMsgHdr header, ReadOnlySpan<byte> payload, out string? kernelMessage)
    {
        kernelMessage = null;
        if (payload.Length < 4 + NlMsgHdr.Size) throw new InvalidDataException($"NLMSG_ERROR of {payload.Length} bytes");
        var error = MemoryMarshal.Read<int>(payload);
        if ((header.Flags & MessageFlags.AckTlvs) == 0) return -error;

        var request = MemoryMarshal.Read<NlMsgHdr>(payload[4..]);
        var echoed = error == 0 || (header.Flags & MessageFlags.Capped) != 0 ? NlMsgHdr.Size : (int)request.Length;
        var tlvStart = 4 + NetlinkWriter.Align4(echoed);
        if (tlvStart <= payload.Length) kernelMessage = ReadExtAckMessage(payload[tlvStart..]);
        return -error;
    }

    /// <summary>
    /// NLMSG_DONE carries the dump's final status (normally 0; negative if the dump failed part-way), then
    /// extended-ack TLVs when flagged. Older kernels may send it without the status.
    /// </summary>
    public static int ReadDone(in NlMsgHdr header, ReadOnlySpan<byte> payload, out string? kernelMessage)
    {
        kernelMessage = null;
        if (payload.Length < 4) return 0;
        var error = MemoryMarshal.Read<int>(payload);
        if ((header.Flags & MessageFlags.AckTlvs) != 0) kernelMessage = ReadExtAckMessage(payload[4..]);
        return -error;
    }

    private static string? ReadExtAckMessage(ReadOnlySpan<byte> tlvs)
    {
        var reader = new AttributeReader(tlvs);
        while (reader.TryRead(out var type, out var value))
            if (type == ExtAckAttr.Message) return Payload.String(value);
        return null;
    }
}
