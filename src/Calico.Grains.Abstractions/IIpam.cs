using System.Net;
using Calico.Model.Ipam;
using Calico.Model.Validation;

namespace Calico.Grains;

/// <summary>Why an address could not be had; the API maps these to 409 (taken, exhausted) or 400 (invalid).</summary>
public enum IpAllocationFailure { None, Taken, OutsideSubnet, Reserved, Exhausted }

public static class IpAllocationFailures
{
    /// <summary>
    /// Classifies what <see cref="ISubnetIpamGrain.AllocateAsync"/> threw: a conflict on kind "IP address" is
    /// <see cref="IpAllocationFailure.Taken"/>, on kind "subnet" <see cref="IpAllocationFailure.Exhausted"/> (nothing
    /// left, or the subnet's pool is disabled); an invalid "fixed_ips" is outside the subnet or a reserved address.
    /// </summary>
    public static IpAllocationFailure Of(Exception exception) => exception switch
    {
        ResourceConflictException { Kind: SubnetAllocator.AddressKind } => IpAllocationFailure.Taken,
        ResourceConflictException { Kind: SubnetAllocator.SubnetKind } => IpAllocationFailure.Exhausted,
        InvalidInputException e when e.Errors.Any(r => r.Reason.Contains(" is outside ", StringComparison.Ordinal)) => IpAllocationFailure.OutsideSubnet,
        InvalidInputException e when e.Errors.Any(r => r.Field == "fixed_ips") => IpAllocationFailure.Reserved,
        _ => IpAllocationFailure.None,
    };
}

/// <summary>One address given to one port (its handle), in one subnet.</summary>
[GenerateSerializer, Immutable]
public sealed record IpAllocation(
    [property: Id(0)] string SubnetId,
    [property: Id(1)] IPAddress Address,
    [property: Id(2)] string PortId,
    [property: Id(3)] string? Host,
    [property: Id(4)] DateTimeOffset AllocatedAt = default);

/// <summary>
/// IP address management for a Neutron subnet: addresses come from the subnet's allocation pools, through the
/// IP pool that the subnet's CIDR is, carved into blocks that hosts claim (affinity) so that routes aggregate per block.
/// Keyed by subnet id. Every method is idempotent per (port, address): a retried call returns the same answer.
/// A call returns only after the change it made is stored.
/// </summary>
public interface ISubnetIpamGrain : IGrainWithStringKey
{
    /// <summary>
    /// Gives <paramref name="portId"/> an address on <paramref name="host"/> (null: not bound yet): the
    /// <paramref name="requested"/> one, or the next free one, from the host's own blocks first. Refused with
    /// <see cref="ResourceConflictException"/> (taken, exhausted) or
    /// <see cref="InvalidInputException"/> naming field "fixed_ips" (outside the subnet,
    /// the gateway, network or broadcast address); <see cref="IpAllocationFailures.Of"/> tells which.
    /// <see cref="ResourceNotFoundException"/> when the subnet does not exist.
    /// Automatic allocation is idempotent per port: a port that already got an automatic address in this subnet
    /// gets the same one again (to hold a second, ask for it explicitly).
    /// </summary>
    Task<IpAllocation> AllocateAsync(string portId, string? host, IPAddress? requested);

    /// <summary>
    /// For the first bind of a port to <paramref name="host"/>: a new address in the host's own blocks (claiming a
    /// block for the host if it is under <c>Ipam:MaxBlocksPerHost</c> and the subnet has one free), to replace
    /// <paramref name="current"/>, so that other hosts route the port by the host's block rather than by a /32. The port
    /// holds both until the caller releases <paramref name="current"/> (after storing the port with the new one).
    /// Null, and nothing changes, when the address stays: it was asked for explicitly, chosen for a host, is already in
    /// one of the host's blocks, is not the port's here, or the host has no room (it never borrows from another host's
    /// block). Idempotent per port: a retried call gets the address the first one gave.
    /// <see cref="ResourceNotFoundException"/> when the subnet does not exist.
    /// </summary>
    Task<IpAllocation?> MoveToHostAsync(string portId, string host, IPAddress current);

    /// <summary>Releases the port's address; a no-op when it does not hold it.</summary>
    Task ReleaseAsync(string portId, IPAddress address);

    /// <summary>Every address allocated in the subnet.</summary>
    Task<IReadOnlyList<IpAllocation>> ListAsync();

    /// <summary>An IP pool was written: re-read the pools (block size, disabled). Called by the IP pool grains.</summary>
    Task PoolsChangedAsync();
}

/// <summary>What an audit found wrong with one address.</summary>
public enum IpamProblem
{
    /// <summary>Allocated to a port (or floating IP) that does not exist.</summary>
    LeakedPortMissing = 1,
    /// <summary>Allocated to a port (or floating IP) that exists but does not hold the address.</summary>
    LeakedNotHeld = 2,
    /// <summary>Held by more than one port or floating IP, or by another than the one it is allocated to.</summary>
    DoublyClaimed = 3,
    /// <summary>Held by a port or floating IP but free in IPAM: it could be given out again.</summary>
    NotAllocated = 4,
}

[GenerateSerializer, Immutable]
public sealed record IpamAuditRequest(
    [property: Id(0)] bool ReleaseLeaks,
    [property: Id(1)] TimeSpan? GracePeriod = null);

[GenerateSerializer, Immutable]
public sealed record IpamFinding(
    [property: Id(0)] IpamProblem Problem,
    [property: Id(1)] string SubnetId,
    [property: Id(2)] IPAddress Address,
    [property: Id(3)] string? AllocatedTo,
    [property: Id(4)] IReadOnlyList<string> HeldBy,
    [property: Id(5)] bool Released)
{
    public bool IsLeak => Problem is IpamProblem.LeakedPortMissing or IpamProblem.LeakedNotHeld;

    public override string ToString() =>
        $"{Problem} {SubnetId} {Address}: allocated to {AllocatedTo ?? "-"}, held by {(HeldBy.Count == 0 ? "-" : string.Join(",", HeldBy))}" +
        (Released ? " (released)" : "");
}

/// <summary>
/// The result of an audit. Leaks younger than the grace period are not judged (an API call may be between
/// allocating and writing its port); they are only counted. Holders are ports and floating IPs (whose
/// allocations carry the floating IP's id as their handle).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record IpamAuditReport(
    [property: Id(0)] int Subnets,
    [property: Id(1)] int Allocations,
    [property: Id(2)] int Ports,
    [property: Id(3)] IReadOnlyList<IpamFinding> Findings,
    [property: Id(4)] int TooRecentToJudge,
    [property: Id(5)] TimeSpan GracePeriod,
    [property: Id(6)] int FloatingIps = 0)
{
    /// <summary>Problems the audit did not (or could not) repair.</summary>
    public IEnumerable<IpamFinding> Remaining => Findings.Where(f => !f.Released);
}

/// <summary>
/// Cross-checks IPAM against the ports (key 0): finds leaked and doubly-claimed addresses and can release leaks.
/// Holds no state of its own.
/// </summary>
public interface IIpamAuditGrain : IGrainWithIntegerKey
{
    Task<IpamAuditReport> AuditAsync(IpamAuditRequest request);
}
