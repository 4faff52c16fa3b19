namespace Calico.Grains;

/// <summary>
/// Turns a transient failure inside a grain call (the datastore restarting, a silo gone; see
/// <see cref="TransientFailures.Reason"/>) into a <see cref="TransientFailureException"/>, which every silo and client
/// can deserialize, so the API on another silo answers 503 with the reason instead of failing on a driver exception
/// it has no codec for. Every other exception passes unchanged.
/// </summary>
public sealed class TransientFailureFilter : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception e) when (e is not TransientFailureException && TransientFailures.Reason(e) is { } reason)
        {
            throw new TransientFailureException(reason, e.Message);
        }
    }
}
