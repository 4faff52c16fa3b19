using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Calico.Netlink;
using Calico.Netlink.Interop;

namespace Calico.Nftables.Native;

/// <summary>
/// A NETLINK_NETFILTER socket for the two things done without libnftables:
/// <list type="bullet">
/// <item>reading the ruleset generation with one NFT_MSG_GETGEN request, the cheapest way to learn whether anything
/// changed: the kernel increments it on every committed transaction (any table), never on a failed one;</item>
/// <item>committing element-only batches (<see cref="ElementBatch"/>) and collecting their acknowledgements.</item>
/// </list>
/// Layout from the uapi headers: nlmsghdr, then struct nfgenmsg { u8 family; u8 version; __be16 res_id; }, then
/// attributes; the answer to GETGEN (NFT_MSG_NEWGEN) carries NFTA_GEN_ID as a big-endian u32.
/// The socket belongs to the namespace of the thread that opened it, for its whole life. Not thread-safe.
/// </summary>
internal sealed class NetfilterSocket : IDisposable
{
    private const ushort SubsystemNftables = 10;
    private const ushort MsgNewGen = 15;
    private const ushort MsgGetGen = 16;
    private const ushort NlmFRequest = 1;
    private const ushort NlmsgError = 2;
    private const ushort NftaGenId = 1;
    private const int HeaderSize = 16;
    private const int NfGenMsgSize = 4;

    private readonly SocketHandle _handle;
    private readonly byte[] _buffer = new byte[64 << 10];
    private uint _sequence;

    private NetfilterSocket(SocketHandle handle) => _handle = handle;

    /// <summary>Opens the socket in the calling thread's network namespace.</summary>
    public static unsafe NetfilterSocket Open()
    {
        var fd = LibC.Socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, LibC.NETLINK_NETFILTER);
        if (fd < 0) throw new NetlinkException("open NETLINK_NETFILTER socket", Marshal.GetLastPInvokeError());
        var socket = new NetfilterSocket(new SocketHandle(fd));
        // Error replies carry only the failed message's header, not the whole request back.
        var one = 1;
        LibC.SetSockOpt(socket._handle, LibC.SOL_NETLINK, LibC.NETLINK_CAP_ACK, &one, sizeof(int));
        // A kernel that never answers must not hang the reconciler.
        var timeout = new LibC.TimeVal { Seconds = 5 };
        if (LibC.SetSockOpt(socket._handle, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, &timeout, (uint)sizeof(LibC.TimeVal)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            socket.Dispose();
            throw new NetlinkException("set SO_RCVTIMEO on the NETLINK_NETFILTER socket", errno);
        }
        return socket;
    }

    /// <summary>The current ruleset generation.</summary>
    public unsafe uint ReadGeneration()
    {
        var sequence = ++_sequence;
        Span<byte> request = stackalloc byte[HeaderSize + NfGenMsgSize];
        request.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(request[4..], (ushort)(SubsystemNftables << 8 | MsgGetGen));
        BinaryPrimitives.WriteUInt16LittleEndian(request[6..], NlmFRequest);
        BinaryPrimitives.WriteUInt32LittleEndian(request[8..], sequence);
        // nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id 0 — already zero.
        Send(request, "NFT_MSG_GETGEN");
        while (true)
        {
            var length = Receive();
            if (TryParse(_buffer.AsSpan(0, length), sequence, out var generation)) return generation;
        }
    }

