using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Calico.Netlink;
using Calico.Netlink.Interop;

namespace Calico.Nftables.Native;

/// <summary>
/// Listens to nftables change notifications of one network namespace: a NETLINK_NETFILTER socket in multicast group
/// NFNLGRP_NFTABLES (7), as `nft monitor` does, decoded into an <see cref="NftChangeLog"/>. Facts from the uapi headers
/// (linux/netfilter/nf_tables.h, nfnetlink.h): message type = NFNL_SUBSYS_NFTABLES (10) &lt;&lt; 8 | NFT_MSG_*; the
/// payload is struct nfgenmsg (family first), then attributes; every NEW/DEL/DESTROY message (types 0-33 but 15-17) of a
/// table, chain, rule, set, element list, object or flowtable carries its table's name as attribute 1 (NFTA_TABLE_NAME,
/// NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE,
/// NFTA_FLOWTABLE_TABLE); NFT_MSG_NEWGEN (15) ends each transaction with NFTA_GEN_ID (1, big-endian u32).
/// <para>
/// No thread: the socket queues notifications until <see cref="Changes"/> drains it, which is when the reconciler
/// needs the answer. A message that names no table we can read counts as touching every table. ENOBUFS (the queue
/// overflowed) and a datagram too large for the buffer make the log forget what it knew (<see cref="NftChangeLog.Lost"/>).
/// </para>
/// The socket belongs to the namespace of the thread that opened it. Not thread-safe: the context serialises calls.
/// </summary>
internal sealed class NftablesMonitor : IDisposable
{
    /// <summary>Room for bursts between two applies: a transaction's notifications take one or a few skbs of a few KiB.</summary>
    public const int DefaultReceiveBufferBytes = 4 << 20;

    /// <summary>How long to wait for the NEWGEN of a generation that the kernel already reports: a commit sends its notifications just after moving the generation.</summary>
    private static readonly TimeSpan InFlightWait = TimeSpan.FromMilliseconds(50);

    private const uint GroupNftables = 1u << (7 - 1);
    private const int SubsystemNftables = 10;
    private const ushort MsgNewGen = 15, MsgTrace = 17, LastWithTableFirst = 33, NftaGenId = 1, NftaTable = 1;
    private const int HeaderSize = 16;

    private readonly NetlinkSocket _socket;
    private readonly byte[] _buffer = new byte[256 << 10];

    private NftablesMonitor(NetlinkSocket socket) => _socket = socket;

    public NftChangeLog Log { get; } = new();

    /// <summary>Opens the socket in the calling thread's namespace and joins the group: notifications queue from now on.</summary>
    public static NftablesMonitor Open(int receiveBufferBytes = DefaultReceiveBufferBytes)
    {
        var socket = NetlinkSocket.Open(LibC.NETLINK_NETFILTER, "NETLINK_NETFILTER");
        try
        {
            if (!socket.TrySetOption(LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, receiveBufferBytes))
                socket.TrySetOption(LibC.SOL_SOCKET, LibC.SO_RCVBUF, receiveBufferBytes);
            socket.Bind(GroupNftables);
            return new NftablesMonitor(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What the notifications say about <paramref name="table"/> in the generations after <paramref name="after"/> up
    /// to <paramref name="upTo"/> (the kernel's current one). <paramref name="readGeneration"/> reads the kernel's
    /// generation, needed when notifications were lost.
    /// </summary>
    public NftChanges Changes(NftTableId table, uint after, uint upTo, Func<uint> readGeneration)
    {
        Drain(readGeneration);
        var started = Stopwatch.GetTimestamp();
        while (!Log.HasSeen(upTo))
        {
            var left = InFlightWait - Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero || !_socket.WaitReadable(left)) break;
            Drain(readGeneration);
        }
        return Log.Summarise(table, after, upTo);
    }

    /// <summary>Reads every queued datagram into the log.</summary>
    public void Drain(Func<uint> readGeneration)
    {
        while (true)
        {
            var length = _socket.ReceiveWhole(_buffer, dontWait: true, out var errno);
            if (length < 0)
            {
                if (errno == Errno.EAGAIN) return;
                if (errno != Errno.ENOBUFS) throw new NetlinkException("receive nftables notifications", errno);
                Log.Lost(readGeneration());
                continue;
            }
            if (length > _buffer.Length) Log.Lost(readGeneration());
            else Decode(_buffer.AsSpan(0, (int)length), Log);
        }
    }

    /// <summary>Feeds the messages of one datagram to <paramref name="log"/>.</summary>
    internal static void Decode(ReadOnlySpan<byte> datagram, NftChangeLog log)
    {
        while (datagram.Length >= HeaderSize)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(datagram);
            if (length < HeaderSize || length > datagram.Length)
            {
                log.Change(0, null); // cut off: whatever it was may have touched any table
                return;
            }
            var type = BinaryPrimitives.ReadUInt16LittleEndian(datagram[4..]);
            var payload = datagram[HeaderSize..length];
            datagram = datagram[Math.Min(datagram.Length, (length + 3) & ~3)..];
            if (type >> 8 != SubsystemNftables || (type & 0xff) == MsgTrace) continue;
            if ((type & 0xff) == MsgNewGen)
            {
                if (NetfilterSocket.TryFindAttribute(payload, NftaGenId, out var id) && id.Length >= 4)
                    log.Generation(BinaryPrimitives.ReadUInt32BigEndian(id));
                else
                    log.Change(0, null);
                continue;
            }
            var family = payload.IsEmpty ? (byte)0 : payload[0];
            // Message types up to NFT_MSG_GETSETELEM_RESET (33) name their table in attribute 1; later ones may not
            // (NFTA_DEVICE_NAME is 1 in device messages), so they count as touching every table.
            var named = (type & 0xff) <= LastWithTableFirst && NetfilterSocket.TryFindAttribute(payload, NftaTable, out var name) ? Text(name) : null;
            log.Change(family, named);
        }
    }

    /// <summary>An NLA_STRING (NUL-terminated), or null if it is not one.</summary>
    private static string? Text(ReadOnlySpan<byte> value)
    {
        var end = value.IndexOf((byte)0);
        if (end < 0) return null;
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(value[..end]);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    public void Dispose() => _socket.Dispose();
}
