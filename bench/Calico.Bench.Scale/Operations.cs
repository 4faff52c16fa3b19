using System.Diagnostics;
using Calico.Model.Desired;
using Calico.Topology.Api;

namespace Calico.Bench.Scale;

/// <summary>
/// One operation through the API, one at a time: the call's latency; the hosts it woke (received a non-empty update)
/// and changed (what they hold differs afterwards); and from the call sent until the last changed host applied its
/// last change. An operation ends once no host has received anything for the quiet time after the call returned.
/// </summary>
internal readonly record struct OpSample(double ApiMs, double? AppliedMs, int Woken, int Changed);

internal sealed class Operations(NeutronClient api, HostFleet fleet, Workload workload, Settings settings)
{
    public const string Create = "port create (unbound)";
    public const string Bind = "port bind (binding:host_id)";
    public const string Delete = "port delete (bound)";
    public const string Rule = "rule change (add or delete)";

    public static readonly string[] Kinds = [Create, Bind, Delete, Rule];

    /// <summary>
    /// Samples of each kind: a port created unbound on the first network (in one or two groups, as the seeded ports),
    /// bound to a host, deleted; a rule added to a group (every other one naming a remote group) and deleted again.
    /// The first <see cref="Settings.WarmUpSamples"/> are not counted.
    /// </summary>
    public async Task<Dictionary<string, List<OpSample>>> SampleAsync()
    {
        var samples = Kinds.ToDictionary(k => k, _ => new List<OpSample>());
        var (network, subnet) = workload.Networks[0];
        var hosts = fleet.Hosts;
        for (var i = 0; i < settings.WarmUpSamples + settings.Samples; i++)
        {
            var counted = i >= settings.WarmUpSamples ? samples : null;
            var (created, port) = await MeasureAsync(Create, () =>
                api.CreatePortAsync(network, subnet, null, null, $"vm-sample-{i}", workload.GroupsOf(i)));
            Add(counted, Create, created);
            var id = (string)port["id"]!;
            var host = hosts[(i * 7 + 3) % hosts.Count].Name;
            Add(counted, Bind, (await MeasureAsync(Bind, () => api.BindPortAsync(id, host))).Sample);
            Add(counted, Delete, (await MeasureAsync(Delete, async () => { await api.DeleteAsync("ports", id); return 0; })).Sample);
            var (added, rule) = await MeasureAsync(Rule, () =>
                workload.AddRuleAsync(i % Workload.Groups, "tcp", 20_000 + i, i % 2 == 0 ? i % Workload.RemoteGroups : null));
            Add(counted, Rule, added);
            Add(counted, Rule, (await MeasureAsync(Rule, async () => { await api.DeleteAsync("security-group-rules", rule); return 0; })).Sample);
        }
        return samples;
    }

    private static void Add(Dictionary<string, List<OpSample>>? samples, string kind, OpSample sample) => samples?[kind].Add(sample);

    private async Task<(OpSample Sample, T Result)> MeasureAsync<T>(string what, Func<Task<T>> call)
    {
        var before = fleet.Marks();
        var start = Stopwatch.GetTimestamp();
        var result = await call();
        var apiMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        await fleet.WaitSettledAsync(() => true, settings.Quiet, settings.OpTimeout, what);
        var after = fleet.Marks();
        int woken = 0, changed = 0;
        long lastChange = 0;
        for (var h = 0; h < after.Length; h++)
        {
            if (after[h].Woken > before[h].Woken) woken++;
            if (after[h].Changed <= before[h].Changed) continue;
            changed++;
            lastChange = Math.Max(lastChange, fleet.Hosts[h].LastChangedAt);
        }
        double? appliedMs = changed == 0 ? null : (lastChange - start) * 1000.0 / Stopwatch.Frequency;
        return (new OpSample(apiMs, appliedMs, woken, changed), result);
    }

    /// <summary>
    /// Issue 11 point 4: <paramref name="count"/> ports created unbound and then bound (Nova's order), all at once;
    /// returns how many /32 via-host routes to their addresses the hosts other than each port's own hold afterwards.
    /// </summary>
    public async Task<NovaOrder> NovaOrderAsync(int count)
    {
        var (network, subnet) = workload.Networks[0];
        var hosts = fleet.Hosts;
        using var gate = new SemaphoreSlim(settings.SeedParallel);
        async Task<T> Gated<T>(Func<Task<T>> call)
        {
            await gate.WaitAsync();
            try { return await call(); }
            finally { gate.Release(); }
        }
        var watch = Stopwatch.StartNew();
        var created = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            Gated(() => api.CreatePortAsync(network, subnet, null, null, $"vm-nova-{i}", workload.GroupsOf(i)))));
        var createSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        var bound = await Task.WhenAll(created.Select((port, i) =>
            Gated(() => api.BindPortAsync((string)port["id"]!, hosts[(i * 13 + 5) % hosts.Count].Name))));
        var bindSeconds = watch.Elapsed.TotalSeconds;
        foreach (var port in bound) hosts.First(h => h.Name == (string)port["binding:host_id"]!).ExpectedInterfaces++;
        await fleet.WaitSettledAsync(() => hosts.All(h => h.Interfaces == h.ExpectedInterfaces), settings.Quiet, settings.OpTimeout, "Nova's order");
        var routes = 0;
        foreach (var port in bound)
        {
            var owner = (string)port["binding:host_id"]!;
            foreach (var ip in port["fixed_ips"]!.AsArray())
            {
                var key = new DesiredKey(DesiredKind.Route, $"{(string)ip!["ip_address"]!}/32");
                routes += hosts.Count(h => h.Name != owner && h.Find(key) is RouteItem { Kind: RouteKind.ViaHost });
            }
        }
        return new NovaOrder(count, createSeconds, bindSeconds, routes, count * (hosts.Count - 1));
    }
}

/// <summary>What Nova's order left: /32 via-host routes held by other hosts for the ports, against one per port and other host.</summary>
internal readonly record struct NovaOrder(int Ports, double CreateSeconds, double BindSeconds, int HostRoutes, int AtMost);
