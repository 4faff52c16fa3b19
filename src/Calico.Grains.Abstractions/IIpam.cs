using System.Net;

namespace Calico.Grains;

/// <summary>Why an address could not be had; the API maps these to 409 (taken, exhausted) or 400 (invalid).</summary>
public enum IpAllocationFailure { None, Taken, OutsideSubnet, Reserved, Exhausted }

/// <summary>One address given to one port (its handle), in one subnet.</summary>
[GenerateSerializer, Immutable]
public sealed record IpAllocation(
    [property: Id(0)] string SubnetId,
    [property: Id(1)] IPAddress Address,
    [property: Id(2)] string PortId,
    [property: Id(3)] string? Host);

/// <summary>
/// IP address management for a Neutron subnet: addresses come from the subnet's allocation pools, through the
/// IP pool that the subnet's CIDR is, carved into blocks that hosts claim (affinity) so that routes aggregate per block.
/// Keyed by subnet id. Every method is idempotent per (port, address): a retried call returns the same answer.
/// </summary>
public interface ISubnetIpamGrain : IGrainWithStringKey
{
    /// <summary>
    /// Gives <paramref name="portId"/> an address on <paramref name="host"/> (null: not bound yet): the
    /// <paramref name="requested"/> one, or the next free one, from the host's own blocks first. Refused with
    /// <see cref="Calico.Model.Validation.ResourceConflictException"/> (taken, exhausted) or
    /// <see cref="Calico.Model.Validation.InvalidInputException"/> naming field "fixed_ips" (outside the subnet,
    /// the gateway, network or broadcast address, outside the allocation pools when not requested explicitly).
    /// </summary>
    Task<IpAllocation> AllocateAsync(string portId, string? host, IPAddress? requested);

    /// <summary>Releases the port's address; a no-op when it does not hold it.</summary>
    Task ReleaseAsync(string portId, IPAddress address);

    /// <summary>Every address allocated in the subnet.</summary>
    Task<IReadOnlyList<IpAllocation>> ListAsync();
}
