using Calico.Model.Desired;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging;

namespace Calico.Silo.Compute;

/// <summary>
/// A dataplane that only holds the desired state in memory and logs what changed. Used where nothing may be
/// programmed (a controller trial, grain tests); it records every apply so tests can check what arrived.
/// </summary>
public sealed partial class InMemoryDataplane(ILogger<InMemoryDataplane> logger) : IDataplane
{
    private readonly Lock _lock = new();
    private Dictionary<DesiredKey, DesiredItem> _state = [];
    private long _sequence;

    public int Applies { get; private set; }

    public int Snapshots { get; private set; }

    public IReadOnlyDictionary<DesiredKey, DesiredItem> State
    {
        get { lock (_lock) return new Dictionary<DesiredKey, DesiredItem>(_state); }
    }

    public TimeSpan ResyncInterval => TimeSpan.FromMinutes(5);

    public Task<DataplaneResult> ResyncAsync(CancellationToken cancellationToken) => Task.FromResult(Current());

    /// <summary>No kernel, so nothing ever changes under it.</summary>
    public Task WaitForKernelChangeAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);

    public Task<DataplaneResult> ReconcileKernelChangesAsync(CancellationToken cancellationToken) => Task.FromResult(Current());

    private DataplaneResult Current()
    {
        lock (_lock) return Result(_state);
    }

    /// <summary>
    /// Held in memory is all this dataplane does, so every endpoint it holds counts as programmed. Called with the
    /// lock held, so results are numbered in the order of the states they describe.
    /// </summary>
    private DataplaneResult Result(IReadOnlyDictionary<DesiredKey, DesiredItem> state) =>
        new(state.Values.OfType<WorkloadInterfaceItem>().ToDictionary(i => i.EndpointId,
            i => new EndpointProgramming(i.AdminUp ? EndpointStatusKind.Active : EndpointStatusKind.Down, i.AdminUp ? null : "administratively down")))
        {
            Sequence = Interlocked.Increment(ref _sequence),
        };

    public Task<DataplaneResult> ApplyAsync(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, IReadOnlyList<DesiredChange> changes,
        bool isSnapshot, CancellationToken cancellationToken)
    {
        DataplaneResult result;
        lock (_lock)
        {
            _state = new Dictionary<DesiredKey, DesiredItem>(desired);
            Applies++;
            if (isSnapshot) Snapshots++;
            result = Result(_state);
        }
        LogApplied(logger, isSnapshot ? "snapshot" : "changes", changes.Count, desired.Count);
        return Task.FromResult(result);
    }

    /// <summary>What it holds against <paramref name="desired"/>, by key: "add", "change" or "remove" and the item's key.</summary>
    public Task<IReadOnlyList<string>> PlanAsync(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var plan = desired.Where(kv => !_state.TryGetValue(kv.Key, out var held) || !held.Equals(kv.Value))
                .Select(kv => (kv.Key, Line: $"{(_state.ContainsKey(kv.Key) ? "change" : "add")} {kv.Key}"))
                .Concat(_state.Keys.Where(k => !desired.ContainsKey(k)).Select(k => (Key: k, Line: $"remove {k}")))
                .OrderBy(p => p.Key).Select(p => p.Line).ToList();
            return Task.FromResult<IReadOnlyList<string>>(plan);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Desired state {Kind}: {Changes} changes, {Items} items held (memory dataplane, nothing programmed)")]
    private static partial void LogApplied(ILogger logger, string kind, int changes, int items);
}
