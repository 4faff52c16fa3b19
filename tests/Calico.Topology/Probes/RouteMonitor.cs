using System.Diagnostics;
using Calico.Topology.Kernel;

namespace Calico.Topology.Probes;

/// <summary>
/// Records every route change in a namespace (<c>ip -n NS monitor route</c>), to show that something — a silo
/// restart, say — rewrote nothing. It is known to listen once a canary route (blackhole 198.51.100.1/32, protocol 81,
/// which our dataplane never owns) has been seen added and deleted; only changes after that count. Each line is
/// stamped with the <see cref="Stopwatch"/> timestamp at which it was read, for measurements (<see cref="Observe"/>).
/// </summary>
public sealed class RouteMonitor : IAsyncDisposable
{
    private const string Canary = "198.51.100.1";

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<long> _seenAt = [];
    private readonly List<Action<string, long>> _observers = [];
    private readonly Lock _gate = new();
    private int _mark;

    private RouteMonitor(Netns ns, Process process)
    {
        Namespace = ns;
        _process = process;
    }

    public Netns Namespace { get; }

    /// <summary>
    /// Route changes seen since the monitor started listening, as ip prints them ("Deleted ..." for removals), but
    /// for the kernel's own IPv6 link-local and multicast routes (proto kernel, fe80::/ff00::), which follow an
    /// interface's IPv6 address and link state (duplicate address detection finishing, say), not anyone's programming.
    /// </summary>
    public IReadOnlyList<string> Changes
    {
        get { lock (_gate) return [.. _lines.Skip(_mark).Where(l => !IsKernelLinkLocal(l))]; }
    }

    /// <summary>Every line since the monitor started listening, unfiltered.</summary>
    public IReadOnlyList<string> AllChanges
    {
        get { lock (_gate) return [.. _lines.Skip(_mark)]; }
    }

    private static bool IsKernelLinkLocal(string line)
    {
        if (!line.Contains("proto kernel", StringComparison.Ordinal)) return false;
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipWhile(w => w is "Deleted" or "local" or "multicast" or "anycast" or "unicast");
        return words.FirstOrDefault() is { } destination
            && (destination.StartsWith("fe80:", StringComparison.OrdinalIgnoreCase) || destination.StartsWith("ff00::", StringComparison.OrdinalIgnoreCase));
    }

    public static async Task<RouteMonitor> StartAsync(Netns ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var info = Shell.StartInfo("ip", ["-n", ns.Name, "monitor", "route"]);
        var process = new Process { StartInfo = info };
        var monitor = new RouteMonitor(ns, process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line) monitor.Add(line, Stopwatch.GetTimestamp());
        };
        process.Start();
        process.BeginOutputReadLine();
        try
        {
            // ip subscribes some time after it starts: add the canary until ip reports it, then delete it; the
            // report of that deletion is the last line that does not count.
            var added = -1;
            for (var attempt = 1; added < 0; attempt++)
            {
                await ns.TryIpAsync("route", "del", "blackhole", $"{Canary}/32", "proto", "81");
                await ns.IpAsync("route", "add", "blackhole", $"{Canary}/32", "proto", "81");
                var until = DateTime.UtcNow + TimeSpan.FromSeconds(1);
                while ((added = monitor.IndexOf(added: true, after: -1)) < 0 && DateTime.UtcNow < until) await Task.Delay(20);
                if (added < 0 && attempt >= 30) throw new TimeoutException($"ip monitor in {ns} never reported the canary route");
            }
            await ns.IpAsync("route", "del", "blackhole", $"{Canary}/32", "proto", "81");
            var deleted = await Eventually.UntilAsync($"ip monitor in {ns} to report the canary deleted",
                () => Task.FromResult(monitor.IndexOf(added: false, after: added)), i => i >= 0, TimeSpan.FromSeconds(15));
            lock (monitor._gate) monitor._mark = deleted + 1;
            return monitor;
        }
        catch
        {
            await ns.TryIpAsync("route", "del", "blackhole", $"{Canary}/32", "proto", "81");
            await monitor.DisposeAsync();
            throw;
        }
    }

    private void Add(string line, long seenAt)
    {
        lock (_gate)
        {
            _lines.Add(line);
            _seenAt.Add(seenAt);
            // Observers exist only once StartAsync has returned, that is after the canary's lines.
            foreach (var observer in _observers) observer(line, seenAt);
        }
    }

    /// <summary>
    /// Calls <paramref name="observer"/> with every route change since the monitor started listening (those already
    /// seen first), then with each new one as it is read, in order, each with the <see cref="Stopwatch"/> timestamp
    /// at which it was read. Called under the monitor's lock: it must be quick and must not call back into the monitor.
    /// </summary>
    public void Observe(Action<string, long> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_gate)
        {
            for (var i = _mark; i < _lines.Count; i++) observer(_lines[i], _seenAt[i]);
            _observers.Add(observer);
        }
    }

    /// <summary>The index of the first line after <paramref name="after"/> reporting the canary added (or deleted); -1 if none.</summary>
    private int IndexOf(bool added, int after)
    {
        lock (_gate)
        {
            for (var i = after + 1; i < _lines.Count; i++)
                if (_lines[i].Contains(Canary, StringComparison.Ordinal) && _lines[i].StartsWith("Deleted", StringComparison.Ordinal) != added) return i;
            return -1;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
