using Calico.Netlink;
using Calico.Nftables;
using Polly;
using Polly.Retry;

namespace Calico.Dataplane.Linux.Kernel;

/// <summary>Some operations of a batch failed transiently; the retry resubmits only those.</summary>
public sealed class TransientBatchException(string kind, int count, NetlinkException first)
    : Exception($"{count} {kind} operations failed transiently, first: {first.Message}", first);

/// <summary>
/// The one retry policy for kernel calls, netlink and nftables alike: transient errors (EBUSY, ENOBUFS, EAGAIN, EINTR,
/// an interrupted dump, a batch with transient failures, a transient nftables refusal) are retried up to
/// <c>Dataplane:TransientRetries</c> times, pausing from <c>Dataplane:RetryBaseDelay</c> with exponential backoff and
/// jitter; anything else surfaces at once. Built on Polly so that its telemetry (meter "Polly") shows every retry;
/// the pauses run on the given <see cref="TimeProvider"/>.
/// </summary>
public static class TransientRetry
{
    /// <summary>The longest pause between two attempts, whatever the base delay grew to.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(2);

    /// <summary>Retries when nothing says otherwise (<c>Dataplane:TransientRetries</c>'s default).</summary>
    public const int DefaultRetries = 5;

    /// <summary>The first pause when nothing says otherwise (<c>Dataplane:RetryBaseDelay</c>'s default).</summary>
    public static readonly TimeSpan DefaultBaseDelay = TimeSpan.FromMilliseconds(20);

    /// <summary>With the defaults: for callers that were given no pipeline.</summary>
    public static ResiliencePipeline Default { get; } = Create(DefaultRetries, DefaultBaseDelay);

    public static ResiliencePipeline Create(int retries, TimeSpan baseDelay, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retries);
        ArgumentOutOfRangeException.ThrowIfLessThan(baseDelay, TimeSpan.Zero);
        var builder = new ResiliencePipelineBuilder();
        if (time is not null) builder.TimeProvider = time;
        if (retries == 0) return builder.Build();
        return builder.AddRetry(new RetryStrategyOptions
        {
            Name = "kernel-transient",
            ShouldHandle = new PredicateBuilder()
                .Handle<NetlinkException>(e => e.IsTransient)
                .Handle<TransientBatchException>()
                .Handle<NftablesException>(e => e.IsTransient),
            MaxRetryAttempts = retries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = baseDelay,
            MaxDelay = MaxDelay,
            OnRetry = args =>
            {
                DataplaneTelemetry.Retries.Add(1, DataplaneTelemetry.Kind(args.Outcome.Exception switch
                {
                    TransientBatchException => "batch",
                    NftablesException => DataplaneTelemetry.NftablesKind,
                    _ => "call",
                }));
                return ValueTask.CompletedTask;
            },
        }).Build();
    }
}
