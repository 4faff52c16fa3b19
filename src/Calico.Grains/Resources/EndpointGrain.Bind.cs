using System.Net;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Calico.Model.Validation;
using Microsoft.Extensions.Logging;

namespace Calico.Grains.Resources;

/// <summary>
/// A port's first bind keeps route aggregation. Nova creates a port unbound (its address comes from a block of no
/// host's) and binds it later; left there, every other host would need a /32 route for it. So the first bind moves
/// each address IPAM chose while the port had no host into the new host's blocks: allocate the new address, store the
/// port with it (and the binding), then release the old one. All of it happens in one turn of this grain (not
/// reentrant), so no other write of the port interleaves, and a crash in between leaks nothing for good: an address
/// allocated but not stored, or released too late, is held by no port and the IPAM audit releases it after
/// Ipam:LeakGracePeriod; a retried bind gets the same new address again (the move is idempotent per port).
/// </summary>
public sealed partial class EndpointGrain
{
    public async Task<Versioned<WorkloadEndpoint>> BindAsync(WorkloadEndpoint value, long expectedRevision)
    {
        Check(value);
        CheckRevision(expectedRevision, mustExist: true);
        var current = State.Value!;
        // Only unbound → bound, with the addresses as they are: a host change of a bound port is a migration and
        // keeps its addresses; a request that names fixed_ips gets what it named.
        if (!_ipamOptions.Value.ReassignOnFirstBind || current.Host is not null || value.Host is not { } host
            || !value.FixedIps.Equals(current.FixedIps))
            return await PutAsync(value, expectedRevision);
        ValidateChange(current, value);

        var moves = await MoveToHostAsync(current, host);
        if (moves.Count == 0) return await PutAsync(value, expectedRevision);
        var next = value with
        {
            FixedIps = value.FixedIps.Select(f => moves.TryGetValue(f, out var moved) ? moved : f).ToValueList(),
        };
        Versioned<WorkloadEndpoint> stored;
        try
        {
            stored = (await WriteAsync(next))!;
        }
        catch
        {
            // Not stored: the new addresses are nobody's. (Had this release failed too, the audit would find them.)
            await ReleaseAsync(moves.Values);
            throw;
        }
        await ReleaseAsync(moves.Keys);
        return stored;
    }

    /// <summary>
    /// Old address → new one, for each address of the port that its subnet's IPAM moves into the host's blocks.
    /// Addresses a floating IP points at stay (the floating IP names the fixed address). A subnet that cannot
    /// answer keeps its address: the bind matters more than its aggregation.
    /// </summary>
    private async Task<Dictionary<FixedIp, FixedIp>> MoveToHostAsync(WorkloadEndpoint port, string host)
    {
        var moves = new Dictionary<FixedIp, FixedIp>();
        if (port.FixedIps.Count == 0) return moves;
        var floating = await FloatingAddressesAsync(port.Id);
        foreach (var fixedIp in port.FixedIps)
        {
            if (floating.Contains(fixedIp.Address)) continue;
            try
            {
                var moved = await GrainFactory.GetGrain<ISubnetIpamGrain>(fixedIp.SubnetId).MoveToHostAsync(port.Id, host, fixedIp.Address);
                if (moved is not null) moves[fixedIp] = new FixedIp(fixedIp.SubnetId, moved.Address);
            }
            catch (Exception ex)
            {
                LogMoveFailed(Logger, ex, fixedIp.Address.ToString(), fixedIp.SubnetId, port.Id, host);
            }
        }
        return moves;
    }

    /// <summary>
    /// The port's fixed addresses that floating IPs are associated with. A floating IP associated after this read
    /// checks, once stored, that the port still holds its fixed address (and undoes itself if not); reads of this
    /// port wait for this turn, so of the two, one always sees the other.
    /// </summary>
    private async Task<HashSet<IPAddress>> FloatingAddressesAsync(string portId)
    {
        var addresses = new HashSet<IPAddress>();
        await foreach (var (_, state) in _catalog.ListAsync<ResourceState<FloatingIp>>(GrainTypes.FloatingIp))
            if (state.Value is { PortId: { } id, FixedIpAddress: { } address } && id == portId) addresses.Add(address);
        return addresses;
    }

    /// <summary>Best effort: what cannot be released now is held by no port, and the IPAM audit releases it later.</summary>
    private async Task ReleaseAsync(IEnumerable<FixedIp> addresses)
    {
        foreach (var a in addresses)
        {
            try
            {
                await GrainFactory.GetGrain<ISubnetIpamGrain>(a.SubnetId).ReleaseAsync(Key, a.Address);
            }
            catch (Exception ex)
            {
                LogReleaseFailed(Logger, ex, a.Address.ToString(), a.SubnetId, Key);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not move {Address} of subnet {Subnet} (port {Port}) into host {Host}'s blocks; the port keeps it")]
    private static partial void LogMoveFailed(ILogger logger, Exception ex, string address, string subnet, string port, string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release {Address} of subnet {Subnet} held for {Port}; the IPAM audit will find it")]
    private static partial void LogReleaseFailed(ILogger logger, Exception ex, string address, string subnet, string port);
}
