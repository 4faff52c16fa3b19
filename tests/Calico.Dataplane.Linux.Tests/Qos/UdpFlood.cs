using System.Diagnostics;
using System.Globalization;

namespace Calico.Dataplane.Linux.Tests.Qos;

/// <summary>
/// A sender of small UDP datagrams as fast as python3 can, inside a test namespace, and the packet rate arriving at
/// the receiver's interface: rx_packets counted by the kernel over 3 s (<see cref="Iperf.Window"/>), once packets
/// flow and one more second has passed (so the limit's initial burst is spent before the window starts).
/// </summary>
internal static class UdpFlood
{
    public static double ReceivedPps(TestNamespace sender, string destination, TestNamespace receiver, string receiverInterface)
    {
        var script = "import socket, time\n" +
                     "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n" +
                     "end = time.monotonic() + 8\n" +
                     "while time.monotonic() < end:\n" +
                     "    for _ in range(100):\n" +
                     "        try: s.sendto(b'0123456789abcdef', ('" + destination + "', 9))\n" +
                     "        except OSError: pass\n";
        using var flood = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", sender.Name, "python3", "-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            var before = Packets(receiver, receiverInterface);
            var waited = Stopwatch.StartNew();
            while (Packets(receiver, receiverInterface) - before < 200 && !flood.HasExited && waited.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(50);
            Thread.Sleep(1000);
            var (packets, seconds) = Iperf.Window(receiver, receiverInterface, "rx_packets");
            Assert.False(flood.HasExited, $"the UDP sender in {sender.Name} ended before the window did: {flood.StandardError.ReadToEnd()}");
            return packets / seconds;
        }
        finally
        {
            try { flood.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            flood.WaitForExit(5000);
        }
    }

    private static long Packets(TestNamespace ns, string device) =>
        long.Parse(ns.Exec("cat", $"/sys/class/net/{device}/statistics/rx_packets").Trim(), CultureInfo.InvariantCulture);
}
