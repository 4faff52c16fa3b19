using System.Diagnostics;
using Calico.Datastore;
using Calico.Grains.Ipam;
using Calico.Grains.Resources;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calico.Grains.DesiredState;

public sealed class CalculatorOptions
{
    public const string Section = "Calculator";

    /// <summary>How often each calculator shard re-reads the whole store to repair anything a lost notification missed.</summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How many calculator grains share the hosts (each serves the hosts whose name hashes to it). More shards spread
    /// the work over more controller silos; each holds the whole intent once. The same on every silo.
    /// </summary>
    public int Shards { get; set; } = 1;

    /// <summary>How many stored resources a resync applies in one turn before it lets notifications in.</summary>
    public int ResyncChunk { get; set; } = 2000;
}

/// <summary>Refuses calculator settings that cannot work, naming the key.</summary>
public sealed class CalculatorOptionsValidator : IValidateOptions<CalculatorOptions>
{
    public ValidateOptionsResult Validate(string? name, CalculatorOptions o)
    {
        var errors = new List<string>();
        if (o.Shards is < 1 or > 1024) errors.Add($"Calculator:Shards must be between 1 and 1024 (got {o.Shards}).");
        if (o.ResyncChunk < 1) errors.Add($"Calculator:ResyncChunk must be at least 1 (got {o.ResyncChunk}).");
        if (o.ResyncInterval <= TimeSpan.Zero) errors.Add($"Calculator:ResyncInterval must be positive (got {o.ResyncInterval}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// One shard of the desired-state calculation (key: the shard number, see <see cref="CalculatorShards"/>). Owns the
/// in-memory intent (derived: rebuilt from the store) and the incremental engine scoped to its hosts; tells a host's
/// <see cref="IHostDesiredStateGrain"/> only the changes that concern it, numbered per host so that a host grain that
/// missed one notices the gap and fetches the whole state.
/// Each change is applied to the engine synchronously, within one turn, and numbered before anything is awaited, so
/// <see cref="GetHostStateAsync"/> and the resync (which interleave) always read a consistent state. The resync
/// reads the store outside the grain's turns and applies what it read in chunks, so notifications are never held up
/// for longer than one chunk.
/// </summary>
[GrainType(GrainTypes.Calculator)]
public sealed partial class DesiredStateCalculatorGrain(
    StoreReader loader,
    IOptions<CalculatorOptions> options,
    IOptions<RoutingOptions> routing,
    ILogger<DesiredStateCalculatorGrain> logger) : Grain, IDesiredStateCalculatorGrain
{
    private readonly Guid _epoch = Guid.NewGuid();
    private readonly Dictionary<string, long> _sequence = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Outbox> _outboxes = new(StringComparer.Ordinal);
    private readonly List<(string Host, Outbox Outbox)> _unsent = [];
    private DesiredStateEngine _engine = new();
    private Task? _resync;

    private int Shard => (int)this.GetPrimaryKeyLong();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var shards = Math.Max(1, options.Value.Shards);
        var shard = Shard;
        var sw = Stopwatch.StartNew();
        var loaded = await LoadAsync(cancellationToken);
        _engine = new DesiredStateEngine(shards == 1 ? null : host => CalculatorShards.Of(host, shards) == shard,
            routing.Value.ToClusterRouting());
        _engine.Load(loaded);
        LogLoaded(logger, shard, _engine.Intent.ResourceCount, _engine.Hosts.Count(), sw.Elapsed.TotalMilliseconds);
        // Host grains from before this activation numbered another epoch's pushes: tell each to start again (its
        // watchers then take a snapshot), in a turn of its own.
        this.RegisterGrainTimer(PushFullToAllAsync, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        this.RegisterGrainTimer(ResyncOnTimerAsync,
            new GrainTimerCreationOptions(options.Value.ResyncInterval, options.Value.ResyncInterval) { Interleave = true });
    }

    public Task NotifyAsync(ResourceChange change)
    {
        using var activity = Telemetry.Source.StartActivity("calculator.apply");
        activity?.SetTag("calico.resource.kind", change.Kind.ToString());
        activity?.SetTag("calico.resource.key", change.Key);
        var perHost = _engine.Apply(change);
        activity?.SetTag("calico.hosts.changed", perHost.Count);
        Telemetry.ResourceChanges.Add(1);
        PushAll(perHost, change.WrittenAt);
        return Task.CompletedTask;
    }

    public Task<HostPush> GetHostStateAsync(string host) =>
        Task.FromResult(new HostPush(_epoch, _sequence.GetValueOrDefault(host), true, _engine.SnapshotChanges(host)));

    public Task ResyncAsync()
    {
        if (_resync is not { IsCompleted: false }) _resync = RunResyncAsync();
        return _resync;
    }

    private async Task RunResyncAsync()
    {
        var sw = Stopwatch.StartNew();
        // Read outside the grain's turns: notifications go on meanwhile (a stale revision read here is then ignored).
        var loaded = await LoadAsync(CancellationToken.None);
        var hosts = 0;
        var chunk = Math.Max(1, options.Value.ResyncChunk);
        for (var i = 0; i < loaded.Count; i += chunk)
        {
            if (i > 0) await Task.Delay(1);
            var perHost = _engine.ApplyAll(Enumerable.Range(i, Math.Min(chunk, loaded.Count - i)).Select(j => loaded[j]));
            hosts += perHost.Count;
            PushAll(perHost, null);
        }
        LogResynced(logger, Shard, loaded.Count, hosts, sw.Elapsed.TotalMilliseconds);
    }

    private Task ResyncOnTimerAsync(CancellationToken _) => ResyncAsync();

    private Task PushFullToAllAsync(CancellationToken _)
    {
        foreach (var host in _engine.Hosts.ToList()) Push(host, full: true, [], null);
        return Task.CompletedTask;
    }

    private void PushAll(Dictionary<string, List<DesiredChange>> perHost, DateTimeOffset? writtenAt)
    {
        foreach (var (host, changes) in perHost) Push(host, full: false, changes, writtenAt);
    }

    /// <summary>
    /// Numbers the host's push now (so a concurrent <see cref="GetHostStateAsync"/> sees a sequence that matches its
    /// items) and sends it once the host's previous push has been answered, so each host grain receives its pushes in
    /// order. Changes numbered while a push to the host is on its way wait in its outbox and go together, merged by
    /// key, in the next push: under a burst each host gets one call per round trip, not one per change. Nobody waits
    /// for the sending: the calls start in a work item of their own after the current turn, so the resource write that
    /// caused them is answered first and costs the store and the engine, not the fan-out to the hosts (issuing a call
    /// to each of 500 hosts took longer than the engine's work for a rule change at 1,000 hosts).
    /// </summary>
    private void Push(string host, bool full, List<DesiredChange> changes, DateTimeOffset? writtenAt)
    {
        var sequence = _sequence[host] = _sequence.GetValueOrDefault(host) + 1;
        if (!_outboxes.TryGetValue(host, out var outbox)) _outboxes[host] = outbox = new Outbox();
        if (outbox.Pending is null)
        {
            outbox.Pending = [];
            outbox.First = sequence;
        }
        foreach (var change in changes) outbox.Pending[change.Key] = change;
        outbox.Last = sequence;
        outbox.Full |= full;
        if (writtenAt is not null && (outbox.WrittenSince is null || writtenAt < outbox.WrittenSince)) outbox.WrittenSince = writtenAt;
        outbox.Cause = System.Diagnostics.Activity.Current?.Id ?? outbox.Cause;
        if (outbox.Sending) return;
        outbox.Sending = true;
        _unsent.Add((host, outbox));
        if (_unsent.Count == 1)
            _ = Task.Factory.StartNew(StartSending, CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Current);
    }

    private void StartSending()
    {
        var batch = _unsent.ToArray();
        _unsent.Clear();
        foreach (var (host, outbox) in batch) _ = SendAsync(host, outbox);
    }

    private async Task SendAsync(string host, Outbox outbox)
    {
        try
        {
            while (outbox.Pending is { } pending)
            {
                var push = new HostPush(_epoch, outbox.Last, outbox.Full, [.. pending.Values], outbox.Cause)
                {
                    FirstSequence = outbox.First,
                    WrittenSince = outbox.WrittenSince,
                };
                (outbox.Pending, outbox.Full, outbox.Cause, outbox.WrittenSince) = (null, false, null, null);
                try
                {
                    // The reference is kept: resolving it parses the interface's type name each time.
                    await (outbox.Target ??= GrainFactory.GetGrain<IHostDesiredStateGrain>(host)).PushAsync(push);
                    Telemetry.HostPushes.Add(1);
                }
                catch (Exception ex)
                {
                    // The host grain notices the gap in sequence numbers at the next push, or a new epoch on activation.
                    LogPushFailed(logger, ex, host, push.Sequence);
                }
            }
        }
        finally
        {
            outbox.Sending = false;
        }
    }

    /// <summary>A host's changes not yet sent, numbered First..Last.</summary>
    private sealed class Outbox
    {
        public bool Sending;
        public IHostDesiredStateGrain? Target;
        public Dictionary<DesiredKey, DesiredChange>? Pending;
        public long First;
        public long Last;
        public bool Full;
        public string? Cause;
        public DateTimeOffset? WrittenSince;
    }

    private Task<IReadOnlyList<ResourceChange>> LoadAsync(CancellationToken cancellationToken) => loader.LoadAsync(cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Desired-state calculator shard {Shard} loaded {Resources} resources for {Hosts} hosts in {Milliseconds:F0} ms")]
    private static partial void LogLoaded(ILogger logger, int shard, int resources, int hosts, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resync of shard {Shard} read {Resources} resources and changed the desired state of {Hosts} hosts in {Milliseconds:F1} ms")]
    private static partial void LogResynced(ILogger logger, int shard, int resources, int hosts, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not push desired-state change {Sequence} to host {Host}")]
    private static partial void LogPushFailed(ILogger logger, Exception ex, string host, long sequence);
}
