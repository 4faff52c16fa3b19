using System.Diagnostics;
using System.Globalization;
using System.Net;
using Calico.Bench.Netlink;
using Calico.Netlink;
using Calico.Netlink.Namespaces;

// Netlink client benchmark. Every kernel object lives in namespaces created here and deleted at the end.
//   1. Listing 100,000 routes (vs `ip route show proto 80`) and the memory they take as Route records.
//   2. 100,000 IPv4 /32 routes via a gateway: our batched client vs `ip -n NS -batch FILE`, fresh namespaces each round.
//   3. One route changed with 100,000 present vs with 1,000 present: p50/p99 over 200 changes each.
// With --ipv6, only 2 for IPv6: 100,000 /128 routes via a gateway against `ip -6 -batch`, ending with one line
// `ipv6-qos: routes6_100k_s=… ip_batch6_100k_s=…` (medians of 3 rounds; bench/run.sh ipv6-qos).

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("The benchmark creates network namespaces and routes: run it as root.");
    return 2;
}

const int RouteCount = 100_000;
const RouteProtocol Ours = (RouteProtocol)80;
var gateway = IPAddress.Parse("172.18.0.2");
var otherGateway = IPAddress.Parse("172.18.0.3");

static IPNetwork Host(int i) => new(new IPAddress([10, (byte)(64 + (i >> 16)), (byte)(i >> 8), (byte)i]), 32);

// 2001:db8:1::/64, the host part the route's number: /128s as a guest's SLAAC or DHCPv6 address makes them.
static IPNetwork Host6(int i) => new(new IPAddress([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, (byte)(i >> 16), (byte)(i >> 8), (byte)i]), 128);

if (args.Contains("--ipv6")) return ProgramIpv6();

Console.WriteLine($"netlink benchmark: {RouteCount:N0} IPv4 /32 routes via a gateway, {Environment.ProcessorCount} CPUs, kernel {Environment.OSVersion.Version}");

// 1. Listing and memory, first, so the working set is not inflated by what the other parts allocated.
Console.WriteLine();
Console.WriteLine("1. list 100,000 routes and hold them as Route records");
var batchFile = Path.Combine(Path.GetTempPath(), $"cal-bench-{Environment.ProcessId}.batch");
File.WriteAllLines(batchFile, Enumerable.Range(1, RouteCount).Select(i => $"route add {Host(i)} via {gateway} dev veth0 proto 80"));
using (var ns = new BenchNamespace())
using (var client = OpenClient(ns))
{
    // Filled by ip, so that no managed allocation of ours precedes the measurement.
    BenchNamespace.Run("ip", "-n", ns.Name, "-batch", batchFile);
    var ipShow = Stopwatch.StartNew();
    var shown = ns.Ip("route", "show", "proto", "80").Count(c => c == '\n');
    ipShow.Stop();

    using (var small = new BenchNamespace())
    using (var warmUp = OpenClient(small))
    {
        // JIT warm-up on a small listing, so the measured one neither compiles code nor reuses a big heap.
        Check(warmUp.Apply(Enumerable.Range(1, 1000)
            .Select(i => RouteOperation.Replace(Route.ViaGateway(Host(i), gateway, small.Veth0, Ours))).ToList()));
        warmUp.ListRoutes(new RouteFilter(Protocol: Ours));
    }
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
    var workingSetBefore = Environment.WorkingSet;
    var list = Stopwatch.StartNew();
    var routes = client.ListRoutes(new RouteFilter(Protocol: Ours));
    list.Stop();
    var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
    var workingSetAfter = Environment.WorkingSet;
    Console.WriteLine($"   list: ours {list.Elapsed.TotalSeconds:F3} s for {routes.Count:N0} routes; `ip route show proto 80` {ipShow.Elapsed.TotalSeconds:F3} s for {shown:N0}");
    Console.WriteLine($"   GC heap: {Mb(heapBefore)} before, {Mb(heapAfter)} holding them: {(heapAfter - heapBefore) / (double)routes.Count:F0} bytes per route");
    Console.WriteLine($"   working set: {Mb(workingSetBefore)} before, {Mb(workingSetAfter)} holding them");
    GC.KeepAlive(routes);
}

// 2. Programming 100,000 routes.
var ratios = new List<double>();
try
{
    Console.WriteLine();
    Console.WriteLine("2. program 100,000 routes (fresh namespaces each round)");
    for (var round = 1; round <= 3; round++)
    {
        double ours, oursAcked, ip;
        // Alternate who goes first, so neither always meets a warmer kernel.
        if (round % 2 == 1) { ours = ProgramOurs(ackEach: false); ip = ProgramIp(batchFile); }
        else { ip = ProgramIp(batchFile); ours = ProgramOurs(ackEach: false); }
        oursAcked = ProgramOurs(ackEach: true);
        ratios.Add(ours / ip);
        Console.WriteLine($"   round {round}: ours {ours:F3} s, ours with an ack per route {oursAcked:F3} s, ip -batch {ip:F3} s, ratio ours/ip {ours / ip:F2}");
    }
    ratios.Sort();
    Console.WriteLine($"   median ratio ours/ip: {ratios[1]:F2} (target <= 1.0)");
}
finally
{
    File.Delete(batchFile);
}

// 3. One change with many vs few routes present.
Console.WriteLine();
Console.WriteLine("3. one route changed (replace with another gateway), 200 changes after 20 warm-up ones");
var (p50Large, p99Large) = MeasureChanges(RouteCount);
var (p50Small, p99Small) = MeasureChanges(1_000);
Console.WriteLine($"   ratio 100,000 / 1,000: p50 {p50Large / p50Small:F2}, p99 {p99Large / p99Small:F2}");

