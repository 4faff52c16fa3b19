namespace Calico.Netlink;

/// <summary>Socket and batching settings of a <see cref="NetlinkRouteClient"/>. The defaults suit 100,000 routes.</summary>
public sealed record NetlinkClientOptions
{
    public static NetlinkClientOptions Default { get; } = new();

    /// <summary>
    /// Socket send buffer. The kernel refuses a datagram larger than this (EMSGSIZE), so it bounds a batch's send.
    /// Set with SO_SNDBUFFORCE (needs CAP_NET_ADMIN), falling back to SO_SNDBUF capped by net.core.wmem_max.
    /// </summary>
    public int SendBufferBytes { get; init; } = 4 << 20;

    /// <summary>
    /// Socket receive buffer. Replies to a batch are queued while the kernel processes it; if they overflow this the
    /// kernel drops them (ENOBUFS) and those operations come back as transient failures. SO_RCVBUFFORCE, falling back
    /// to SO_RCVBUF capped by net.core.rmem_max. Memory is only used while replies are queued.
    /// </summary>
    public int ReceiveBufferBytes { get; init; } = 32 << 20;

    /// <summary>Requests per send() of a batch are limited to this many bytes (and by the buffers above).</summary>
    public int MaxBatchBytes { get; init; } = 256 << 10;

    /// <summary>
    /// Ask the kernel for an ack of every request of a batch (NLM_F_ACK). Off by default: the kernel always reports a
    /// failed request, and a trailing NLMSG_NOOP with NLM_F_ACK marks the end of the batch, so a request without an
    /// error before that mark succeeded. On, every success costs the kernel an skb and us a recv().
    /// </summary>
    public bool AcknowledgeEveryRequest { get; init; }

    /// <summary>How long to wait for a reply before declaring the kernel unresponsive (ETIMEDOUT, transient).</summary>
    public TimeSpan ReceiveTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Dumps that see NLM_F_DUMP_INTR are retried this many times before throwing.</summary>
    public int DumpRetries { get; init; } = 3;

    internal void Validate()
    {
        if (SendBufferBytes < 64 << 10) throw new ArgumentOutOfRangeException(nameof(SendBufferBytes), SendBufferBytes, "at least 64 KiB");
        if (ReceiveBufferBytes < 64 << 10) throw new ArgumentOutOfRangeException(nameof(ReceiveBufferBytes), ReceiveBufferBytes, "at least 64 KiB");
        if (MaxBatchBytes is < 4096 or > 16 << 20) throw new ArgumentOutOfRangeException(nameof(MaxBatchBytes), MaxBatchBytes, "between 4 KiB and 16 MiB");
        if (ReceiveTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ReceiveTimeout), ReceiveTimeout, "must be positive");
        if (DumpRetries < 0) throw new ArgumentOutOfRangeException(nameof(DumpRetries), DumpRetries, "must not be negative");
    }
}
