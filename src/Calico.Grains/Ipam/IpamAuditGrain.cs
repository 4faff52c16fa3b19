using System.Net;
using Calico.Datastore;
using Calico.Grains.Resources;
using Calico.Model.Ipam;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calico.Grains.Ipam;

/// <summary>
/// Cross-checks the IPAM rows against what holds addresses: ports (their fixed IPs) and floating IPs (their address,
/// allocated under the floating IP's id in the subnet of its network that contains it). An address allocated to a
/// holder that does not hold it (or does not exist) is leaked; an address held twice, or by another than the one it
/// is allocated to, is doubly claimed; an address held but free in IPAM could be given out again. Owns nothing: it
/// reads the store, confirms each finding with the grains that own the facts, and releases leaks through the
/// subnet's IPAM grain.
/// </summary>
[GrainType(GrainTypes.IpamAudit)]
public sealed partial class IpamAuditGrain(
    IGrainStateCatalog catalog,
    IOptions<IpamOptions> options,
    TimeProvider time,
    ILogger<IpamAuditGrain> logger) : Grain, IIpamAuditGrain
{
    private readonly record struct Slot(string SubnetId, IPAddress Address);

    public async Task<IpamAuditReport> AuditAsync(IpamAuditRequest request)
    {
        var grace = request.GracePeriod ?? options.Value.LeakGracePeriod;
        // Ports first: a port's address is allocated before the port is written, so it is in the rows read after.
        var ports = new Dictionary<string, WorkloadEndpoint>(StringComparer.Ordinal);
        await foreach (var (id, state) in catalog.ListAsync<ResourceState<WorkloadEndpoint>>(GrainTypes.Endpoint))
            if (state.Value is { } port) ports[id] = port;
        var floatingIps = new Dictionary<string, FloatingIp>(StringComparer.Ordinal);
        await foreach (var (id, state) in catalog.ListAsync<ResourceState<FloatingIp>>(GrainTypes.FloatingIp))
            if (state.Value is { } fip) floatingIps[id] = fip;
        var subnetList = new List<Subnet>();
        await foreach (var (_, state) in catalog.ListAsync<ResourceState<Subnet>>(GrainTypes.Subnet))
            if (state.Value is { } subnet) subnetList.Add(subnet);
        var allocations = new Dictionary<Slot, IpBlockAllocation>();
        await foreach (var (key, state) in catalog.ListAsync<IpBlockState>(GrainTypes.IpBlock))
        {
            if (state.Block is null || !IpBlock.TryParseKey(key, out var subnetId, out _)) continue;
            foreach (var allocation in state.Allocations) allocations[new Slot(subnetId, allocation.Address)] = allocation;
        }

        var now = time.GetUtcNow();
        var suspects = Judge(allocations, Holders(ports.Values, floatingIps.Values, subnetList),
            id => ports.ContainsKey(id) || floatingIps.ContainsKey(id), now, grace, out var tooRecent);

        // Confirm with fresh reads from the owners, so a port or allocation that changed between the two lists is not reported.
        var freshAllocations = new Dictionary<Slot, IpBlockAllocation>();
        var freshPorts = new Dictionary<string, WorkloadEndpoint>(StringComparer.Ordinal);
        var freshFloatingIps = new Dictionary<string, FloatingIp>(StringComparer.Ordinal);
        foreach (var subnetId in suspects.Select(f => f.SubnetId).Distinct(StringComparer.Ordinal))
            foreach (var a in await GrainFactory.GetGrain<ISubnetIpamGrain>(subnetId).ListAsync())
                freshAllocations[new Slot(subnetId, a.Address)] = new IpBlockAllocation(a.Address, a.PortId, a.Host, false, a.AllocatedAt);
        foreach (var id in suspects.SelectMany(f => f.HeldBy.Append(f.AllocatedTo)).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            if ((await GrainFactory.GetGrain<IEndpointGrain>(id).GetAsync())?.Value is { } port) freshPorts[id] = port;
            else if ((await GrainFactory.GetGrain<IFloatingIpGrain>(id).GetAsync())?.Value is { } fip) freshFloatingIps[id] = fip;
        }
        var slots = suspects.Select(f => new Slot(f.SubnetId, f.Address)).ToHashSet();
        var confirmed = Judge(
            freshAllocations.Where(kv => slots.Contains(kv.Key)).ToDictionary(),
            Holders(freshPorts.Values, freshFloatingIps.Values, subnetList).Where(kv => slots.Contains(kv.Key)).ToDictionary(),
            id => freshPorts.ContainsKey(id) || freshFloatingIps.ContainsKey(id), now, grace, out _);

        var findings = new List<IpamFinding>();
        foreach (var finding in confirmed)
        {
            var released = false;
            if (request.ReleaseLeaks && finding.IsLeak)
            {
                try
                {
                    await GrainFactory.GetGrain<ISubnetIpamGrain>(finding.SubnetId).ReleaseAsync(finding.AllocatedTo!, finding.Address);
                    released = true;
                    LogReleased(logger, finding.SubnetId, finding.Address.ToString(), finding.AllocatedTo!);
                }
                catch (Exception ex)
                {
                    LogReleaseFailed(logger, ex, finding.SubnetId, finding.Address.ToString());
                }
            }
            findings.Add(finding with { Released = released });
        }
        var subnets = allocations.Keys.Select(s => s.SubnetId)
            .Concat(ports.Values.SelectMany(p => p.FixedIps).Select(f => f.SubnetId)).Distinct(StringComparer.Ordinal).Count();
        return new IpamAuditReport(subnets, allocations.Count, ports.Count, findings, tooRecent, grace, floatingIps.Count);
    }

    /// <summary>Who holds each (subnet, address): ports by their fixed IPs, floating IPs in the subnets of their network.</summary>
    private static Dictionary<Slot, List<string>> Holders(
        IEnumerable<WorkloadEndpoint> ports, IEnumerable<FloatingIp> floatingIps, IReadOnlyList<Subnet> subnets)
    {
        var holders = new Dictionary<Slot, List<string>>();
        void Add(string subnetId, IPAddress address, string holder)
        {
            var slot = new Slot(subnetId, address);
            if (!holders.TryGetValue(slot, out var list)) holders[slot] = list = [];
            list.Add(holder);
        }
        // A router interface holds its subnet's gateway address, which IPAM never hands out (it is reserved for the
        // subnet's gateway), so it has no allocation to compare with.
        var gateways = subnets.Where(s => s.GatewayIp is not null).Select(s => new Slot(s.Id, s.GatewayIp!)).ToHashSet();
        foreach (var port in ports)
            foreach (var fixedIp in port.FixedIps)
                if (port.DeviceOwner != Router.InterfaceOwner || !gateways.Contains(new Slot(fixedIp.SubnetId, fixedIp.Address)))
                    Add(fixedIp.SubnetId, fixedIp.Address, port.Id);
        foreach (var fip in floatingIps)
            foreach (var subnet in subnets.Where(s => s.NetworkId == fip.FloatingNetworkId && s.Cidr.Contains(fip.FloatingIpAddress)))
                Add(subnet.Id, fip.FloatingIpAddress, fip.Id);
        foreach (var list in holders.Values) list.Sort(StringComparer.Ordinal);
        return holders;
    }

    /// <summary>Compares allocations with holders, slot by slot, in a fixed order.</summary>
    private static List<IpamFinding> Judge(
        Dictionary<Slot, IpBlockAllocation> allocations, Dictionary<Slot, List<string>> holders,
        Func<string, bool> portExists, DateTimeOffset now, TimeSpan grace, out int tooRecent)
    {
        tooRecent = 0;
        var findings = new List<IpamFinding>();
        var slots = allocations.Keys.Union(holders.Keys)
            .OrderBy(s => s.SubnetId, StringComparer.Ordinal).ThenBy(s => s.Address.GetAddressBytes(), BytesComparer.Instance);
        foreach (var slot in slots)
        {
            var allocation = allocations.GetValueOrDefault(slot);
            var heldBy = holders.GetValueOrDefault(slot) ?? [];
            IpamProblem? problem = (allocation, heldBy.Count) switch
            {
                (null, > 1) => IpamProblem.DoublyClaimed,
                (null, _) => IpamProblem.NotAllocated,
                (_, 0) when now - allocation.AllocatedAt < grace => null,
                (_, 0) => portExists(allocation.PortId) ? IpamProblem.LeakedNotHeld : IpamProblem.LeakedPortMissing,
                (_, 1) when heldBy[0] == allocation.PortId => null,
                _ => IpamProblem.DoublyClaimed,
            };
            if (allocation is not null && heldBy.Count == 0 && problem is null) tooRecent++;
            if (problem is { } p) findings.Add(new IpamFinding(p, slot.SubnetId, slot.Address, allocation?.PortId, heldBy, false));
        }
        return findings;
    }

    private sealed class BytesComparer : IComparer<byte[]>
    {
        public static readonly BytesComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x!.Length != y!.Length ? x.Length.CompareTo(y.Length) : x.AsSpan().SequenceCompareTo(y);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "IPAM audit released leaked address {Address} of subnet {Subnet} (allocated to port {Port})")]
    private static partial void LogReleased(ILogger logger, string subnet, string address, string port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "IPAM audit could not release {Address} of subnet {Subnet}")]
    private static partial void LogReleaseFailed(ILogger logger, Exception ex, string subnet, string address);
}
