using System.Diagnostics;
using Calico.Topology.Kernel;

namespace Calico.Topology.Probes;

/// <summary>
/// Records every route change in a namespace (<c>ip -n NS monitor route</c>), to show that something — a silo
/// restart, say — rewrote nothing. It is known to listen once a canary route (blackhole 198.51.100.1/32, protocol 81,
/// which our dataplane never owns) has been seen added and deleted; only changes after that count.
/// </summary>
public sealed class RouteMonitor : IAsyncDisposable
{
    private const string Canary = "198.51.100.1";

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _gate = new();
    private int _mark;

    private RouteMonitor(Netns ns, Process process)
    {
        Namespace = ns;
        _process = process;
    }

    public Netns Namespace { get; }

    /// <summary>Route changes seen since the monitor started listening, as ip prints them ("Deleted ..." for removals).</summary>
    public IReadOnlyList<string> Changes
    {
        get { lock (_gate) return [.. _lines.Skip(_mark)]; }
    }

    public static async Task<RouteMonitor> StartAsync(Netns ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var info = Shell.StartInfo("ip", ["-n", ns.Name, "monitor", "route"]);
        var process = new Process { StartInfo = info };
        var monitor = new RouteMonitor(ns, process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line) lock (monitor._gate) monitor._lines.Add(line);
        };
        process.Start();
        process.BeginOutputReadLine();
        try
        {
            await ns.IpAsync("route", "add", "blackhole", $"{Canary}/32", "proto", "81");
            await Eventually.UntilAsync($"ip monitor in {ns} to see the canary route", () => Task.FromResult(monitor.Saw(added: true)), TimeSpan.FromSeconds(15));
            await ns.IpAsync("route", "del", "blackhole", $"{Canary}/32", "proto", "81");
            await Eventually.UntilAsync($"ip monitor in {ns} to see the canary deleted", () => Task.FromResult(monitor.Saw(added: false)), TimeSpan.FromSeconds(15));
            lock (monitor._gate) monitor._mark = monitor._lines.Count;
            return monitor;
        }
        catch
        {
            await monitor.DisposeAsync();
            throw;
        }
    }

    private bool Saw(bool added)
    {
        lock (_gate)
            return _lines.Any(l => l.Contains(Canary, StringComparison.Ordinal) && l.StartsWith("Deleted", StringComparison.Ordinal) != added);
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
