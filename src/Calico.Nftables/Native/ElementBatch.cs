using System.Buffers.Binary;
using System.Text;

namespace Calico.Nftables.Native;

/// <summary>
/// Encodes an element-only transaction as one nfnetlink batch (NFNL_MSG_BATCH_BEGIN, NFT_MSG_NEWSETELEM /
/// NFT_MSG_DELSETELEM, NFNL_MSG_BATCH_END), as libnftnl would, so that adding or removing elements does not go
/// through libnftables. Why: libnftables 1.0.6 refills its whole cache (every chain and set of every table) on the
/// first call after any commit, which makes each element change cost O(table size); this path costs O(change).
/// Only sets and maps without the interval flag are encoded (interval elements are start/end pairs, left to nft);
/// keys are ipv4_addr, ipv6_addr (network order), ifname (16 bytes, zero-padded), ether_addr and concatenations of
/// these (each part padded to 4 bytes); map values are verdicts or addresses.
/// Attribute numbers are those of include/uapi/linux/netfilter/nf_tables.h and nfnetlink.h.
/// </summary>
internal static class ElementBatch
{
    /// <summary>Larger batches go to libnftables, which splits them itself.</summary>
    public const int MaxBytes = 60 << 10;

    private const ushort BatchBegin = 0x10;
    private const ushort BatchEnd = 0x11;
    private const ushort NewSetElem = 10 << 8 | 12;
    private const ushort DelSetElem = 10 << 8 | 14;
    private const ushort Request = 0x1;
    private const ushort Ack = 0x4;
    private const ushort Create = 0x400;
    private const ushort Nested = 0x8000;
    private const ushort ListTable = 1, ListSet = 2, ListElements = 3, ListElem = 1;
    private const ushort ElemKey = 1, ElemData = 2, DataValue = 1, DataVerdict = 2, VerdictCode = 1, VerdictChain = 2;

    /// <summary>Whether every operation is an element change on a set whose declaration allows encoding it here.</summary>
    public static bool CanEncode(NftTransaction transaction) =>
        !transaction.IsEmpty && transaction.Operations.All(o => o switch
        {
            NftAddElements add => Encodable(add.SetType) && add.Elements.All(e => Key(e.Key) is not null),
            NftDeleteElements delete => Encodable(delete.SetType) && delete.Keys.All(k => Key(k) is not null),
            _ => false,
        });

    /// <summary>The batch, numbered from <paramref name="firstSequence"/> (BEGIN) on; null if it would be too large.</summary>
    public static byte[]? Encode(NftTransaction transaction, uint firstSequence)
    {
        var buffer = new Writer();
        var sequence = firstSequence;
        buffer.Message(BatchBegin, Request, sequence++, family: 0, resourceId: 10);
        foreach (var operation in transaction.Operations)
        {
            var (type, flags, set, elements) = operation switch
            {
                NftAddElements add => (NewSetElem, (ushort)(Request | Ack | Create), add.Set, add.Elements),
                NftDeleteElements delete => (DelSetElem, (ushort)(Request | Ack), delete.Set, delete.Keys.Select(k => new NftElement(k)).ToList()),
                _ => throw new InvalidOperationException($"{operation.Kind} is not an element operation"),
            };
            var message = buffer.Message(type, flags, sequence++, operation.Table.Family.ProtocolFamily(), resourceId: 0);
            buffer.String(ListTable, operation.Table.Name);
            buffer.String(ListSet, set);
            var list = buffer.BeginNest(ListElements);
            foreach (var element in elements)
            {
                var item = buffer.BeginNest(ListElem);
                var key = buffer.BeginNest(ElemKey);
                buffer.Attribute(DataValue, Key(element.Key)!);
                buffer.EndNest(key);
                if (element.Value is NftAddress target)
                {
                    // A map to addresses (added for the policy compiler's floating-IP NAT maps).
                    var data = buffer.BeginNest(ElemData);
                    buffer.Attribute(DataValue, target.Prefix.BaseAddress.GetAddressBytes());
                    buffer.EndNest(data);
                }
                else if (element.Value is NftVerdict verdict)
                {
                    var data = buffer.BeginNest(ElemData);
                    var code = buffer.BeginNest(DataVerdict);
                    buffer.BigEndian(VerdictCode, Code(verdict.Kind));
                    if (verdict.Chain is { } chain) buffer.String(VerdictChain, chain);
                    buffer.EndNest(code);
                    buffer.EndNest(data);
                }
                buffer.EndNest(item);
            }
            buffer.EndNest(list);
            buffer.EndMessage(message);
            if (buffer.Length > MaxBytes) return null;
        }
        buffer.Message(BatchEnd, Request, sequence, family: 0, resourceId: 10);
        return buffer.ToArray();
    }

