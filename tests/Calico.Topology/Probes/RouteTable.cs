using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Calico.Topology.Kernel;

namespace Calico.Topology.Probes;

/// <summary>What ended a wait on a <see cref="RouteTable"/>: the route, and the <see cref="Stopwatch"/> timestamp at which it was read.</summary>
/// <param name="AlreadyThere">The route was there before the wait began (<paramref name="SeenAt"/> is then the start of the wait).</param>
/// <param name="RoutedSince">When the table first read the route as it is (its change, or the table's start for a route in
/// the first dump): for a route already there, whether it came before or after some moment of the caller's.</param>
public sealed record RouteSeen(KernelRoute Route, long SeenAt, bool AlreadyThere, long RoutedSince);

/// <summary>
/// The IPv4 routes of one protocol in the main table of a namespace, kept current from <c>ip monitor route</c>
/// (<see cref="RouteMonitor"/>): a dump taken once the monitor listens, then every change the monitor read since it
/// listened, in order (a change older than the dump leaves the same result, so the two can overlap). For
/// measurements: <see cref="WaitForAsync"/> tells when the host first routed an address the way a caller expects,
/// timed by the monitor's read of the change, with no polling. The kernel does not announce the IPv4 routes it drops
/// with a deleted interface: delete a workload's tap only after its routes are gone, or the table keeps them.
/// </summary>
public sealed class RouteTable : IAsyncDisposable
{
    private static readonly Dictionary<int, string> ProtocolNames = new() { [2] = "kernel", [3] = "boot", [4] = "static", [12] = "bird" };

    private static readonly HashSet<string> Types = ["unicast", "local", "broadcast", "multicast", "blackhole", "unreachable", "prohibit", "throw", "nat", "anycast"];

    private readonly RouteMonitor _monitor;
    /// <summary>The protocol as ip(8) prints it: its number, or its name in rt_protos (12 is "bird").</summary>
    private readonly HashSet<string> _protocol;
    private readonly Dictionary<IPNetwork, KernelRoute> _routes = [];
    private readonly Dictionary<IPNetwork, long> _since = [];
    private readonly List<(IPAddress Address, Func<KernelRoute, bool> Wanted, TaskCompletionSource<RouteSeen> Done)> _waiters = [];
    private readonly Lock _gate = new();

    private RouteTable(RouteMonitor monitor, int protocol)
    {
        _monitor = monitor;
        _protocol = [protocol.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        if (ProtocolNames.TryGetValue(protocol, out var name)) _protocol.Add(name);
    }

    public Netns Namespace => _monitor.Namespace;

    public int Count { get { lock (_gate) return _routes.Count; } }

    public static async Task<RouteTable> StartAsync(Netns ns, int protocol = 80)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var monitor = await RouteMonitor.StartAsync(ns);
        try
        {
            var table = new RouteTable(monitor, protocol);
            var started = Stopwatch.GetTimestamp();
            foreach (var route in await ns.RoutesAsync(protocol))
            {
                table._routes[route.Network] = route;
                table._since[route.Network] = started;
            }
            monitor.Observe(table.OnChange);
            return table;
        }
        catch
        {
            await monitor.DisposeAsync();
            throw;
        }
    }

    /// <summary>The most specific route of ours that covers <paramref name="address"/>, or null.</summary>
    public KernelRoute? Lookup(IPAddress address)
    {
        lock (_gate) return LookupLocked(address);
    }

    /// <summary>Every route of ours now.</summary>
    public IReadOnlyList<KernelRoute> Snapshot()
    {
        lock (_gate) return [.. _routes.Values];
    }

    /// <summary>
    /// Completes when the most specific route of ours covering <paramref name="address"/> is one that
    /// <paramref name="wanted"/> accepts: with that route and the time its change was read, or at once (AlreadyThere)
    /// if it is so now.
    /// </summary>
    public Task<RouteSeen> WaitForAsync(IPAddress address, Func<KernelRoute, bool> wanted, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(wanted);
        var done = new TaskCompletionSource<RouteSeen>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (LookupLocked(address) is { } route && wanted(route))
                return Task.FromResult(new RouteSeen(route, Stopwatch.GetTimestamp(), true, _since[route.Network]));
            _waiters.Add((address, wanted, done));
        }
        var registration = cancellationToken.Register(() =>
        {
            lock (_gate) _waiters.RemoveAll(w => w.Done == done);
            done.TrySetCanceled(cancellationToken);
        });
        _ = done.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return done.Task;
    }

    private KernelRoute? LookupLocked(IPAddress address)
    {
        KernelRoute? best = null;
        foreach (var (network, route) in _routes)
            if (network.Contains(address) && (best is null || network.PrefixLength > best.Network.PrefixLength)) best = route;
        return best;
    }

    /// <summary>Called by the monitor, under its lock, for each change in order.</summary>
    private void OnChange(string line, long seenAt)
    {
        if (!TryParse(line, out var deleted, out var route, out var table) || !_protocol.Contains(route.Protocol ?? "") || table is not (null or "main")) return;
        lock (_gate)
        {
            if (deleted)
            {
                _routes.Remove(route.Network);
                _since.Remove(route.Network);
            }
            else if (!_routes.TryGetValue(route.Network, out var before) || before != route)
            {
                _routes[route.Network] = route;
                _since[route.Network] = seenAt;
            }
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                var (address, wanted, done) = _waiters[i];
                if (LookupLocked(address) is not { } current || !wanted(current)) continue;
                _waiters.RemoveAt(i);
                done.TrySetResult(new RouteSeen(current, seenAt, false, _since[current.Network]));
            }
        }
    }

    /// <summary>
    /// One IPv4 route as <c>ip monitor route</c> / <c>ip route</c> print it:
    /// <c>[Deleted ][type ]destination [via gateway] [dev name] [table t] [proto p] [scope s] ...</c>.
    /// </summary>
    public static bool TryParse(string line, out bool deleted, out KernelRoute route, out string? table)
    {
        ArgumentNullException.ThrowIfNull(line);
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var i = 0;
        deleted = words.Length > 0 && words[0] == "Deleted";
        if (deleted) i++;
        var type = i < words.Length && Types.Contains(words[i]) ? words[i++] : "unicast";
        route = null!;
        table = null;
        if (i >= words.Length) return false;
        var destination = words[i] == "default" ? "0.0.0.0/0" : words[i].Contains('/', StringComparison.Ordinal) ? words[i] : words[i] + "/32";
        if (!IPNetwork.TryParse(destination, out var network) || network.BaseAddress.AddressFamily != AddressFamily.InterNetwork) return false;
        string? Value(string key)
        {
            var at = Array.IndexOf(words, key, i + 1);
            return at > 0 && at + 1 < words.Length ? words[at + 1] : null;
        }
        table = Value("table");
        route = new KernelRoute(network.ToString(), type, Value("via"), Value("dev"), Value("proto"), Value("scope"));
        return true;
    }

    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            foreach (var waiter in _waiters) waiter.Done.TrySetCanceled();
            _waiters.Clear();
        }
        return _monitor.DisposeAsync();
    }
}
