using System.Net.Sockets;
using Calico.Netlink.Codecs;
using Calico.Netlink.Wire;

namespace Calico.Netlink;

// Batching: many route requests per send(), each with its own sequence number, then the replies of that send.
// The kernel processes a whole datagram before send() returns and carries on after a failed request, so one bad
// route never stops the others; every failure comes back as an NLMSG_ERROR naming the failed request's sequence.
public sealed partial class NetlinkRouteClient
{
    private enum Outcome : byte { Unknown, Succeeded, Failed }

    /// <summary>
    /// Applies route operations in order, packing as many requests per send() as the buffers allow, and returns one
    /// result per operation (same order). Failures of single operations are results, not exceptions; an exception
    /// means the socket itself failed. Operations on the same key are applied in the order given.
    /// </summary>
    public IReadOnlyList<RouteOperationResult> Apply(IReadOnlyList<RouteOperation> operations) =>
        ApplyCore(operations, CancellationToken.None);

    /// <summary>
    /// <see cref="Apply"/> on a thread-pool thread, so a caller's thread (an Orleans scheduler, a request thread) never
    /// blocks on the kernel. Cancellation takes effect between sends; what was sent before it took effect.
    /// </summary>
    public Task<IReadOnlyList<RouteOperationResult>> ApplyAsync(IReadOnlyList<RouteOperation> operations,
        CancellationToken cancellationToken = default) =>
        Task.Run(() => ApplyCore(operations, cancellationToken), cancellationToken);

    private IReadOnlyList<RouteOperationResult> ApplyCore(IReadOnlyList<RouteOperation> operations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operations);
        for (var i = 0; i < operations.Count; i++)
        {
            var route = operations[i].Route ?? throw new ArgumentException($"operation {i} has no route", nameof(operations));
            if (route.Family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
                throw new ArgumentException($"operation {i} has no IPv4/IPv6 destination", nameof(operations));
        }

        var outcomes = new Outcome[operations.Count];
        var failures = new Dictionary<int, (int Errno, string? Message)>();
        lock (_gate)
        {
            EnterRequest();
            var next = 0;
            while (next < operations.Count)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var first = next;
                var firstSequence = unchecked(_sequence + 1);
                var writer = new NetlinkWriter(_sendBuffer);
                var ack = _options.AcknowledgeEveryRequest ? MessageFlags.Ack : (ushort)0;
                while (next < operations.Count && (next == first ||
                       (next - first < _maxRequestsPerSend && writer.Length + RouteCodec.MaxMessageSize <= _maxBatchBytes)))
                {
                    EncodeRouteOperation(ref writer, operations[next], ack, unchecked(firstSequence + (uint)(next - first)));
                    next++;
                }
                // The end-of-send mark: a NOOP request with NLM_F_ACK is acked after everything before it was processed.
                _sequence = unchecked(firstSequence + (uint)(next - first));
                var mark = writer.BeginMessage(MessageType.Noop, MessageFlags.Request | MessageFlags.Ack, _sequence);
                writer.EndMessage(mark);
                _socket.Send(writer.Written);
                ReadBatchReplies(firstSequence, outcomes.AsSpan(first, next - first), first, failures);
            }

            var names = failures.Count == 0 ? null : InterfaceNamesLocked();
            var results = new RouteOperationResult[operations.Count];
            for (var i = 0; i < results.Length; i++)
            {
                NetlinkException? error = null;
                if (failures.TryGetValue(i, out var failure))
                    error = new NetlinkException(operations[i].Describe(index => NameOf(names!, index)), failure.Errno, failure.Message);
                results[i] = new RouteOperationResult(operations[i], error);
            }
            return results;
        }
    }

    /// <summary>
    /// Reads the replies of one send: errors (and acks, when every request asks for one) up to the end mark. If the
    /// kernel dropped replies for want of receive buffer (ENOBUFS), the mark may never come: the queue is then read
    /// to empty (everything the send caused is queued when send returns) and what is still unknown is reported as a
    /// transient ENOBUFS failure — a replace can simply be sent again.
    /// </summary>
    private void ReadBatchReplies(uint firstSequence, Span<Outcome> outcomes, int firstIndex,
        Dictionary<int, (int Errno, string? Message)> failures)
    {
        var markSeen = false;
        var overrun = false;
        try
        {
            while (!markSeen)
            {
                var length = _socket.Receive(_receiveBuffer, dontWait: overrun, out var errno);
                if (length < 0)
                {
                    if (errno == Errno.ENOBUFS) { overrun = true; continue; }
                    if (overrun && errno == Errno.EAGAIN) break;
                    _needsDrain = true;
                    throw new NetlinkException($"read replies of {outcomes.Length} route operations",
                        errno == Errno.EAGAIN ? Errno.ETIMEDOUT : errno);
                }
                var reader = new NetlinkMessageReader(_receiveBuffer.AsSpan(0, length));
                while (reader.TryRead(out var header, out var payload))
                {
                    if (header.Type != MessageType.Error) continue;
                    var offset = unchecked(header.Sequence - firstSequence);
                    if (offset == outcomes.Length) { markSeen = true; continue; }
                    if (offset > outcomes.Length) continue; // a leftover of an earlier exchange
                    var error = NetlinkReplies.ReadError(header, payload, out var message);
                    outcomes[(int)offset] = error == 0 ? Outcome.Succeeded : Outcome.Failed;
                    if (error != 0) failures[firstIndex + (int)offset] = (error, message);
                }
            }
        }
        catch (InvalidDataException malformed)
        {
            _needsDrain = true;
            throw new NetlinkException($"read replies of {outcomes.Length} route operations", Errno.EPROTO, malformed.Message, malformed);
        }

        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i] != Outcome.Unknown) continue;
            if (markSeen) outcomes[i] = Outcome.Succeeded;
            else failures[firstIndex + i] = (Errno.ENOBUFS, "the kernel dropped the reply (receive buffer full); state unknown");
        }
    }

    /// <summary>Names of all links, for the messages of a batch's failures (one dump rather than one get per failure).</summary>
    private Dictionary<int, string> InterfaceNamesLocked()
    {
        try
        {
            return _needsDrain ? [] : ListLinksLocked().ToDictionary(link => link.Index, link => link.Name);
        }
        catch (NetlinkException)
        {
            return [];
        }
    }

    private static string NameOf(Dictionary<int, string> names, int index) =>
        names.TryGetValue(index, out var name) ? name : $"if{index}";
}