    private static bool Encodable(NftSetType? type) =>
        type is { Interval: false, IsForeign: false } &&
        (type.Value is null or NftDataType.Verdict or NftDataType.Ipv4Address or NftDataType.Ipv6Address);

    /// <summary>The key as the kernel stores it, or null for a value that needs an interval set.</summary>
    internal static byte[]? Key(NftValue value) => value switch
    {
        NftAddress { NeedsInterval: false } address => address.Prefix.BaseAddress.GetAddressBytes(),
        NftInterfaceName name => InterfaceName(name.Name),
        NftConcatenation { NeedsInterval: false } concatenation => concatenation.KeyBytes(),
        NftEtherAddress mac => mac.Bytes(),
        _ => null,
    };

    private static byte[] InterfaceName(string name)
    {
        var bytes = new byte[16];
        Encoding.ASCII.GetBytes(name, bytes);
        return bytes;
    }

    // NF_DROP 0, NF_ACCEPT 1, and nf_tables' own verdicts (enum nft_verdicts).
    private static int Code(NftVerdictKind kind) => kind switch
    {
        NftVerdictKind.Drop => 0,
        NftVerdictKind.Accept => 1,
        NftVerdictKind.Continue => -1,
        NftVerdictKind.Jump => -3,
        NftVerdictKind.Goto => -4,
        NftVerdictKind.Return => -5,
        _ => throw new InvalidOperationException($"verdict {kind} cannot be a map value"),
    };

    /// <summary>Netlink messages and attributes in host order, padded to 4 bytes; nfgenmsg.res_id is big-endian.</summary>
    private sealed class Writer
    {
        private byte[] _buffer = new byte[4096];

        public int Length { get; private set; }

        public int Message(ushort type, ushort flags, uint sequence, byte family, ushort resourceId)
        {
            var start = Length;
            var header = Reserve(20);
            BinaryPrimitives.WriteUInt16LittleEndian(header[4..], type);
            BinaryPrimitives.WriteUInt16LittleEndian(header[6..], flags);
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], sequence);
            header[16] = family;
            BinaryPrimitives.WriteUInt16BigEndian(header[18..], resourceId);
            EndMessage(start);
            return start;
        }

        public void EndMessage(int start) => BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(start), (uint)(Length - start));

        public void Attribute(ushort type, ReadOnlySpan<byte> value)
        {
            var attribute = Reserve(4 + value.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(attribute, (ushort)(4 + value.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(attribute[2..], type);
            value.CopyTo(attribute[4..]);
        }

        public void String(ushort type, string value)
        {
            var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
            Encoding.UTF8.GetBytes(value, bytes);
            Attribute(type, bytes);
        }

        public void BigEndian(ushort type, int value)
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(bytes, value);
            Attribute(type, bytes);
        }

        public int BeginNest(ushort type)
        {
            var start = Length;
            var header = Reserve(4);
            BinaryPrimitives.WriteUInt16LittleEndian(header[2..], (ushort)(type | Nested));
            return start;
        }

        public void EndNest(int start) => BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(start), (ushort)(Length - start));

        public byte[] ToArray() => _buffer.AsSpan(0, Length).ToArray();

        /// <summary>Appends <paramref name="size"/> zeroed bytes, then pads to 4.</summary>
        private Span<byte> Reserve(int size)
        {
            var padded = (size + 3) & ~3;
            if (Length + padded > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + padded));
            var span = _buffer.AsSpan(Length, padded);
            span.Clear();
            Length += padded;
            return span[..size];
        }
    }
}
