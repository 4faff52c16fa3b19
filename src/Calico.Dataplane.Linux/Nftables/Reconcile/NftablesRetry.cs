using Calico.Dataplane.Linux.Driver;
using Polly;
using Polly.Retry;

namespace Calico.Dataplane.Linux.Nftables;

/// <summary>
/// The default retry for nftables calls: transient refusals (EBUSY, ENOBUFS, EAGAIN, EINTR, ERESTART) are retried with
/// exponential backoff and jitter; anything else surfaces at once. A caller with its own pipeline passes that to the
/// reconciler instead, and should handle <c>NftablesException { IsTransient: true }</c> the same way.
/// </summary>
public static class NftablesRetry
{
    public static ResiliencePipeline Create(int attempts = 5, TimeSpan? baseDelay = null, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(attempts);
        var builder = new ResiliencePipelineBuilder();
        if (time is not null) builder.TimeProvider = time;
        if (attempts == 0) return builder.Build();
        return builder.AddRetry(new RetryStrategyOptions
        {
            Name = "nftables-transient",
            ShouldHandle = new PredicateBuilder().Handle<NftablesException>(e => e.IsTransient),
            MaxRetryAttempts = attempts,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = baseDelay ?? TimeSpan.FromMilliseconds(10),
            MaxDelay = TimeSpan.FromSeconds(1),
            OnRetry = _ =>
            {
                DataplaneTelemetry.Retries.Add(1, DataplaneTelemetry.Kind(NftablesTelemetry.Kind));
                return ValueTask.CompletedTask;
            },
        }).Build();
    }
}
