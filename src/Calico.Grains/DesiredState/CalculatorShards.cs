using Calico.Model.Desired;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calico.Grains.DesiredState;

/// <summary>
/// The desired-state calculation is split into <see cref="CalculatorOptions.Shards"/> calculator grains (keys
/// 0..n-1), each serving the hosts whose name hashes to it; Orleans places them across the controller silos, so more
/// controllers carry more of the work. Every shard holds the whole intent (any host's routes depend on every other
/// host's ports and blocks) but computes and holds only its own hosts' local state, and tells only them.
/// Every silo must be configured with the same shard count.
/// </summary>
public static partial class CalculatorShards
{
    /// <summary>How often a shard that cannot be told of a change is tried again before the resync is left to repair it.</summary>
    public const int NotifyAttempts = 6;

    /// <summary>The shard serving <paramref name="host"/>: a hash (FNV-1a over the name's UTF-16 code units) that every silo agrees on.</summary>
    public static int Of(string host, int shards)
    {
        var hash = 2166136261u;
        foreach (var c in host)
        {
            hash ^= c;
            hash *= 16777619u;
        }
        return (int)(hash % (uint)Math.Max(1, shards));
    }

    public static int CountIn(IServiceProvider services) =>
        Math.Max(1, services.GetService<IOptions<CalculatorOptions>>()?.Value.Shards ?? 1);

    /// <summary>The calculator shard that serves the host.</summary>
    public static IDesiredStateCalculatorGrain For(IGrainFactory grains, IServiceProvider services, string host) =>
        grains.GetGrain<IDesiredStateCalculatorGrain>(Of(host, CountIn(services)));

    /// <summary>
    /// Tells every shard of a stored change. A shard that cannot be reached (its silo died and it is being activated
    /// elsewhere) is tried again with growing delays; a change is idempotent (by revision), so a retry that overlaps
    /// a delivery does no harm. After the last attempt the periodic resync repairs it.
    /// </summary>
    public static Task NotifyAllAsync(IGrainFactory grains, IServiceProvider services, ResourceChange change, ILogger logger) =>
        Task.WhenAll(Enumerable.Range(0, CountIn(services)).Select(shard => NotifyAsync(grains, shard, change, logger)));

    private static async Task NotifyAsync(IGrainFactory grains, int shard, ResourceChange change, ILogger logger)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await grains.GetGrain<IDesiredStateCalculatorGrain>(shard).NotifyAsync(change);
                return;
            }
            catch (Exception ex) when (attempt < NotifyAttempts)
            {
                LogRetry(logger, change.Kind, change.Key, change.Revision, shard, attempt, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * (1 << attempt)));
            }
            catch (Exception ex)
            {
                LogGaveUp(logger, ex, change.Kind, change.Key, change.Revision, shard);
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Could not tell calculator shard {Shard} about {Kind} {Key} revision {Revision} (attempt {Attempt}: {Reason}); trying again")]
    private static partial void LogRetry(ILogger logger, ResourceKind kind, string key, long revision, int shard, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell calculator shard {Shard} about {Kind} {Key} revision {Revision}; the next resync will")]
    private static partial void LogGaveUp(ILogger logger, Exception ex, ResourceKind kind, string key, long revision, int shard);
}
