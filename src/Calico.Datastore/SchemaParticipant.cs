using Microsoft.Extensions.Logging;

namespace Calico.Datastore;

/// <summary>
/// Creates a schema at silo start, in the lifecycle's first stage: before the grain storage provider
/// (ApplicationServices) and the membership table (RuntimeGrainServices) load their queries from OrleansQuery,
/// and before anything can activate a grain. Doing it here rather than during registration keeps I/O out of
/// dependency-injection setup and lets a failure stop the silo with a logged error instead of an exception from
/// a builder call. Nobody runs SQL by hand.
/// </summary>
internal sealed partial class SchemaParticipant(
    string what, Func<CancellationToken, Task> ensureSchema, ILogger<SchemaParticipant> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe($"{nameof(SchemaParticipant)}({what})", ServiceLifecycleStage.First, EnsureAsync);

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ensureSchema(cancellationToken);
            LogEnsured(logger, what);
        }
        catch (Exception e)
        {
            LogFailed(logger, e, what);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Datastore schema is in place: {What}")]
    private static partial void LogEnsured(ILogger logger, string what);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not create the datastore schema: {What}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string what);
}
