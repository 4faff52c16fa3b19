using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Calico.Dataplane.Linux.Netlink;
using Calico.Dataplane.Linux.Netlink.Interop;

namespace Calico.Dataplane.Linux.Nftables.Native;

/// <summary>
/// Reads the nftables ruleset generation of a network namespace with one NFT_MSG_GETGEN request over
/// NETLINK_NETFILTER, the cheapest way to learn whether anything changed: the kernel increments the generation on
/// every committed transaction (any table), and never on a failed one.
/// Layout from the uapi headers: nlmsghdr, then struct nfgenmsg { u8 family; u8 version; __be16 res_id; }, then
/// attributes; the answer (NFT_MSG_NEWGEN) carries NFTA_GEN_ID as a big-endian u32.
/// The socket belongs to the namespace of the thread that opened it, for its whole life.
/// </summary>
internal sealed class GenerationSocket : IDisposable
{
    private const int NetlinkNetfilter = 12;
    private const ushort SubsystemNftables = 10;
    private const ushort MsgNewGen = 15;
    private const ushort MsgGetGen = 16;
    private const ushort NlmFRequest = 1;
    private const ushort NlmsgError = 2;
    private const ushort NftaGenId = 1;
    private const int HeaderSize = 16;
    private const int NfGenMsgSize = 4;

    private readonly SocketHandle _handle;
    private readonly byte[] _buffer = new byte[8192];
    private uint _sequence;

    private GenerationSocket(SocketHandle handle) => _handle = handle;

    /// <summary>Opens the socket in the calling thread's network namespace.</summary>
    public static unsafe GenerationSocket Open()
    {
        var fd = LibC.Socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, NetlinkNetfilter);
        if (fd < 0) throw new NetlinkException("open NETLINK_NETFILTER socket", Marshal.GetLastPInvokeError());
        var socket = new GenerationSocket(new SocketHandle(fd));
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

    /// <summary>The current ruleset generation. Not thread-safe: the owner serialises calls.</summary>
    public unsafe uint Read()
    {
        var sequence = ++_sequence;
        Span<byte> request = stackalloc byte[HeaderSize + NfGenMsgSize];
        request.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(request[4..], (ushort)(SubsystemNftables << 8 | MsgGetGen));
        BinaryPrimitives.WriteUInt16LittleEndian(request[6..], NlmFRequest);
        BinaryPrimitives.WriteUInt32LittleEndian(request[8..], sequence);
        // nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id 0 — already zero.
        fixed (byte* pointer = request)
        {
            while (LibC.Send(_handle, pointer, (nuint)request.Length, 0) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) throw new NetlinkException("send NFT_MSG_GETGEN", errno);
            }
        }
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
        generation = 0;
        if (payload.Length < NfGenMsgSize) return false;
        var attributes = payload[NfGenMsgSize..];
        while (attributes.Length >= 4)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
            var type = BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]) & 0x3fff;
            if (length < 4 || length > attributes.Length) return false;
            if (type == NftaGenId && length >= 8)
            {
                generation = BinaryPrimitives.ReadUInt32BigEndian(attributes[4..]);
                return true;
            }
            attributes = attributes[Math.Min(attributes.Length, (length + 3) & ~3)..];
        }
        return false;
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
                if (errno != Errno.EINTR) throw new NetlinkException("receive NFT_MSG_GETGEN answer", errno == Errno.EAGAIN ? Errno.ETIMEDOUT : errno);
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
