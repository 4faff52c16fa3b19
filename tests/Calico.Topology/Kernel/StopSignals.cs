using System.Runtime.InteropServices;

namespace Calico.Topology.Kernel;

/// <summary>
/// Ctrl-C, SIGTERM, SIGHUP and SIGQUIT cancel <see cref="Token"/> instead of ending the process at once, so that a
/// run gets to remove what it built through its own finally blocks and DisposeAsync (the process-exit hook of
/// <see cref="RunLedger"/> stays the last resort). Dispose restores the default handling.
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<PosixSignalRegistration> _registrations;

    public StopSignals() =>
        _registrations =
        [
            .. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT }
                .Select(s => PosixSignalRegistration.Create(s, context =>
                {
                    context.Cancel = true;
                    _stop.Cancel();
                })),
        ];

    public CancellationToken Token => _stop.Token;

    public bool IsStopRequested => _stop.IsCancellationRequested;

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _stop.Dispose();
    }
}
