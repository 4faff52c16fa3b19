using Calico.Grains.DesiredState;
using System.Collections.Immutable;
using System.Net;
using Calico.Model.Collections;
using Calico.Datastore;
using Calico.Grains.Resources;
using Calico.Model.Desired;
using Calico.Model.Ipam;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Storage;

namespace Calico.Grains.Ipam;

/// <summary>
/// Owns the allocations of one subnet (key = subnet id), persisted as one row per block (<see cref="IpBlockState"/>),
/// so that a write carries one block of at most a few thousand addresses, never the whole subnet.
/// Requests queue up; each round takes what has arrived, decides it with the pure <see cref="SubnetAllocator"/>,
/// writes each changed block once, and answers a caller only after the row holding its change was stored. A row
/// whose write fails is put back as stored, so memory and storage stay the same, and its callers get the error.
/// Every row write is checked against the row's ETag, and an address lives in exactly one row: a second activation
/// (or anything else that wrote meanwhile) cannot make an address be given twice; it only makes writes fail, after
/// which this activation goes away and the next one reads the store afresh.
/// Tells the calculator when a block is claimed, changes affinity or is released. Reentrant, so that requests
/// arriving during a write join the next round; every mutation happens between awaits.
/// </summary>
[Reentrant]
[GrainType(GrainTypes.SubnetIpam)]
public sealed partial class SubnetIpamGrain(
    IServiceProvider services,
    IGrainStateCatalog catalog,
    IOptions<IpamOptions> options,
    TimeProvider time,
    ILogger<SubnetIpamGrain> logger) : Grain, ISubnetIpamGrain
{
    private const string StateName = "state";

    private readonly IGrainStorage _storage = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Calico);
    // What is stored, tombstones included; only ever replaced by a row whose write succeeded.
    private readonly Dictionary<IpPrefix, BlockRow> _rows = [];
    private readonly Queue<Request> _pending = new();
    private List<IpPool> _pools = [];
    // Working state: equal to _rows between rounds.
    private SubnetAllocator? _allocator;
    private Task _flush = Task.CompletedTask;
    // For the address gauges: allocated addresses in the automatic ranges, per block, of the allocator counted for.
    private readonly Dictionary<IpPrefix, int> _automaticAllocated = [];
    private SubnetAllocator? _countedFor;

    private string SubnetId => this.GetPrimaryKeyString();

    public static GrainId RowId(string key) => GrainId.Create(GrainTypes.IpBlock, key);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        RecordZeros();
        await LoadPoolsAsync(cancellationToken);
        var prefix = SubnetId + "|";
        await foreach (var (key, _) in catalog.ListAsync<IpBlockState>(GrainTypes.IpBlock, prefix, cancellationToken))
        {
            if (!IpBlock.TryParseKey(key, out _, out var cidr)) continue;
            // Read through the storage, not the catalog: a write needs the row's ETag.
            var row = new BlockRow();
            await _storage.ReadStateAsync(StateName, RowId(key), row);
            if (row.RecordExists) _rows[cidr] = row;
        }
    }

    /// <summary>
    /// 0 under the outcomes of trouble, so that their series exist before the first refusal or failed write
    /// (dashboards and alerts then read 0, not "no data").
    /// </summary>
    private static void RecordZeros()
    {
        Telemetry.IpamRequests.Add(0, new("op", "allocate"), new("outcome", "refused"));
        Telemetry.IpamBlockWrites.Add(0, new KeyValuePair<string, object?>("outcome", "failed"));
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Telemetry.SubnetAddressesGone(SubnetId);
        return Task.CompletedTask;
    }

    public Task<IpAllocation> AllocateAsync(string portId, string? host, IPAddress? requested)
    {
        var v = new Validator();
        v.Id(portId, "port_id");
        if (host is not null) HostSpec.ValidateName(host, v, "binding:host_id");
        v.ThrowIfAny();
        return Enqueue(new Request(portId, host, requested, Operation.Allocate))!;
    }

    public async Task<IpAllocation?> MoveToHostAsync(string portId, string host, IPAddress current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var v = new Validator();
        v.Id(portId, "port_id");
        HostSpec.ValidateName(host, v, "binding:host_id");
        v.ThrowIfAny();
        return await Enqueue(new Request(portId, host, current, Operation.MoveToHost));
    }

    public Task ReleaseAsync(string portId, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return Enqueue(new Request(portId, null, address, Operation.Release));
    }

    public Task<IReadOnlyList<IpAllocation>> ListAsync()
    {
        IReadOnlyList<IpAllocation> list = _rows.Values
            .Where(r => r.State.Block is not null)
            .SelectMany(r => r.State.Allocations)
            .OrderBy(a => a.Address.ToNumber())
            .Select(ToResult)
            .ToList();
        return Task.FromResult(list);
    }

    public async Task PoolsChangedAsync()
    {
        await LoadPoolsAsync(CancellationToken.None);
        // The block size may only follow the pool while no block is live; the next round decides again.
        if (_allocator is not null && !_allocator.Blocks.Any()) _allocator = null;
    }

    private async Task LoadPoolsAsync(CancellationToken cancellationToken)
    {
        var pools = new List<IpPool>();
        await foreach (var (_, state) in catalog.ListAsync<ResourceState<IpPool>>(GrainTypes.IpPool, cancellationToken))
            if (state.Value is { } pool) pools.Add(pool);
        _pools = pools;
    }

    private Task<IpAllocation> Enqueue(Request request)
    {
        _pending.Enqueue(request);
        // The loop ends in the same turn as it finds the queue empty, so a completed task means nobody is draining it.
        if (_flush.IsCompleted) _flush = FlushAsync();
        return request.Done.Task;
    }

    private async Task FlushAsync()
    {
        while (_pending.Count > 0)
        {
            var batch = new List<Request>();
            while (batch.Count < options.Value.MaxBatchSize && _pending.TryDequeue(out var request)) batch.Add(request);
            try
            {
                await ProcessAsync(batch);
            }
            catch (Exception ex)
            {
                // Not a refusal but a fault (the subnet could not be read, or a bug): nobody's change was kept.
                LogRoundFailed(logger, ex, SubnetId, batch.Count);
                foreach (var request in batch) request.Done.TrySetException(ex);
            }
        }
    }

    private async Task ProcessAsync(List<Request> batch)
    {
        Telemetry.IpamBatches.Add(1);
        var subnet = (await GrainFactory.GetGrain<ISubnetGrain>(SubnetId).GetAsync())?.Value;
        var allocator = AllocatorFor(subnet);
        var now = time.GetUtcNow();

        allocator?.BeginBatch();
        try
        {
            foreach (var request in batch) Decide(request, allocator, subnet, now);
        }
        catch
        {
            // A fault inside the allocator: forget the working state, the next round rebuilds it from the rows.
            _allocator = null;
            throw;
        }
        var changed = allocator?.EndBatch() ?? new Dictionary<IpPrefix, IpamBlock?>();

        // One after another: a store with one writer at a time (SQLite) makes parallel writers wait on its lock
        // in millisecond sleeps, which costs more than the writes themselves.
        var results = new List<(IpPrefix Cidr, IpamBlock? Before, Exception? Error, ResourceChange? Notify)>();
        foreach (var (cidr, before) in changed)
            if (!ReferenceEquals(before, allocator!.Block(cidr))) results.Add(await WriteRowAsync(cidr, before, allocator.Block(cidr), now));

        var failed = new Dictionary<IpPrefix, Exception>();
        foreach (var (cidr, before, error, _) in results)
        {
            if (error is null) continue;
            allocator!.Restore(cidr, before);
            failed[cidr] = error;
        }
        ReportAddressUse(subnet, allocator, changed.Keys);
        // Different blocks, each change carrying its revision: the order they reach the calculator does not matter.
        await Task.WhenAll(results.Select(r => r.Notify).OfType<ResourceChange>().Select(NotifyCalculatorAsync));

        foreach (var request in batch)
        {
            var error = request.Error ?? (request.Block is { } block && failed.TryGetValue(block, out var e) ? e : null);
            Telemetry.IpamRequests.Add(1, new("op", request.Operation switch
            {
                Operation.Release => "release",
                Operation.MoveToHost => "move-to-host",
                _ => "allocate",
            }), new("outcome", error is null ? "ok" : "refused"));
            if (error is not null) request.Done.TrySetException(error);
            else request.Done.TrySetResult(request.Result!);
        }
    }

    private void Decide(Request request, SubnetAllocator? allocator, Subnet? subnet, DateTimeOffset now)
    {
        try
        {
            if (request.Operation == Operation.Release)
            {
                request.Block = allocator?.Release(request.PortId, request.Address!);
                request.Result = null;
                return;
            }
            if (subnet is null || allocator is null) throw new ResourceNotFoundException("subnet", SubnetId);
            if (request.Operation == Operation.MoveToHost)
            {
                // Nothing to move (or no room): the port keeps its address, and the caller is told so with null.
                var moved = allocator.MoveToHost(request.PortId, request.Host!, request.Address!, now);
                request.Block = moved?.Block;
                request.Result = moved is { } m ? ToResult(m.Allocation) : null;
                return;
            }
            var (allocation, block) = allocator.Allocate(request.PortId, request.Host, request.Address, now);
            request.Block = block;
            request.Result = ToResult(allocation);
        }
        catch (Exception ex) when (ex is InvalidInputException or ResourceConflictException or ResourceNotFoundException)
        {
            request.Error = ex;
        }
    }

    /// <summary>
    /// Stores one block's new state (a tombstone when released). Returns the error instead of throwing, so that the
    /// other rows of the round are judged on their own; on success the row becomes what is held in memory.
    /// </summary>
    private async Task<(IpPrefix Cidr, IpamBlock? Before, Exception? Error, ResourceChange? Notify)> WriteRowAsync(
        IpPrefix cidr, IpamBlock? before, IpamBlock? after, DateTimeOffset now)
    {
        var key = IpBlock.KeyFor(SubnetId, cidr);
        var current = _rows.GetValueOrDefault(cidr);
        var next = new BlockRow(new()
        {
            Block = after?.Block,
            Revision = (current?.State.Revision ?? 0) + 1,
            Allocations = after is null ? [] : [.. after.Allocations.Values],
            UpdatedAt = now,
        })
        {
            ETag = current?.ETag,
            RecordExists = current?.RecordExists ?? false,
        };
        try
        {
            await _storage.WriteStateAsync(StateName, RowId(key), next);
        }
        catch (Exception ex)
        {
            Telemetry.IpamBlockWrites.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
            LogWriteFailed(logger, ex, key);
            // Someone else wrote the row: this activation's view is stale. Let the next one read the store.
            if (ex is InconsistentStateException || ex.InnerException is InconsistentStateException) DeactivateOnIdle();
            return (cidr, before, ex, null);
        }
        Telemetry.IpamBlockWrites.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
        _rows[cidr] = next;
        var notify = Equals(current?.State.Block, next.State.Block) ? null
            : new ResourceChange(ResourceKind.IpBlock, key, next.State.Revision, next.State.Block) { WrittenAt = time.GetUtcNow() };
        return (cidr, before, null, notify);
    }

    /// <summary>
    /// Updates the address gauges (calico.ipam.addresses.*) after a round: recounts the blocks the round changed, or
    /// every block when the allocator is a new one (a new activation, or the subnet's layout changed). A subnet that
    /// no longer exists (its leftovers are being released) is not reported.
    /// </summary>
    private void ReportAddressUse(Subnet? subnet, SubnetAllocator? allocator, IEnumerable<IpPrefix> changed)
    {
        if (subnet is null || allocator is null)
        {
            Telemetry.SubnetAddressesGone(SubnetId);
            _countedFor = null;
            return;
        }
        var layout = allocator.Layout;
        if (!ReferenceEquals(allocator, _countedFor))
        {
            _automaticAllocated.Clear();
            _countedFor = allocator;
            changed = [.. allocator.Blocks.Select(b => b.Block.Cidr)];
        }
        foreach (var cidr in changed)
        {
            if (allocator.Block(cidr) is not { } block) _automaticAllocated.Remove(cidr);
            else _automaticAllocated[cidr] = block.Allocations.Keys.Count(offset => layout.IsAutomatic(cidr.First() + (UInt128)offset));
        }
        Telemetry.SubnetAddressUse(SubnetId, layout.Subnet.Cidr.ToString(), (double)layout.AutomaticCapacity, _automaticAllocated.Values.Sum());
    }

    /// <summary>Before the callers are answered, so the calculator knows a block before the ports in it are written.</summary>
    private Task NotifyCalculatorAsync(ResourceChange change) =>
        CalculatorShards.NotifyAllAsync(GrainFactory, ServiceProvider, change, logger);

    /// <summary>
    /// The allocator for the subnet as it is now. The block length is that of the live blocks; with none, the most
    /// specific IP pool containing the subnet's CIDR decides (else /26, /122), never longer than the subnet.
    /// A subnet that no longer exists keeps its last allocator (or one over its rows), so its leftovers can be released.
    /// </summary>
    private SubnetAllocator? AllocatorFor(Subnet? subnet)
    {
        var max = options.Value.MaxBlocksPerHost;
        var live = _rows.Values.Select(r => r.State.Block).Where(b => b is not null).Select(b => b!).ToList();
        if (subnet is null)
        {
            if (_allocator is null && live.Count > 0)
            {
                // Leftovers of a deleted subnet: a layout over the whole family, only used to release.
                var family = live[0].Cidr;
                var anything = new Subnet(SubnetId, "-", "", "", new IpPrefix(IpPrefix.Mask(family.Address, 0), 0), null,
                    ValueList<IPAddress>.Empty, ValueList<HostRoute>.Empty, ValueList<AllocationPool>.Empty, false);
                _allocator = new SubnetAllocator(new SubnetLayout(anything, family.Length), max, LiveBlocks());
            }
            return _allocator;
        }

        var pool = IpPools.For(_pools, subnet);
        var length = live.Count > 0 ? live[0].Cidr.Length : IpPools.BlockLength(pool, subnet);
        if (_allocator is null || _allocator.Layout.BlockLength != length || _allocator.Layout.Subnet.Cidr != subnet.Cidr)
            _allocator = new SubnetAllocator(new SubnetLayout(subnet, length), max, LiveBlocks());
        _allocator.MaxBlocksPerHost = max;
        _allocator.Configure(subnet, pool is { Disabled: true } ? $"its IP pool {pool.Name} is disabled" : null);
        return _allocator;
    }

    private IEnumerable<IpamBlock> LiveBlocks() =>
        _rows.Values.Where(r => r.State.Block is not null).Select(r => new IpamBlock(r.State.Block!,
            r.State.Allocations.ToImmutableSortedDictionary(
                a => (int)(a.Address.ToNumber() - r.State.Block!.Cidr.First()), a => a)));

    private IpAllocation ToResult(IpBlockAllocation a) => new(SubnetId, a.Address, a.PortId, a.Host, a.AllocatedAt);

    /// <summary>One block's row as read or written, with the ETag the next write must present.</summary>
    private sealed class BlockRow(IpBlockState? state = null) : IGrainState<IpBlockState>
    {
        private IpBlockState _state = state ?? new();

        [System.Diagnostics.CodeAnalysis.AllowNull]
        public IpBlockState State { get => _state; set => _state = value ?? new(); }

        public string? ETag { get; set; }

        public bool RecordExists { get; set; }
    }

    private enum Operation { Allocate, Release, MoveToHost }

    private sealed record Request(string PortId, string? Host, IPAddress? Address, Operation Operation)
    {
        public TaskCompletionSource<IpAllocation> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The block the request's address is in; its callers share that row's fate.</summary>
        public IpPrefix? Block { get; set; }

        public IpAllocation? Result { get; set; }

        public Exception? Error { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not store IP block {Key}; its requests fail and memory keeps what is stored")]
    private static partial void LogWriteFailed(ILogger logger, Exception ex, string key);

    [LoggerMessage(Level = LogLevel.Error, Message = "An IPAM round of subnet {Subnet} failed; none of its {Count} requests was kept")]
    private static partial void LogRoundFailed(ILogger logger, Exception ex, string subnet, int count);

}
