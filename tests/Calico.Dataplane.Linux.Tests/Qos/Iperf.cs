using System.Diagnostics;
using System.Globalization;

namespace Calico.Dataplane.Linux.Tests.Qos;

/// <summary>
/// iperf3 (Debian's package) between test namespaces: a server per namespace, killed on Dispose, and a client that
/// receives (`-R`), so the rate measured is what arrived at the far end, after the shaper.
/// </summary>
internal sealed class Iperf : IDisposable
{
    private readonly List<Process> _servers = [];

    /// <summary>Starts `iperf3 -s` in <paramref name="ns"/> on <paramref name="address"/>, and waits until it listens.</summary>
    public void Serve(TestNamespace ns, string address)
    {
        var process = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", ns.Name, "iperf3", "-s", "-B", address, "-p", "5201"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _servers.Add(process);
        // Drained, so a chatty server never blocks on a full pipe.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        for (var i = 0; i < 100 && !ns.Exec("ss", "-ltn").Contains($"{address}:5201", StringComparison.Ordinal); i++) Thread.Sleep(50);
    }

    /// <summary>
    /// Megabits per second arriving on <paramref name="receiverInterface"/> of <paramref name="receiver"/> while it
    /// receives from the server at <paramref name="server"/> (`iperf3 -c SERVER -R`): the interface's rx_bytes
    /// counted by the kernel (frames with their Ethernet headers, as a TBF counts them) over 3 seconds of a steady
    /// flow, after 2.5 seconds for TCP's slow start and the bucket's initial burst. Counting in the kernel rather than
    /// in iperf3 keeps the figure free of when a loaded machine lets iperf3 read its socket.
    /// </summary>
    public static double ReceivedMbps(TestNamespace receiver, string receiverInterface, string server)
    {
        var (_, idleBytes) = Counter(receiver, receiverInterface);
        using var client = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", receiver.Name, "iperf3", "-c", server, "-p", "5201", "-R", "-t", "10"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var error = client.StandardError.ReadToEndAsync();
        var output = client.StandardOutput.ReadToEndAsync();
        // The window starts once data flows (64 KiB arrived) and one more second has passed, so that neither the
        // client's start, which takes seconds on a loaded machine, nor TCP's slow start falls inside it.
        var flowing = Stopwatch.StartNew();
        while (Counter(receiver, receiverInterface).Bytes - idleBytes < 65536 && !client.HasExited && flowing.Elapsed < TimeSpan.FromSeconds(6))
            Thread.Sleep(50);
        Thread.Sleep(1000);
        var (bytes, seconds) = Window(receiver, receiverInterface);
        Assert.False(client.HasExited, $"iperf3 -c {server} -R in {receiver.Name} ended before the 3 s window did: the rate was not measured over a steady flow");
        client.WaitForExit();
        Assert.True(client.ExitCode == 0, $"iperf3 -c {server} -R in {receiver.Name} failed: {error.Result}{output.Result}");
        return bytes * 8 / seconds / 1e6;
    }

    /// <summary>
    /// How much of <paramref name="counter"/> (rx_bytes, rx_packets) the interface received over about 3 s, and
    /// exactly how long: both reads of the counter and the clock in one process inside the namespace, so that how long
    /// a process takes to start on a loaded machine (hundreds of milliseconds seen in CI) is not part of the window.
    /// </summary>
    public static (double Count, double Seconds) Window(TestNamespace ns, string device, string counter = "rx_bytes")
    {
        var script = "import time\n" +
                     $"def rx():\n    with open('/sys/class/net/{device}/statistics/{counter}') as f: return int(f.read())\n" +
                     "b0 = rx(); t0 = time.monotonic(); time.sleep(3); b1 = rx(); t1 = time.monotonic()\n" +
                     "print(b1 - b0, t1 - t0)\n";
        var words = ns.Exec("python3", "-c", script).Trim().Split(' ');
        return (double.Parse(words[0], CultureInfo.InvariantCulture), double.Parse(words[1], CultureInfo.InvariantCulture));
    }

    /// <summary>rx_bytes of the interface, and when it was read (the middle of the read, which spawns a process).</summary>
    private static (TimeSpan At, double Bytes) Counter(TestNamespace ns, string device)
    {
        var before = Stopwatch.GetTimestamp();
        var bytes = double.Parse(ns.Exec("cat", $"/sys/class/net/{device}/statistics/rx_bytes").Trim(), CultureInfo.InvariantCulture);
        var after = Stopwatch.GetTimestamp();
        return (TimeSpan.FromTicks((long)((before + after) / 2.0 / Stopwatch.Frequency * TimeSpan.TicksPerSecond)), bytes);
    }

    public void Dispose()
    {
        foreach (var server in _servers)
        {
            try { server.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            server.WaitForExit(5000);
            server.Dispose();
        }
    }
}
