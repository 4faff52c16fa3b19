using System.Net;
using Calico.Grains.Ipam;
using Calico.Grains.Resources;
using Calico.Model.Net;
using Calico.Model.Validation;
using Microsoft.Extensions.DependencyInjection;

namespace Calico.Grains.Tests;

/// <summary>No double allocation, ever: many silos allocating at once, and a silo killed in the middle of a write.</summary>
public sealed class IpamClusterTests : IAsyncLifetime
{
    private CalicoTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = await CalicoTestCluster.StartAsync(3, c => c.Settings["Ipam:MaxBlocksPerHost"] = "4");
        var g = _cluster.Grains;
        await g.GetGrain<INetworkGrain>("net-1").CreateAsync(Samples.Network());
        await g.GetGrain<ISubnetGrain>("big").CreateAsync(Samples.Subnet("big") with { Cidr = IpPrefix.Parse("10.70.0.0/16"), GatewayIp = IPAddress.Parse("10.70.0.1") });
        await g.GetGrain<ISubnetGrain>("small").CreateAsync(Samples.Subnet("small") with { Cidr = IpPrefix.Parse("10.71.0.0/26"), GatewayIp = IPAddress.Parse("10.71.0.1") });
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    /// <summary>
    /// Grain calls made from inside each silo in turn (and from the test's client), so that requests reach the grain
    /// from everywhere; never from <paramref name="except"/>, a silo about to be killed.
    /// </summary>
    private IGrainFactory From(int i, SiloAddress? except = null)
    {
        var sources = _cluster.Cluster.Silos.Where(s => s.IsActive && !s.SiloAddress.Equals(except))
            .Select(s => s.ServiceProvider.GetRequiredService<IGrainFactory>()).Append(_cluster.Grains).ToList();
        return sources[i % sources.Count];
    }

    private static async Task<(string Port, IpAllocation? Allocation, Exception? Error)> Try(string port, Task<IpAllocation> call)
    {
        try { return (port, await call, null); }
        catch (Exception ex) { return (port, null, ex); }
    }

    [Fact]
    public async Task Two_thousand_parallel_allocations_from_three_silos_get_distinct_addresses()
    {
        var big = Enumerable.Range(0, 2000).Select(i =>
            Try($"b{i}", From(i).GetGrain<ISubnetIpamGrain>("big").AllocateAsync($"b{i}", $"h{i % 5}", null)));
        // At the same time, 2,000 ports race for the 61 addresses of a /26.
        var small = Enumerable.Range(0, 2000).Select(i =>
            Try($"s{i}", From(i + 1).GetGrain<ISubnetIpamGrain>("small").AllocateAsync($"s{i}", $"h{i % 3}", null)));
        var results = await Task.WhenAll(big.Concat(small));

        var bigResults = results.Where(r => r.Port.StartsWith('b')).ToList();
        Assert.All(bigResults, r => Assert.Null(r.Error));
        Assert.Equal(2000, bigResults.Select(r => r.Allocation!.Address).Distinct().Count());
        var listed = await _cluster.Grains.GetGrain<ISubnetIpamGrain>("big").ListAsync();
        Assert.Equal(bigResults.Select(r => $"{r.Port} {r.Allocation!.Address}").Order(), listed.Select(a => $"{a.PortId} {a.Address}").Order());

        var smallResults = results.Where(r => r.Port.StartsWith('s')).ToList();
        var won = smallResults.Where(r => r.Error is null).ToList();
        Assert.Equal(61, won.Count);
        Assert.Equal(61, won.Select(r => r.Allocation!.Address).Distinct().Count());
        Assert.All(smallResults.Where(r => r.Error is not null),
            r => Assert.Equal(IpAllocationFailure.Exhausted, IpAllocationFailures.Of(Assert.IsType<ResourceConflictException>(r.Error))));

        // Each host kept to its limit of 4 blocks in the big subnet (400 ports a host: 4 blocks of 62, the rest borrowed
        // from blocks of no host's).
        var blocks = _cluster.Store.Rows
            .Where(r => r.Key.Type.ToString() == GrainTypes.IpBlock && r.Key.Key.ToString()!.StartsWith("big|", StringComparison.Ordinal))
            .Select(r => ((IpBlockState)r.Value.State).Block).OfType<Calico.Model.Resources.IpBlock>().ToList();
        Assert.Equal(20, blocks.Count(b => b.AffinityHost is not null));
        Assert.All(blocks.Where(b => b.AffinityHost is not null).GroupBy(b => b.AffinityHost), g => Assert.Equal(4, g.Count()));
        Assert.Contains(blocks, b => b.AffinityHost is null);
    }

    [Fact]
    public async Task A_silo_killed_during_a_write_leaves_no_address_both_allocated_and_free()
    {
        var ipam = _cluster.Grains.GetGrain<ISubnetIpamGrain>("big");
        await ipam.AllocateAsync("warm-up", "h0", null);
        var hosting = (await _cluster.Grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics())
            .Single(s => s.GrainType.Contains(nameof(SubnetIpamGrain), StringComparison.Ordinal)).SiloAddress;

        // Hold every write: the first round is in flight in the store, the rest queue behind it.
        _cluster.Store.WriteGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ports = Enumerable.Range(0, 300).Select(i => $"k{i}").ToList();
        var calls = ports.Select((p, i) => Try(p, From(i, hosting).GetGrain<ISubnetIpamGrain>("big").AllocateAsync(p, $"h{i % 3}", null))).ToList();
        await Eventually.TrueAsync(() => Volatile.Read(ref _cluster.Store.WaitingWrites) > 0, "a write is in flight");

        await _cluster.Cluster.KillSiloAsync(_cluster.Cluster.Silos.Single(s => s.SiloAddress.Equals(hosting)));
        var gate = _cluster.Store.WriteGate;
        _cluster.Store.WriteGate = null;
        gate.SetResult(); // the dead silo's write may still land, or not: either must be safe
        var first = await Task.WhenAll(calls);
        Assert.Contains(first, r => r.Error is not null); // the kill did interrupt something

        // Callers retry what failed (every call is idempotent per port), as the API does.
        var answers = first.Where(r => r.Error is null).ToDictionary(r => r.Port, r => r.Allocation!.Address);
        foreach (var (port, _, _) in first.Where(r => r.Error is not null))
        {
            await Eventually.TrueAsync(async () =>
            {
                var retry = await Try(port, ipam.AllocateAsync(port, "h0", null));
                if (retry.Error is null) answers[port] = retry.Allocation!.Address;
                return retry.Error is null;
            }, $"{port} is allocated on retry");
        }

        var listed = await ipam.ListAsync();
        var byAddress = listed.GroupBy(a => a.Address).ToList();
        Assert.All(byAddress, g => Assert.Single(g));                       // nothing allocated twice
        Assert.All(ports, p => Assert.Single(listed, a => a.PortId == p));   // every port holds one address...
        Assert.All(ports, p => Assert.Equal(answers[p], listed.Single(a => a.PortId == p).Address)); // ...the one it was told
        // Nothing a caller was told is free: new allocations never hand one out again.
        var more = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => ipam.AllocateAsync($"n{i}", $"h{i % 3}", null)));
        Assert.Empty(more.Select(a => a.Address).Intersect(answers.Values));
        Assert.Equal(200, more.Select(a => a.Address).Distinct().Count());
    }
}
