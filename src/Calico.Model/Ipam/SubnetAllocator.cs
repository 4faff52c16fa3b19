using System.Net;
using Calico.Model.Net;
using Calico.Model.Resources;
using Calico.Model.Validation;

namespace Calico.Model.Ipam;

/// <summary>
/// The pure allocation logic of one subnet: which block and address a port gets, when a host claims a block,
/// when it borrows, and when an empty block is released. No I/O and no clock (the caller passes the time).
/// Single-threaded and mutable; the owner groups requests into batches (<see cref="BeginBatch"/>,
/// <see cref="EndBatch"/>) and puts a block back (<see cref="Restore"/>) when storing it failed.
/// Every refusal is thrown before anything changes.
/// </summary>
public sealed class SubnetAllocator
{
    /// <summary>Conflict kinds, so that a caller can tell "this address is taken" from "nothing is left".</summary>
    public const string AddressKind = "IP address";
    public const string SubnetKind = "subnet";

    private readonly SortedDictionary<UInt128, IpamBlock> _blocks = [];
    private readonly Dictionary<UInt128, int> _free = [];  // automatic addresses not allocated, per block
    private readonly Dictionary<string, SortedSet<UInt128>> _blocksByHost = new(StringComparer.Ordinal); // "" = no affinity
    private readonly Dictionary<string, SortedSet<UInt128>> _addressesByPort = new(StringComparer.Ordinal);
    private readonly Dictionary<UInt128, IpamBlock?> _touched = [];
    private SubnetLayout _layout;
    private string? _automaticRefusal;

