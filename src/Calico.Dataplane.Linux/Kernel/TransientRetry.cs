using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Netlink;
using Polly;
using Polly.Retry;

namespace Calico.Dataplane.Linux.Kernel;

/// <summary>Some operations of a batch failed transiently; the retry resubmits only those.</summary>
public sealed class TransientBatchException(string kind, int count, NetlinkException first)
    : Exception($"{count} {kind} operations failed transiently, first: {first.Message}", first);

/// <summary>
/// The one retry policy for kernel calls: transient errors (EBUSY, ENOBUFS, EAGAIN, an interrupted dump, a batch
/// with transient failures) are retried with exponential backoff and jitter; anything else surfaces at once.
/// Built on Polly so that its telemetry (meter "Polly") shows every retry.
/// </summary>
public static class TransientRetry
{
    public static ResiliencePipeline Create(DataplaneOptions options, TimeProvider? time = null)
    {
        var builder = new ResiliencePipelineBuilder();
        if (time is not null) builder.TimeProvider = time;
        if (options.TransientRetries == 0) return builder.Build();
        return builder.AddRetry(new RetryStrategyOptions
        {
            Name = "kernel-transient",
            ShouldHandle = new PredicateBuilder()
                .Handle<NetlinkException>(e => e.IsTransient)
                .Handle<TransientBatchException>(),
            MaxRetryAttempts = options.TransientRetries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = options.RetryBaseDelay,
            MaxDelay = TimeSpan.FromSeconds(2),
            OnRetry = args =>
            {
                DataplaneTelemetry.Retries.Add(1, DataplaneTelemetry.Kind(args.Outcome.Exception is TransientBatchException ? "batch" : "call"));
                return ValueTask.CompletedTask;
            },
        }).Build();
    }
}
