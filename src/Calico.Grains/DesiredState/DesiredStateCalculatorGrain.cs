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

    /// <summary>How often the calculator re-reads the whole store to repair anything a lost notification missed.</summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Owns the in-memory intent (derived: rebuilt from the store) and every host's computed desired state.
/// Tells a host's <see cref="IHostDesiredStateGrain"/> only the changes that concern it, numbered per host so
/// that a host grain that missed one notices the gap and fetches the whole state.
/// Non-reentrant: changes are processed one at a time, and each turn updates the model and the sequence
/// numbers before it awaits anything, so <see cref="GetHostStateAsync"/> (which interleaves) always reads a
/// consistent state.
/// </summary>
[GrainType(GrainTypes.Calculator)]
public sealed partial class DesiredStateCalculatorGrain(
    IGrainStateCatalog catalog,
    IOptions<CalculatorOptions> options,
    ILogger<DesiredStateCalculatorGrain> logger) : Grain, IDesiredStateCalculatorGrain
{
    private readonly Guid _epoch = Guid.NewGuid();
    private readonly Dictionary<string, long> _sequence = new(StringComparer.Ordinal);
    private DesiredStateEngine _engine = new();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var loaded = await LoadAsync(cancellationToken);
        _engine = new DesiredStateEngine();
        _engine.ApplyAll(loaded);
        LogLoaded(logger, _engine.Intent.ResourceCount, _engine.Hosts.Count());
        // Host grains from before this activation may hold anything: give each the full state, in a turn of its
        // own (a host grain answers by calling back, which cannot be served while this activation is starting).
        this.RegisterGrainTimer(PushFullToAllAsync, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        this.RegisterGrainTimer(ResyncOnTimerAsync, new GrainTimerCreationOptions(options.Value.ResyncInterval, options.Value.ResyncInterval));
    }

    public async Task NotifyAsync(ResourceChange change)
    {
        using var activity = Telemetry.Source.StartActivity("calculator.apply");
        activity?.SetTag("calico.resource.kind", change.Kind.ToString());
        activity?.SetTag("calico.resource.key", change.Key);
        var perHost = _engine.Apply(change);
        Telemetry.ResourceChanges.Add(1);
        await PushAllAsync(perHost);
    }

    public Task<HostPush> GetHostStateAsync(string host)
    {
        var items = _engine.SpecOf(host).Values.Select(i => new DesiredChange(i.Key, i)).ToList();
        return Task.FromResult(new HostPush(_epoch, _sequence.GetValueOrDefault(host), true, items));
    }

    public async Task ResyncAsync()
    {
        var sw = Stopwatch.StartNew();
        var loaded = await LoadAsync(CancellationToken.None);
        var perHost = _engine.ApplyAll(loaded);
        await PushAllAsync(perHost);
        LogResynced(logger, perHost.Count, sw.Elapsed.TotalMilliseconds);
    }

    private Task ResyncOnTimerAsync(CancellationToken _) => ResyncAsync();

    private Task PushFullToAllAsync(CancellationToken _) =>
        Task.WhenAll(_engine.Intent.KnownHosts.ToList().Select(host => PushAsync(host, full: true, [])));

    private Task PushAllAsync(Dictionary<string, List<DesiredChange>> perHost) =>
        Task.WhenAll(perHost.Select(kv => PushAsync(kv.Key, full: false, kv.Value)));

    private async Task PushAsync(string host, bool full, List<DesiredChange> changes)
    {
        // Numbered before the await, so a concurrent GetHostStateAsync sees a sequence that matches its items.
        var sequence = _sequence[host] = _sequence.GetValueOrDefault(host) + 1;
        if (full) changes = _engine.SpecOf(host).Values.Select(i => new DesiredChange(i.Key, i)).ToList();
        try
        {
            await GrainFactory.GetGrain<IHostDesiredStateGrain>(host)
                .PushAsync(new HostPush(_epoch, sequence, full, changes, System.Diagnostics.Activity.Current?.Id));
            Telemetry.HostPushes.Add(1);
        }
        catch (Exception ex)
        {
            // The host grain notices the gap in sequence numbers at the next push, or fetches on activation.
            LogPushFailed(logger, ex, host, sequence);
        }
    }

    private async Task<List<ResourceChange>> LoadAsync(CancellationToken cancellationToken)
    {
        var changes = new List<ResourceChange>();
        await Load<HostSpec>(GrainTypes.Host, ResourceKind.Host);
        await Load<Network>(GrainTypes.Network, ResourceKind.Network);
        await Load<Subnet>(GrainTypes.Subnet, ResourceKind.Subnet);
        await Load<SecurityGroup>(GrainTypes.SecurityGroup, ResourceKind.SecurityGroup);
        await Load<WorkloadEndpoint>(GrainTypes.Endpoint, ResourceKind.Endpoint);
        await Load<FloatingIp>(GrainTypes.FloatingIp, ResourceKind.FloatingIp);
        await Load<IpPool>(GrainTypes.IpPool, ResourceKind.IpPool);
        // Blocks are rows of the subnets' IPAM grains; a released block is a tombstone (no block) with its revision.
        await foreach (var (key, state) in catalog.ListAsync<IpBlockState>(GrainTypes.IpBlock, cancellationToken))
            changes.Add(new ResourceChange(ResourceKind.IpBlock, key, state.Revision, state.Block));
        return changes;

        async Task Load<T>(string grainType, ResourceKind kind) where T : class
        {
            await foreach (var (key, state) in catalog.ListAsync<ResourceState<T>>(grainType, cancellationToken))
                changes.Add(new ResourceChange(kind, key, state.Revision, state.Value));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Desired-state calculator loaded {Resources} resources for {Hosts} hosts")]
    private static partial void LogLoaded(ILogger logger, int resources, int hosts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resync changed the desired state of {Hosts} hosts in {Milliseconds:F1} ms")]
    private static partial void LogResynced(ILogger logger, int hosts, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not push desired-state change {Sequence} to host {Host}")]
    private static partial void LogPushFailed(ILogger logger, Exception ex, string host, long sequence);
}
