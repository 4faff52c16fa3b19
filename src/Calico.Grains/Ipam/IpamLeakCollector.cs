using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calico.Grains.Ipam;

/// <summary>
/// Runs on each controller silo: every <see cref="IpamOptions.LeakCollectionInterval"/> it asks the IPAM audit to
/// release the leaks it confirms, so an address left allocated by a request that failed half-way (the datastore
/// restarting between the allocation and the port's write, or between a port's deletion and its release) returns to
/// the pool without an operator. Owns nothing; the audit grain confirms each leak with the owners before releasing
/// it, so several controllers running this at once release nothing twice.
/// </summary>
public sealed partial class IpamLeakCollector(
    IGrainFactory grains, IOptions<IpamOptions> options, TimeProvider time, ILogger<IpamLeakCollector> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.LeakCollectionInterval;
        if (interval <= TimeSpan.Zero) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, time, stoppingToken);
                var report = await grains.GetGrain<IIpamAuditGrain>(0).AuditAsync(new IpamAuditRequest(ReleaseLeaks: true, options.Value.LeakGracePeriod));
                var released = report.Findings.Count(f => f.Released);
                if (released > 0 || report.Remaining.Any()) LogCollected(logger, released, report.Remaining.Count());
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The next round tries again (the datastore may be the reason).
                LogFailed(logger, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "IPAM leak collection released {Released} leaked addresses; {Remaining} findings remain")]
    private static partial void LogCollected(ILogger logger, int released, int remaining);

    [LoggerMessage(Level = LogLevel.Warning, Message = "IPAM leak collection failed, trying again next round: {Error}")]
    private static partial void LogFailed(ILogger logger, string error);
}