    /// <param name="layout">The subnet and block length; every block given must have that length.</param>
    /// <param name="maxBlocksPerHost">How many blocks one host may claim; beyond it the host borrows.</param>
    /// <param name="blocks">The subnet's live blocks as stored.</param>
    public SubnetAllocator(SubnetLayout layout, int maxBlocksPerHost, IEnumerable<IpamBlock> blocks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBlocksPerHost);
        _layout = layout;
        MaxBlocksPerHost = maxBlocksPerHost;
        foreach (var block in blocks)
        {
            if (block.Block.Cidr.Length != layout.BlockLength || !layout.Subnet.Cidr.Contains(block.Block.Cidr))
                throw new ArgumentException($"block {block.Block.Cidr} is not a /{layout.BlockLength} of {layout.Subnet.Cidr}", nameof(blocks));
            Put(block.Block.Cidr.First(), block);
        }
    }

    public SubnetLayout Layout => _layout;

    public int MaxBlocksPerHost { get; set; }

    public IEnumerable<IpamBlock> Blocks => _blocks.Values;

    public IpamBlock? Block(IpPrefix cidr) => _blocks.GetValueOrDefault(cidr.First());

    public int BlockCountOf(string? host) => _blocksByHost.TryGetValue(host ?? "", out var set) ? set.Count : 0;

    /// <summary>
    /// Takes the subnet as it is now (allocation pools and gateway may have changed) and whether automatic
    /// allocation is refused (a disabled pool: the reason, or null).
    /// </summary>
    public void Configure(Subnet subnet, string? automaticRefusal)
    {
        _automaticRefusal = automaticRefusal;
        if (_layout.SameAs(subnet)) return;
        _layout = new SubnetLayout(subnet, _layout.BlockLength);
        foreach (var (start, block) in _blocks) _free[start] = CountFree(start, block);
    }

    /// <summary>Starts recording which blocks change, and what each held before.</summary>
    public void BeginBatch() => _touched.Clear();

    /// <summary>The blocks changed since <see cref="BeginBatch"/>: CIDR → what it held before (null: did not exist).</summary>
    public IReadOnlyDictionary<IpPrefix, IpamBlock?> EndBatch()
    {
        var result = _touched.ToDictionary(kv => _layout.Prefix(kv.Key), kv => kv.Value);
        _touched.Clear();
        return result;
    }

    /// <summary>Puts a block back as it was (null: not there), e.g. because storing its change failed.</summary>
    public void Restore(IpPrefix cidr, IpamBlock? previous)
    {
        var start = cidr.First();
        if (_blocks.TryGetValue(start, out var current)) Remove(start, current);
        if (previous is not null) Put(start, previous);
    }

    /// <summary>
    /// Gives the port an address: <paramref name="requested"/> if given, otherwise the lowest free one from the
    /// host's own blocks, a block it claims, or (at its limit, or with every block claimed) one it borrows from
    /// another block, or, with every block full, from a new block without affinity.
    /// Idempotent: a port that holds the requested address, or already got an automatic one, gets it again.
    /// Returns the allocation and the block it is in.
    /// </summary>
    public (IpBlockAllocation Allocation, IpPrefix Block) Allocate(string portId, string? host, IPAddress? requested, DateTimeOffset now)
    {
        var subnet = _layout.Subnet;
        if (requested is not null)
        {
            if (!subnet.IsAssignable(requested, out var reason)) throw new InvalidInputException("fixed_ips", reason);
            var address = requested.ToNumber();
            var start = _layout.BlockOf(address);
            if (_blocks.TryGetValue(start, out var existing) && existing.Allocations.TryGetValue(Offset(start, address), out var holder))
            {
                if (holder.PortId == portId) return (holder, existing.Block.Cidr);
                throw new ResourceConflictException(AddressKind, requested.ToString(), $"is already allocated in subnet {subnet.Id}");
            }
            var block = existing ?? ClaimBlock(start, CanClaim(host) ? host : null);
            return Assign(start, block, address, portId, host, automatic: false, now);
        }

        if (AutomaticOf(portId) is { } held) return held;
        if (_automaticRefusal is not null) throw new ResourceConflictException(SubnetKind, subnet.Id, _automaticRefusal);
        var chosen = FirstWithFree(_blocksByHost.GetValueOrDefault(host ?? ""))
                     ?? (CanClaim(host) ? ClaimNext(host) : null)
                     ?? FirstWithFree(_blocks.Keys)
                     // A host at its limit with every block full: a block of no host's, so the subnet never refuses
                     // while it has room (its addresses are borrowed, each routed on its own).
                     ?? ClaimNext(null)
                     ?? throw new ResourceConflictException(SubnetKind, subnet.Id, $"has no free IP address left in {subnet.Cidr}");
        return Assign(chosen, _blocks[chosen], FirstFree(chosen), portId, host, automatic: true, now);
    }

    /// <summary>
    /// For a port being bound to <paramref name="host"/> for the first time: a new address for it in the host's own
    /// blocks (or a block the host claims, within <see cref="MaxBlocksPerHost"/>), to replace <paramref name="current"/>,
    /// which it keeps until the caller releases it. Only an address IPAM chose while the port had no host is moved: an
    /// address asked for explicitly, one chosen for a host, one already in a block of <paramref name="host"/>, or one
    /// the port does not hold here, stays (null). Never borrows from another host's block and never takes a block
    /// without affinity: with no room (or automatic allocation disabled) the port keeps its address (null).
    /// Idempotent: a port that already holds an automatic address in a block of <paramref name="host"/> besides
    /// <paramref name="current"/> (a retried bind) gets that one again, so a retry never takes a second address.
    /// </summary>
    public (IpBlockAllocation Allocation, IpPrefix Block)? MoveToHost(string portId, string host, IPAddress current, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        if (!TryFind(portId, current, out _, out var block, out var held)) return null;
        if (!held.Automatic || held.Host is not null || block.Block.AffinityHost == host) return null;
        var hostBlocks = _blocksByHost.GetValueOrDefault(host);
        foreach (var address in _addressesByPort[portId])
        {
            var start = _layout.BlockOf(address);
            var allocation = _blocks[start].Allocations[Offset(start, address)];
            if (allocation.Automatic && hostBlocks?.Contains(start) == true) return (allocation, _blocks[start].Block.Cidr);
        }
        if (_automaticRefusal is not null) return null;
        var chosen = FirstWithFree(hostBlocks) ?? (CanClaim(host) ? ClaimNext(host) : null);
        if (chosen is not { } target) return null;
        return Assign(target, _blocks[target], FirstFree(target), portId, host, automatic: true, now);
    }

    /// <summary>Where the port's allocation of <paramref name="address"/> is: false when the port does not hold it here.</summary>
    private bool TryFind(string portId, IPAddress address, out UInt128 start, out IpamBlock block, out IpBlockAllocation allocation)
    {
        start = default;
        block = null!;
        allocation = null!;
        if (address.AddressFamily != _layout.Family) return false;
        var number = address.ToNumber();
        if (!_layout.Contains(number)) return false;
        start = _layout.BlockOf(number);
        return _blocks.TryGetValue(start, out block!) && block.Allocations.TryGetValue(Offset(start, number), out allocation!)
               && allocation.PortId == portId;
    }

    /// <summary>
    /// Frees the port's address; a block left empty is released. Returns the block that changed, or null when the
    /// port did not hold the address (a no-op, so that a retried release is harmless).
    /// </summary>
    public IpPrefix? Release(string portId, IPAddress address)
    {
        if (!TryFind(portId, address, out var start, out var block, out _)) return null;
        var number = address.ToNumber();
        var offset = Offset(start, number);

        Touch(start);
        var next = block with { Allocations = block.Allocations.Remove(offset) };
        if (next.IsEmpty)
        {
            Remove(start, block);
            return block.Block.Cidr;
        }
        _blocks[start] = next;
        if (_layout.IsAutomatic(number)) _free[start]++;
        Unbucket(_addressesByPort, portId, number);
        return block.Block.Cidr;
    }

    /// <summary>What the port was given automatically here, if anything (its lowest such address).</summary>
    private (IpBlockAllocation, IpPrefix)? AutomaticOf(string portId)
    {
        if (!_addressesByPort.TryGetValue(portId, out var addresses)) return null;
        foreach (var address in addresses)
        {
            var start = _layout.BlockOf(address);
            var allocation = _blocks[start].Allocations[Offset(start, address)];
            if (allocation.Automatic) return (allocation, _blocks[start].Block.Cidr);
        }
        return null;
    }

    private bool CanClaim(string? host) => host is null || BlockCountOf(host) < MaxBlocksPerHost;

    private UInt128? FirstWithFree(IEnumerable<UInt128>? starts)
    {
        foreach (var start in starts ?? [])
            if (_free[start] > 0) return start;
        return null;
    }

    /// <summary>Claims the lowest unclaimed block that has addresses for automatic allocation.</summary>
    private UInt128? ClaimNext(string? host)
    {
        foreach (var start in _layout.CandidateBlocks())
        {
            if (_blocks.ContainsKey(start) || _layout.CountAutomatic(start) == 0) continue;
            ClaimBlock(start, host);
            return start;
        }
        return null;
    }

    private IpamBlock ClaimBlock(UInt128 start, string? host)
    {
        Touch(start);
        var block = IpamBlock.Claim(new IpBlock(_layout.Prefix(start), _layout.Subnet.Id, host));
        Put(start, block);
        return block;
    }

    private UInt128 FirstFree(UInt128 start)
    {
        var allocations = _blocks[start].Allocations;
        for (var offset = 0; offset < _layout.BlockSize; offset++)
        {
            var address = start + (UInt128)offset;
            if (!allocations.ContainsKey(offset) && _layout.IsAutomatic(address)) return address;
        }
        throw new InvalidOperationException($"block {_layout.Prefix(start)} was counted as having a free address but has none");
    }

    private (IpBlockAllocation, IpPrefix) Assign(UInt128 start, IpamBlock block, UInt128 address, string portId, string? host, bool automatic, DateTimeOffset now)
    {
        Touch(start);
        var allocation = new IpBlockAllocation(_layout.Address(address), portId, host, automatic, now);
        _blocks[start] = block with { Allocations = block.Allocations.Add(Offset(start, address), allocation) };
        if (_layout.IsAutomatic(address)) _free[start]--;
        Bucket(_addressesByPort, portId).Add(address);
        return (allocation, block.Block.Cidr);
    }

    private void Touch(UInt128 start) => _touched.TryAdd(start, _blocks.GetValueOrDefault(start));

    private static int Offset(UInt128 start, UInt128 address) => (int)(address - start);

    private int CountFree(UInt128 start, IpamBlock block) =>
        _layout.CountAutomatic(start) - block.Allocations.Keys.Count(o => _layout.IsAutomatic(start + (UInt128)o));

    /// <summary>Adds a block with its indexes.</summary>
    private void Put(UInt128 start, IpamBlock block)
    {
        _blocks.Add(start, block);
        _free[start] = CountFree(start, block);
        Bucket(_blocksByHost, block.Block.AffinityHost ?? "").Add(start);
        foreach (var allocation in block.Allocations.Values)
            Bucket(_addressesByPort, allocation.PortId).Add(allocation.Address.ToNumber());
    }

    /// <summary>Removes a block and its indexes.</summary>
    private void Remove(UInt128 start, IpamBlock block)
    {
        _blocks.Remove(start);
        _free.Remove(start);
        Unbucket(_blocksByHost, block.Block.AffinityHost ?? "", start);
        foreach (var allocation in block.Allocations.Values)
            Unbucket(_addressesByPort, allocation.PortId, allocation.Address.ToNumber());
    }

    private static SortedSet<UInt128> Bucket(Dictionary<string, SortedSet<UInt128>> index, string key)
    {
        if (!index.TryGetValue(key, out var set)) index[key] = set = [];
        return set;
    }

    private static void Unbucket(Dictionary<string, SortedSet<UInt128>> index, string key, UInt128 value)
    {
        if (index.TryGetValue(key, out var set) && set.Remove(value) && set.Count == 0) index.Remove(key);
    }
}
