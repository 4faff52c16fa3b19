using Calico.Netlink.Wire;

namespace Calico.Netlink;

// The three request/reply shapes of rtnetlink: a write acknowledged by NLMSG_ERROR(0), a get answered by one message,
// and a dump answered by multipart messages up to NLMSG_DONE. All but Locked are called with _gate held.
public sealed partial class NetlinkRouteClient
{
    /// <summary>Runs one exchange under the lock, on a socket with nothing left over from a previous one.</summary>
    private T Locked<T>(Func<T> exchange)
    {
        lock (_gate)
        {
            EnterRequest();
            return exchange();
        }
    }

    private void Locked(Action exchange)
    {
        lock (_gate)
        {
            EnterRequest();
            exchange();
        }
    }

    private delegate void RequestEncoder(ref NetlinkWriter writer, uint sequence);

    private delegate T? ReplyDecoder<out T>(ReadOnlySpan<byte> payload) where T : class;

    /// <summary>Handles one reply message of the current request; returns true when the exchange is complete.</summary>
    private delegate bool ReplyHandler(in NlMsgHdr header, ReadOnlySpan<byte> payload);

    /// <summary>Sends a request that carries NLM_F_ACK and waits for its ack; a kernel error throws.</summary>
    private void Execute(RequestEncoder encode, Func<string> describe)
    {
        var sequence = Send(encode);
        int errno = 0;
        string? kernelMessage = null;
        Receive(sequence, describe, (in NlMsgHdr header, ReadOnlySpan<byte> payload) =>
        {
            if (header.Type != MessageType.Error) return false;
            errno = NetlinkReplies.ReadError(header, payload, out kernelMessage);
            return true;
        });
        if (errno != 0) throw new NetlinkException(describe(), errno, kernelMessage);
    }

    /// <summary>Sends a get (no dump) and decodes the one reply of <paramref name="replyType"/>; null if <paramref name="notFound"/>.</summary>
    private T? Get<T>(RequestEncoder encode, ushort replyType, ReplyDecoder<T> decode, int notFound, Func<string> describe)
        where T : class
    {
        T? result = null;
        int errno = 0;
        string? kernelMessage = null;
        var sequence = Send(encode);
        Receive(sequence, describe, (in NlMsgHdr header, ReadOnlySpan<byte> payload) =>
        {
            if (header.Type == replyType) result = decode(payload);
            else if (header.Type == MessageType.Error) errno = NetlinkReplies.ReadError(header, payload, out kernelMessage);
            else return false;
            return true;
        });
        if (errno == notFound) return null;
        if (errno != 0) throw new NetlinkException(describe(), errno, kernelMessage);
        return result;
    }

    /// <summary>
    /// Runs a dump, keeping what <paramref name="keep"/> accepts. A dump flagged NLM_F_DUMP_INTR (the table changed
    /// while it was read) is read to its end and then run again, up to <see cref="NetlinkClientOptions.DumpRetries"/>.
    /// </summary>
    private List<T> Dump<T>(RequestEncoder encode, ushort replyType, ReplyDecoder<T> decode, Func<T, bool>? keep,
        Func<string> describe) where T : class
    {
        for (var attempt = 0; ; attempt++)
        {
            var items = new List<T>();
            var interrupted = false;
            int errno = 0;
            string? kernelMessage = null;
            var sequence = Send(encode);
            Receive(sequence, describe, (in NlMsgHdr header, ReadOnlySpan<byte> payload) =>
            {
                if ((header.Flags & MessageFlags.DumpInterrupted) != 0) interrupted = true;
                switch (header.Type)
                {
                    case MessageType.Done:
                        errno = NetlinkReplies.ReadDone(header, payload, out kernelMessage);
                        return true;
                    case MessageType.Error:
                        errno = NetlinkReplies.ReadError(header, payload, out kernelMessage);
                        return true;
                    case MessageType.Overrun:
                        errno = Errno.ENOBUFS;
                        return true;
                }
                if (header.Type == replyType && decode(payload) is { } item && (keep is null || keep(item))) items.Add(item);
                return false;
            });
            if (errno != 0) throw new NetlinkException(describe(), errno, kernelMessage);
            if (!interrupted) return items;
            if (attempt >= _options.DumpRetries) throw new NetlinkDumpInterruptedException(describe());
        }
    }

    private uint Send(RequestEncoder encode)
    {
        var sequence = NextSequence();
        var writer = new NetlinkWriter(_sendBuffer);
        encode(ref writer, sequence);
        _socket.Send(writer.Written);
        return sequence;
    }

    /// <summary>
    /// Reads datagrams until <paramref name="handle"/> says the exchange with <paramref name="sequence"/> is complete.
    /// Messages of other sequence numbers are leftovers of an abandoned exchange and are skipped. Any failure part-way
    /// leaves the socket marked for draining.
    /// </summary>
    private void Receive(uint sequence, Func<string> describe, ReplyHandler handle)
    {
        try
        {
            while (true)
            {
                var length = _socket.Receive(_receiveBuffer, dontWait: false, out var errno);
                if (length < 0)
                {
                    _needsDrain = true;
                    if (errno == Errno.EAGAIN)
                        throw new NetlinkException(describe(), Errno.ETIMEDOUT, $"no reply within {_options.ReceiveTimeout}");
                    throw new NetlinkException(describe(), errno, "receiving the reply");
                }
                var reader = new NetlinkMessageReader(_receiveBuffer.AsSpan(0, length));
                while (reader.TryRead(out var header, out var payload))
                    if (header.Sequence == sequence && handle(header, payload)) return;
            }
        }
        catch (InvalidDataException malformed)
        {
            _needsDrain = true;
            throw new NetlinkException(describe(), Errno.EPROTO, malformed.Message, malformed);
        }
        catch
        {
            _needsDrain = true;
            throw;
        }
    }
}