    /// <summary>Finds the answer to <paramref name="sequence"/> in one datagram; older answers (a timed-out call) are skipped.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> datagram, uint sequence, out uint generation)
    {
        generation = 0;
        while (datagram.Length >= HeaderSize)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(datagram);
            if (length < HeaderSize || length > datagram.Length) throw new NetlinkException("parse NFT_MSG_GETGEN answer", Errno.EPROTO);
            var type = BinaryPrimitives.ReadUInt16LittleEndian(datagram[4..]);
            var messageSequence = BinaryPrimitives.ReadUInt32LittleEndian(datagram[8..]);
            var payload = datagram[HeaderSize..length];
            if (messageSequence == sequence)
            {
                if (type == NlmsgError)
                {
                    var error = payload.Length >= 4 ? -BinaryPrimitives.ReadInt32LittleEndian(payload) : Errno.EPROTO;
                    throw new NetlinkException("NFT_MSG_GETGEN", error == 0 ? Errno.EPROTO : error);
                }
                if (type == (SubsystemNftables << 8 | MsgNewGen) && TryReadGenerationId(payload, out generation)) return true;
                throw new NetlinkException($"parse NFT_MSG_GETGEN answer (message type 0x{type:x4})", Errno.EPROTO);
            }
            datagram = datagram[Math.Min(datagram.Length, (length + 3) & ~3)..];
        }
        return false;
    }

    private static bool TryReadGenerationId(ReadOnlySpan<byte> payload, out uint generation)
    {
        var found = TryFindAttribute(payload, NftaGenId, out var value) && value.Length >= 4;
        generation = found ? BinaryPrimitives.ReadUInt32BigEndian(value) : 0;
        return found;
    }

    /// <summary>The value of the first attribute of <paramref name="type"/> after the nfgenmsg header of <paramref name="payload"/>.</summary>
    internal static bool TryFindAttribute(ReadOnlySpan<byte> payload, ushort type, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (payload.Length < NfGenMsgSize) return false;
        var attributes = payload[NfGenMsgSize..];
        while (attributes.Length >= 4)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
            var attributeType = BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]) & 0x3fff;
            if (length < 4 || length > attributes.Length) return false;
            if (attributeType == type)
            {
                value = attributes[4..length];
                return true;
            }
            attributes = attributes[Math.Min(attributes.Length, (length + 3) & ~3)..];
        }
        return false;
    }

    /// <summary>
    /// Sends one batch (BEGIN, messages with NLM_F_ACK numbered from <paramref name="firstSequence"/>, END) and
    /// waits for every message's acknowledgement. Returns null when all succeeded (the kernel committed), else the
    /// index of the first refused message and its errno (the kernel then applied none of them).
    /// </summary>
    public (int Index, int Errno)? CommitBatch(ReadOnlySpan<byte> batch, uint firstSequence, int messages)
    {
        Send(batch, "nftables element batch");
        var acknowledged = new bool[messages];
        var pending = messages;
        (int Index, int Errno)? failure = null;
        while (pending > 0)
        {
            var datagram = _buffer.AsSpan(0, Receive());
            while (datagram.Length >= HeaderSize)
            {
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(datagram);
                if (length < HeaderSize || length > datagram.Length) throw new NetlinkException("parse nftables batch acknowledgement", Errno.EPROTO);
                var type = BinaryPrimitives.ReadUInt16LittleEndian(datagram[4..]);
                var index = (long)BinaryPrimitives.ReadUInt32LittleEndian(datagram[8..]) - firstSequence;
                if (type == NlmsgError && index >= 0 && index < messages && !acknowledged[index] && length >= HeaderSize + 4)
                {
                    acknowledged[index] = true;
                    pending--;
                    var error = -BinaryPrimitives.ReadInt32LittleEndian(datagram[HeaderSize..]);
                    if (error != 0 && (failure is null || index < failure.Value.Index)) failure = ((int)index, error);
                }
                else if (type == NlmsgError && (index == -1 || index == messages) && length >= HeaderSize + 4 &&
                         BinaryPrimitives.ReadInt32LittleEndian(datagram[HeaderSize..]) is var batchError and < 0)
                {
                    // The batch itself was refused (a failed commit is acknowledged on BEGIN): nothing more will come.
                    return failure ?? (0, -batchError);
                }
                datagram = datagram[Math.Min(datagram.Length, (length + 3) & ~3)..];
            }
        }
        return failure;
    }

    /// <summary>The next free sequence number; the caller numbers a batch's messages from it and then calls <see cref="Reserve"/>.</summary>
    public uint NextSequence => _sequence + 1;

    public void Reserve(int count) => _sequence += (uint)count;

    private unsafe void Send(ReadOnlySpan<byte> data, string what)
    {
        fixed (byte* pointer = data)
        {
            while (LibC.Send(_handle, pointer, (nuint)data.Length, 0) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) throw new NetlinkException($"send {what}", errno);
            }
        }
    }

    private unsafe int Receive()
    {
        fixed (byte* pointer = _buffer)
        {
            while (true)
            {
                var received = LibC.Recv(_handle, pointer, (nuint)_buffer.Length, 0);
                if (received >= 0) return (int)received;
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) throw new NetlinkException("receive from NETLINK_NETFILTER", errno == Errno.EAGAIN ? Errno.ETIMEDOUT : errno);
            }
        }
    }

    public void Dispose() => _handle.Dispose();

    private sealed class SocketHandle : SafeHandle
    {
        public SocketHandle(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

        public override bool IsInvalid => handle == new IntPtr(-1);

        protected override bool ReleaseHandle() => LibC.Close(handle.ToInt32()) == 0;
    }
}
