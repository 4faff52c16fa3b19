using System.Diagnostics;
using System.Net;
using Calico.Dataplane.Linux.Bgp;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Netlink;
using Calico.Netlink.Namespaces;
using Calico.Topology.Kernel;

namespace Calico.Bench.Bgp;

/// <summary>
/// Part 2: two namespaces on one veth, 172.18.203.31 (announcing) and .44 (learning), each with a BIRD started from
/// the configuration an agent writes (<see cref="BirdConfiguration"/>; the announcer's desired state holds the routes
/// as blackhole items, which it announces as it announces blocks). Each round: the learner's BIRD is stopped, its
/// kernel emptied of BIRD's routes, and started again as the agent starts it (graceful-restart recovery, -R); timed
/// until its kernel holds every route (read with our netlink client every 20 ms). Then, with that BIRD stopped and
/// its routes flushed, the same routes written by our netlink client (one batch) into the same namespace.
/// </summary>
internal static class LearnedRoutes
{
    private const uint AsNumber = 64512;
    private static readonly IPAddress Announcer = IPAddress.Parse("172.18.203.31");
    private static readonly IPAddress Learner = IPAddress.Parse("172.18.203.44");
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);

    public static async Task<(double[] Restart, double[] Netlink)> MeasureAsync(RunPrefix prefix, Settings settings, CancellationToken cancellationToken)
    {
        var directory = prefix.TempDirectory;
        var (a, b) = (new Netns(prefix.Value + "ra"), new Netns(prefix.Value + "rb"));
        var birds = new List<Process>();
        try
        {
            foreach (var ns in new[] { a, b })
            {
                await Shell.RunAsync("ip", ["netns", "add", ns.Name]);
                await ns.IpAsync("link", "set", "lo", "up");
            }
            await a.IpAsync("link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b.Name);
            await a.IpAsync("addr", "add", $"{Announcer}/24", "dev", "eth0");
            await b.IpAsync("addr", "add", $"{Learner}/24", "dev", "eth0");
            await a.IpAsync("link", "set", "eth0", "up");
            await b.IpAsync("link", "set", "eth0", "up");

            var options = new BgpOptions { BirdStateDirectory = Path.Combine(directory, "bird") };
            var announced = Enumerable.Range(0, settings.Routes).Select(Destination).ToList();
            var announcer = Start(a, options, State(Announcer, Learner, "learner", announced), recover: false);
            birds.Add(announcer);
            Console.WriteLine($"routes: {a.Name} announces {settings.Routes:N0} /32s over BGP to {b.Name}");

            using var handle = NetworkNamespace.Open(b.Name);
            using var client = NetlinkRouteClient.Open(handle);
            var eth0 = int.Parse((await b.IpAsync("-o", "link", "show", "dev", "eth0")).Split(':')[0], System.Globalization.CultureInfo.InvariantCulture);
            var learnerState = State(Learner, Announcer, "announcer", []);
            var restart = new List<double>();
            var netlink = new List<double>();
            for (var round = 1; round <= settings.Rounds; round++)
            {
                await b.IpAsync("route", "flush", "proto", "bird");
                var started = Stopwatch.GetTimestamp();
                var learner = Start(b, options, learnerState, recover: true);
                birds.Add(learner);
                while (client.ListRoutes(new RouteFilter(Protocol: (RouteProtocol)12)).Count < settings.Routes)
                {
                    if (Stopwatch.GetElapsedTime(started) > Deadline)
                        throw new TimeoutException($"{b.Name}'s BIRD did not program {settings.Routes} routes within {Deadline}");
                    await Task.Delay(20, cancellationToken);
                }
                restart.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
                Stop(learner);
                await b.IpAsync("route", "flush", "proto", "bird");

                var operations = announced.Select(d => RouteOperation.Replace(Route.ViaGateway(d, Announcer, eth0, (RouteProtocol)80))).ToList();
                var written = Stopwatch.GetTimestamp();
                var failed = client.Apply(operations).Count(r => !r.Succeeded);
                netlink.Add(Stopwatch.GetElapsedTime(written).TotalSeconds);
                if (failed > 0) throw new InvalidOperationException($"{failed} of {operations.Count} routes could not be written");
                await b.IpAsync("route", "flush", "proto", "80");
                Console.WriteLine($"routes: round {round}: learned after the BIRD's start {restart[^1]:F2} s, written by netlink {netlink[^1]:F3} s");
            }
            return ([.. restart], [.. netlink]);
        }
        finally
        {
            foreach (var bird in birds) Stop(bird);
            foreach (var ns in new[] { a, b }) await Shell.TryRunAsync("ip", ["netns", "del", ns.Name]);
            try { Directory.Delete(directory, recursive: true); }
            catch (DirectoryNotFoundException) { }
        }
    }

    private static IPNetwork Destination(int i) => new(new IPAddress([10, (byte)(96 + (i >> 16)), (byte)(i >> 8), (byte)i]), 32);

    /// <summary>A host's desired items as far as BIRD's configuration goes: itself, its peer, what it announces.</summary>
    private static Dictionary<DesiredKey, DesiredItem> State(IPAddress self, IPAddress peer, string peerHost, IEnumerable<IPNetwork> announced)
    {
        var items = new List<DesiredItem> { new BgpNodeItem(self, AsNumber), new BgpPeerItem(peer, AsNumber, peerHost) };
        items.AddRange(announced.Select(d => new RouteItem(IpPrefix.Parse(d.ToString()), Calico.Model.Desired.RouteKind.Blackhole, null, null, null)));
        return items.ToDictionary(i => i.Key);
    }

    /// <summary>Writes the host's configuration and starts its BIRD in the foreground (as the agent's supervisor does).</summary>
    private static Process Start(Netns ns, BgpOptions options, Dictionary<DesiredKey, DesiredItem> state, bool recover)
    {
        var files = BirdFiles.For(options, ns.Name);
        Directory.CreateDirectory(files.Directory);
        File.WriteAllText(files.ConfigFile, BirdConfiguration.Compute(state, "tap", options)!.Text);
        var info = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "netns", "exec", ns.Name, "/usr/sbin/bird" }.Concat(recover ? files.Arguments : files.Arguments.Where(a => a != "-R")))
            info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }

    private static void Stop(Process bird)
    {
        if (bird.HasExited) return;
        bird.Kill(entireProcessTree: true);
        bird.WaitForExit();
    }
}
