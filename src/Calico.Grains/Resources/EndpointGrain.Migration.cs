using Calico.Model.Resources;

namespace Calico.Grains.Resources;

/// <summary>
/// A live migration's takeover: the target's agent saw the VM arrive (its host grain calls this on the port's
/// transition to ACTIVE there). Stored like any write, so the calculator hears of it and every host routes the port
/// via the target; the API clears it with the migration (a new migrating_to or binding).
/// </summary>
public sealed partial class EndpointGrain
{
    public async Task<bool> TakeOverAsync(string host)
    {
        if (State.Value is not { } port || port.MigrationTarget != host) return false;
        await WriteAsync(port with { ArrivedOn = host });
        return true;
    }
}
