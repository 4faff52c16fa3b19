using System.Diagnostics;
using System.Net;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Resources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Calico.Bench.Scale;

/// <summary>
/// The simulated compute hosts of one shape, all in this process, reaching the controller through one Orleans
/// client on its gateway. Hosts are registered as the compute silo's HostAgent registers them
/// (<see cref="IHostGrain.RegisterAsync"/> with name and IPv4 address), then watch their desired state.
/// </summary>
internal sealed class HostFleet : IAsyncDisposable
{
    private readonly IHost _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];

    private HostFleet(IHost client, IReadOnlyList<SimulatedHost> hosts)
    {
        _client = client;
        Hosts = hosts;
    }

    public IReadOnlyList<SimulatedHost> Hosts { get; }

    public IClusterClient Grains => _client.Services.GetRequiredService<IClusterClient>();

    public static async Task<HostFleet> ConnectAsync(int gatewayPort, int hosts, TimeSpan responseTimeout)
    {
        var client = new HostBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            .UseOrleansClient(c => c
                .UseStaticClustering(new IPEndPoint(IPAddress.Loopback, gatewayPort))
                .Configure<ClusterOptions>(o => { o.ClusterId = "calico"; o.ServiceId = "calico"; })
                // A watch waits up to its max wait; a snapshot at scale may take long to compute on today's calculator.
                .Configure<ClientMessagingOptions>(o => o.ResponseTimeout = responseTimeout)
                // Across a controller restart the gateway is gone for a while: keep trying.
                .UseConnectionRetryFilter(async (_, ct) =>
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
                    return true;
                }))
            .Build();
        await client.StartAsync();
        // 172.16.0.0/12 as host addresses: never a workload subnet of the workload (those are in 10.0.0.0/8).
        var fleet = Enumerable.Range(0, hosts)
            .Select(i => new SimulatedHost($"sim-h{i:D4}", new IPAddress([172, (byte)(16 + (i + 1) / 65536), (byte)((i + 1) / 256 % 256), (byte)((i + 1) % 256)])))
            .ToList();
        return new HostFleet(client, fleet);
    }

    /// <summary>Every host registers (32 at a time), as a compute silo does when it starts.</summary>
    public async Task RegisterAsync()
    {
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Hosts.Select(async h =>
        {
            await gate.WaitAsync();
            try
            {
                var spec = new HostSpec(h.Name, h.Address, null, null, ValueMap.Empty);
                await Grains.GetGrain<IHostGrain>(h.Name).RegisterAsync(spec);
            }
            finally { gate.Release(); }
        }));
    }

    /// <summary>Every host starts its watch loop from nothing (no cursor: the first answer is a snapshot).</summary>
    public void StartWatching(TimeSpan maxWait)
    {
        foreach (var host in Hosts) _loops.Add(Task.Run(() => host.RunAsync(Grains, maxWait, _stop.Token)));
    }

    /// <summary>Ends every watch call in flight (see <see cref="SimulatedHost.BreakCall"/>); each host watches again at once.</summary>
    public void BreakOutstandingCalls()
    {
        foreach (var host in Hosts) host.BreakCall();
    }

    public HostMark[] Marks() => [.. Hosts.Select(h => h.Mark())];

    /// <summary>The latest Stopwatch timestamp at which any host received a non-empty update.</summary>
    public long LastWokenAt() => Hosts.Max(h => h.LastWokenAt);

    /// <summary>
    /// Waits until <paramref name="done"/> holds and then no host has received anything for <paramref name="quiet"/>;
    /// throws with <paramref name="what"/> and the hosts' state if that takes longer than <paramref name="timeout"/>.
    /// </summary>
    public async Task WaitSettledAsync(Func<bool> done, TimeSpan quiet, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var quietTicks = (long)(quiet.TotalSeconds * Stopwatch.Frequency);
        var doneSince = 0L;
        while (true)
        {
            var now = Stopwatch.GetTimestamp();
            if (done())
            {
                if (doneSince == 0) doneSince = now;
                if (now - Math.Max(doneSince, LastWokenAt()) >= quietTicks) return;
            }
            else doneSince = 0;
            if (now > deadline) throw new TimeoutException($"{what}: not settled within {timeout.TotalSeconds:F0} s; {Describe()}");
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(20, Math.Max(1, quiet.TotalMilliseconds / 10))));
        }
    }

    /// <summary>Snapshots applied and failed watch calls by kind, summed over the hosts, since the fleet started.</summary>
    public (long Snapshots, Dictionary<string, long> Failures) Tally()
    {
        var failures = new Dictionary<string, long>();
        foreach (var host in Hosts)
            foreach (var (kind, count) in host.FailureKinds()) failures[kind] = failures.GetValueOrDefault(kind) + count;
        return (Hosts.Sum(h => h.Snapshots), failures);
    }

    /// <summary>What happened to the watches between two tallies, in words.</summary>
    public static string Describe((long Snapshots, Dictionary<string, long> Failures) before, (long Snapshots, Dictionary<string, long> Failures) after)
    {
        var failures = after.Failures.Select(kv => (kv.Key, Count: kv.Value - before.Failures.GetValueOrDefault(kv.Key)))
            .Where(f => f.Count > 0).Select(f => $"{f.Count} {f.Key}");
        var text = string.Join(", ", failures);
        return $"{after.Snapshots - before.Snapshots} snapshots applied; failed watches: {(text.Length == 0 ? "none" : text)}";
    }

    /// <summary>One line about the hosts for a failure message: how many hold their ports, failures, the last error.</summary>
    public string Describe()
    {
        var complete = Hosts.Count(h => h.Applied is not null && h.Interfaces == h.ExpectedInterfaces);
        var failures = Hosts.Sum(h => h.Failures);
        var last = Hosts.Select(h => h.LastFailure).LastOrDefault(f => f is not null);
        return $"{complete} of {Hosts.Count} hosts hold all their workload interfaces, {failures} watch failures" +
               (last is null ? "" : $" (last: {last})");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        await _client.StopAsync();
        _client.Dispose();
        _stop.Dispose();
    }
}