return 0;

double ProgramOurs(bool ackEach, bool ipv6 = false)
{
    using var ns = new BenchNamespace();
    using var client = OpenClient(ns, new NetlinkClientOptions { AcknowledgeEveryRequest = ackEach });
    Func<int, IPNetwork> host = ipv6 ? Host6 : Host;
    var via = ipv6 ? BenchNamespace.Gateway6 : gateway;
    var operations = Enumerable.Range(1, RouteCount)
        .Select(i => RouteOperation.Replace(Route.ViaGateway(host(i), via, ns.Veth0, Ours))).ToList();
    client.Apply([RouteOperation.Replace(Route.ViaGateway(host(RouteCount + 1), via, ns.Veth0, Ours))]); // JIT warm-up
    var watch = Stopwatch.StartNew();
    var results = client.Apply(operations);
    watch.Stop();
    Check(results);
    Verify(ns, RouteCount + 1, ipv6);
    return watch.Elapsed.TotalSeconds;
}

double ProgramIp(string file, bool ipv6 = false)
{
    using var ns = new BenchNamespace();
    var watch = Stopwatch.StartNew();
    BenchNamespace.Run("ip", ["-n", ns.Name, .. ipv6 ? ["-6"] : Array.Empty<string>(), "-batch", file]);
    watch.Stop();
    Verify(ns, RouteCount, ipv6);
    return watch.Elapsed.TotalSeconds;
}

int ProgramIpv6()
{
    Console.WriteLine($"netlink benchmark, IPv6: {RouteCount:N0} /128 routes via {BenchNamespace.Gateway6} (fresh namespaces each round), {Environment.ProcessorCount} CPUs");
    var file = Path.Combine(Path.GetTempPath(), $"cal-bench6-{Environment.ProcessId}.batch");
    File.WriteAllLines(file, Enumerable.Range(1, RouteCount).Select(i => $"route add {Host6(i)} via {BenchNamespace.Gateway6} dev veth0 proto 80"));
    var ours = new List<double>();
    var ip = new List<double>();
    try
    {
        for (var round = 1; round <= 3; round++)
        {
            // Alternate who goes first, so neither always meets a warmer kernel.
            if (round % 2 == 1) { ours.Add(ProgramOurs(ackEach: false, ipv6: true)); ip.Add(ProgramIp(file, ipv6: true)); }
            else { ip.Add(ProgramIp(file, ipv6: true)); ours.Add(ProgramOurs(ackEach: false, ipv6: true)); }
            Console.WriteLine($"   round {round}: ours {ours[^1]:F3} s, ip -6 -batch {ip[^1]:F3} s, ratio ours/ip {ours[^1] / ip[^1]:F2}");
        }
    }
    finally
    {
        File.Delete(file);
    }
    ours.Sort();
    ip.Sort();
    Console.WriteLine($"   median: ours {ours[1]:F3} s, ip -6 -batch {ip[1]:F3} s, ratio {ours[1] / ip[1]:F2} (target <= 1.0)");
    Console.WriteLine($"ipv6-qos: routes6_100k_s={ours[1]:F3} ip_batch6_100k_s={ip[1]:F3}");
    return 0;
}

(double P50, double P99) MeasureChanges(int present)
{
    using var ns = new BenchNamespace();
    using var client = OpenClient(ns);
    Check(client.Apply(Enumerable.Range(1, present)
        .Select(i => RouteOperation.Replace(Route.ViaGateway(Host(i), gateway, ns.Veth0, Ours))).ToList()));
    var random = new Random(42);
    var samples = new List<double>();
    for (var change = 0; change < 220; change++)
    {
        var route = Route.ViaGateway(Host(random.Next(1, present + 1)), change % 2 == 0 ? otherGateway : gateway, ns.Veth0, Ours);
        var start = Stopwatch.GetTimestamp();
        client.ReplaceRoute(route);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (change >= 20) samples.Add(elapsed);
    }
    samples.Sort();
    var p50 = samples[samples.Count / 2];
    var p99 = samples[(int)Math.Ceiling(samples.Count * 0.99) - 1];
    Console.WriteLine($"   {present,7:N0} present: p50 {p50 * 1000:F0} us, p99 {p99 * 1000:F0} us, max {samples[^1] * 1000:F0} us");
    return (p50, p99);
}

// The client's socket is created inside the namespace; the namespace handle is only needed for that moment.
static NetlinkRouteClient OpenClient(BenchNamespace ns, NetlinkClientOptions? options = null)
{
    using var handle = NetworkNamespace.Open(ns.Name);
    return NetlinkRouteClient.Open(handle, options);
}

static void Check(IReadOnlyList<RouteOperationResult> results)
{
    var failed = results.FirstOrDefault(r => !r.Succeeded);
    if (failed.Error is not null) throw new InvalidOperationException($"{results.Count(r => !r.Succeeded)} failed, first: {failed.Error.Message}");
}

static void Verify(BenchNamespace ns, int expected, bool ipv6 = false)
{
    var count = ns.Ip(ipv6 ? "-6" : "-4", "route", "show", "proto", "80").Count(c => c == '\n');
    if (count != expected) throw new InvalidOperationException($"{ns.Name} holds {count} routes of ours, expected {expected}");
}

static string Mb(long bytes) => $"{bytes / (1024.0 * 1024.0):F1} MiB";
