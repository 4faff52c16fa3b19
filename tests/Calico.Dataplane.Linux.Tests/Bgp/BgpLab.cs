using System.Diagnostics;
using System.Net;
using Calico.Dataplane.Linux.Bgp;
using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Policy;
using Calico.Dataplane.Linux.Tests.Dhcp;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Calico.Dataplane.Linux.Tests.Bgp;

/// <summary>
/// Compute hosts in namespaces of the test's own on one segment (a veth pair between two hosts), each with its agent's
/// dataplane (every component; policy off, since this is about routes) and so its own BIRD, VMs in namespaces behind
/// taps, and the control plane's incremental engine in BGP routing mode computing what each host is told. Everything
/// the test writes is in one directory of its own (BIRD's configuration, socket and pid file included), which also
/// marks every process it starts: Dispose kills those (BIRD outlives its agent on purpose), then deletes the
/// namespaces and the directory. Nothing runs in or touches the machine's own namespace.
/// </summary>
public sealed class BgpLab : IDisposable
{
    private readonly List<TestNamespace> _namespaces = [];
    private readonly List<LinuxDataplane> _dataplanes = [];
    private readonly ILoggerFactory _loggers;
    private long _revision;
    private int _disposed;

    public BgpLab(ITestOutputHelper output)
    {
        TestNamespace.RequireRoot();
        if (!File.Exists("/usr/sbin/bird")) throw new InvalidOperationException("BIRD 2 is not installed: apt-get install bird2");
        _loggers = new TestOutputLoggers(output);
        // Short: BIRD's control socket inside it must fit a unix socket path.
        Root = Directory.CreateTempSubdirectory("cal-bgp-").FullName;
    }

    public string Root { get; }

    public DesiredStateEngine Engine { get; } = new(routing: ClusterRouting.Bgp);

    public sealed record Host(string Name, TestNamespace Ns, IPAddress Address, LinuxDataplane Dataplane, BirdFiles Files, IPAddress? Ipv6Address = null);

    public sealed record Vm(TestNamespace Ns, WorkloadEndpoint Port, IPAddress Address, IPAddress? Ipv6Address = null);

    /// <summary>
    /// Two hosts joined by a veth pair (eth0 on each), 172.18.203.31 and .44 as in the seed, both registered; with
    /// <paramref name="ipv6"/> also 2001:db8:ff::31 and ::44.
    /// </summary>
    public (Host A, Host B) TwoHostsOnOneSegment(bool ipv6 = false)
    {
        var a = Namespace("cal-bh");
        var b = Namespace("cal-bh");
        a.AddVethPair("eth0", "eth0", b);
        return (AddHost("h31", a, "172.18.203.31/24", ipv6WithPrefix: ipv6 ? "2001:db8:ff::31/64" : null),
            AddHost("h44", b, "172.18.203.44/24", ipv6WithPrefix: ipv6 ? "2001:db8:ff::44/64" : null));
    }

    /// <summary>
    /// Four hosts on one segment (a bridge in a switch namespace, each host's eth0 on a port of it): 172.18.203.31, .32,
    /// .33 and .44, all registered.
    /// </summary>
    public Host[] FourHostsOnOneSegment()
    {
        var fabric = Namespace("cal-bs");
        fabric.Ip("link", "add", "fabric", "type", "bridge");
        fabric.Ip("link", "set", "fabric", "up");
        (string Name, string Address)[] hosts = [("h31", "172.18.203.31"), ("h32", "172.18.203.32"), ("h33", "172.18.203.33"), ("h44", "172.18.203.44")];
        return [.. hosts.Select((h, i) =>
        {
            var ns = Namespace("cal-bh");
            fabric.AddVethPair($"port{i}", "eth0", ns);
            fabric.Ip("link", "set", $"port{i}", "master", "fabric");
            fabric.Ip("link", "set", $"port{i}", "up");
            return AddHost(h.Name, ns, h.Address + "/24");
        })];
    }

    /// <summary>
    /// Two racks: host A (10.0.1.2) and host B (10.0.2.2) each on its own segment behind a router namespace (10.0.1.1
    /// and 10.0.2.1, forwarding) that runs a BIRD of the test's own as the racks' route reflector (iBGP, AS 64512).
    /// The hosts know it as an operator's global peer with the node-to-node mesh off, so they peer with it only. Its
    /// BIRD puts what it learns into its kernel, so the router forwards between the racks.
    /// </summary>
    public (Host A, Host B, TestNamespace Router) TwoRacksWithRouteReflector(bool ipv6 = false)
    {
        var (router, hostA, hostB) = TwoRacks(64512, 64512, [], [], ipv6);
        StartRouterBird(router, """
            template bgp rack_client {
              local 10.0.1.1 as 64512;
              multihop;
              rr client;
              rr cluster id 10.0.1.1;
              connect delay time 2;
              connect retry time 5;
              ipv4 { import all; export where source = RTS_BGP; gateway recursive; };
            }
            protocol bgp rack_a from rack_client { neighbor 10.0.1.2 as 64512; }
            protocol bgp rack_b from rack_client { neighbor 10.0.2.2 as 64512; }

            """ + (ipv6 ? """
            template bgp rack_client6 {
              local 2001:db8:a::1 as 64512;
              multihop;
              rr client;
              rr cluster id 10.0.1.1;
              connect delay time 2;
              connect retry time 5;
              ipv6 { import all; export where source = RTS_BGP; gateway recursive; };
            }
            protocol bgp rack_a6 from rack_client6 { neighbor 2001:db8:a::2 as 64512; }
            protocol bgp rack_b6 from rack_client6 { neighbor 2001:db8:b::2 as 64512; }
            """ : ""), ipv6);
        Store(new BgpConfiguration(NodeToNodeMesh: false), BgpConfiguration.DefaultKey);
        Store(new BgpPeer(IPAddress.Parse("10.0.1.1"), 64512), "10.0.1.1");
        // The reflector's IPv6 address is a peer of its own: BGP's IPv6 routes travel over IPv6 sessions.
        if (ipv6) Store(new BgpPeer(IPAddress.Parse("2001:db8:a::1"), 64512), "2001:db8:a::1");
        return (hostA, hostB, router);
    }

    /// <summary>
    /// The same two racks with the router as each rack's top-of-rack router in AS 65001, and every rack its own AS
    /// (64601, 64602; hosts labelled rack=a, rack=b), as Calico's AS-per-rack model has it: each host an eBGP peer of
    /// its rack's router only (a peer per rack label, direct, rack A's with a password), the mesh off.
    /// </summary>
    public (Host A, Host B, TestNamespace Router) TwoRacksWithTopOfRackRouters(string rackAPassword)
    {
        var (router, hostA, hostB) = TwoRacks(64601, 64602, [new("rack", "a")], [new("rack", "b")]);
        StartRouterBird(router, $$"""
            template bgp rack_host {
              local as 65001;
              connect delay time 2;
              connect retry time 5;
              ipv4 { import all; export where source = RTS_BGP; };
            }
            protocol bgp rack_a from rack_host { neighbor 10.0.1.2 as 64601; source address 10.0.1.1; password "{{rackAPassword}}"; }
            protocol bgp rack_b from rack_host { neighbor 10.0.2.2 as 64602; source address 10.0.2.1; }
            """);
        Store(new BgpConfiguration(NodeToNodeMesh: false), BgpConfiguration.DefaultKey);
        Store(new BgpPeer(IPAddress.Parse("10.0.1.1"), 65001, rackAPassword, HostLabel: "rack=a"), "10.0.1.1");
        Store(new BgpPeer(IPAddress.Parse("10.0.2.1"), 65001, HostLabel: "rack=b"), "10.0.2.1");
        return (hostA, hostB, router);
    }

    /// <summary>
    /// The racks' segments: 10.0.1.0/24 and 10.0.2.0/24, with <paramref name="ipv6"/> also 2001:db8:a::/64 and
    /// 2001:db8:b::/64 (the router at ::1, each host at ::2, registered with it), the router forwarding both.
    /// </summary>
    private (TestNamespace Router, Host A, Host B) TwoRacks(uint asA, uint asB, KeyValuePair<string, string>[] labelsA, KeyValuePair<string, string>[] labelsB,
        bool ipv6 = false)
    {
        var router = Namespace("cal-br");
        var a = Namespace("cal-bh");
        var b = Namespace("cal-bh");
        router.AddVethPair("rack-a", "eth0", a);
        router.AddVethPair("rack-b", "eth0", b);
        router.Ip("addr", "add", "10.0.1.1/24", "dev", "rack-a");
        router.Ip("addr", "add", "10.0.2.1/24", "dev", "rack-b");
        router.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1");
        if (ipv6)
        {
            router.Ip("-6", "addr", "add", "2001:db8:a::1/64", "dev", "rack-a", "nodad");
            router.Ip("-6", "addr", "add", "2001:db8:b::1/64", "dev", "rack-b", "nodad");
            router.Exec("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
        }
        var hostA = AddHost("rack-a-h1", a, "10.0.1.2/24", asA, new ValueMap(labelsA), ipv6 ? "2001:db8:a::2/64" : null);
        var hostB = AddHost("rack-b-h1", b, "10.0.2.2/24", asB, new ValueMap(labelsB), ipv6 ? "2001:db8:b::2/64" : null);
        a.Ip("route", "add", "default", "via", "10.0.1.1");
        b.Ip("route", "add", "default", "via", "10.0.2.1");
        if (ipv6)
        {
            a.Ip("-6", "route", "add", "default", "via", "2001:db8:a::1");
            b.Ip("-6", "route", "add", "default", "via", "2001:db8:b::1");
        }
        return (router, hostA, hostB);
    }

    /// <summary>
    /// The router's BIRD: device, direct and kernel protocols (BGP's routes into its kernel), for IPv6 too with
    /// <paramref name="ipv6"/>, then <paramref name="peers"/>.
    /// </summary>
    private void StartRouterBird(TestNamespace router, string peers, bool ipv6 = false)
    {
        var config = Path.Combine(Root, "tor.conf");
        File.WriteAllText(config, """
            router id 10.0.1.1;
            protocol device { scan time 2; }
            protocol direct { ipv4; interface "rack-*"; }
            protocol kernel { ipv4 { import none; export filter { if source = RTS_BGP then accept; reject; }; }; }

            """ + (ipv6 ? """
            protocol direct direct6 { ipv6; interface "rack-*"; }
            protocol kernel kernel6 { ipv6 { import none; export filter { if source = RTS_BGP then accept; reject; }; }; }

            """ : "") + peers);
        // Daemonizes; its command line names our directory, so Dispose kills it.
        router.Exec("/usr/sbin/bird", "-c", config, "-s", Path.Combine(Root, "tor.ctl"), "-P", Path.Combine(Root, "tor.pid"));
    }

    /// <summary>The BGP hold time of the hosts' BIRDs created from now on (BIRD's 240 s by default).</summary>
    public TimeSpan HoldTime { get; set; } = TimeSpan.FromSeconds(240);

    /// <summary>How long the hosts' peers keep their routes after their session broke (BIRD's 120 s by default).</summary>
    public TimeSpan GracefulRestartTime { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>A host on <paramref name="ns"/>'s eth0, registered with its address (and its IPv6 address, if given).</summary>
    public Host AddHost(string name, TestNamespace ns, string addressWithPrefix, uint? asNumber = null, ValueMap? labels = null,
        string? ipv6WithPrefix = null)
    {
        ns.Ip("addr", "add", addressWithPrefix, "dev", "eth0");
        var address = IPAddress.Parse(addressWithPrefix[..addressWithPrefix.IndexOf('/')]);
        IPAddress? ipv6 = null;
        if (ipv6WithPrefix is not null)
        {
            ns.Ip("-6", "addr", "add", ipv6WithPrefix, "dev", "eth0", "nodad");
            ipv6 = IPAddress.Parse(ipv6WithPrefix[..ipv6WithPrefix.IndexOf('/')]);
        }
        Store(new HostSpec(name, address, ipv6, asNumber, labels ?? ValueMap.Empty), name);
        return NewAgent(name, ns, address) with { Ipv6Address = ipv6 };
    }

    /// <summary>The host's agent stops (its dataplane disposed: BIRD goes on, fail-static) and a new one starts.</summary>
    public Host Restart(Host host)
    {
        host.Dataplane.Dispose();
        return NewAgent(host.Name, host.Ns, host.Address) with { Ipv6Address = host.Ipv6Address };
    }

    private Host NewAgent(string name, TestNamespace ns, IPAddress address)
    {
        var bgp = new BgpOptions
        {
            BirdStateDirectory = Path.Combine(Root, "bird"),
            BirdRestartDelay = TimeSpan.FromMilliseconds(300),
            BirdMaxRestartDelay = TimeSpan.FromSeconds(2),
            BirdGracefulRestartWait = TimeSpan.FromSeconds(30),
            BgpHoldTime = HoldTime,
            BirdGracefulRestartTime = GracefulRestartTime,
        };
        var dataplane = new LinuxDataplane(Microsoft.Extensions.Options.Options.Create(
                new DataplaneOptions { NetworkNamespace = ns.Name, RetryBaseDelay = TimeSpan.FromMilliseconds(1) }),
            _loggers, LinuxDataplaneComponents.All, null,
            FeatureOptions.Defaults.With(new PolicyOptions { PolicyEnabled = false }).With(bgp)
                .With(new Calico.Dataplane.Linux.Dhcp.DhcpOptions { DhcpStateDirectory = Path.Combine(Root, "dhcp") }));
        _dataplanes.Add(dataplane);
        return new Host(name, ns, address, dataplane, BirdFiles.For(bgp, ns.Name));
    }

    /// <summary>
    /// A VM on <paramref name="host"/>: its port bound there, its namespace's eth0 the peer of the port's tap. With
    /// <paramref name="ipv6"/> it is dual stack: the port holds that address too (subnet sub-6), and the guest routes
    /// IPv6 via its tap's link-local address, as a router advertisement would have it do.
    /// </summary>
    public Vm AddVm(Host host, string portId, string address, string? ipv6 = null)
    {
        var ip = IPAddress.Parse(address);
        var ip6 = ipv6 is null ? null : IPAddress.Parse(ipv6);
        var mac = $"fa:16:3e:00:{_namespaces.Count:x2}:{ip.GetAddressBytes()[3]:x2}";
        var fixedIps = ip6 is null ? ValueList.Create(new FixedIp("sub-1", ip)) : ValueList.Create(new FixedIp("sub-1", ip), new FixedIp("sub-6", ip6));
        var port = new WorkloadEndpoint(portId, "net-1", portId, "proj", host.Name, mac, fixedIps,
            ValueList<string>.Empty, ValueList<AllowedAddressPair>.Empty, true, "vm-" + portId, "compute:nova", PortSecurityOff: true);
        var ns = Namespace("cal-bv");
        host.Ns.AddVethPair(port.InterfaceName, "eth0", ns);
        ns.Ip("link", "set", "eth0", "address", mac);
        ns.Ip("addr", "add", address + "/32", "dev", "eth0");
        ns.Ip("route", "add", "default", "dev", "eth0");
        if (ip6 is not null)
        {
            ns.Ip("-6", "addr", "add", ip6 + "/128", "dev", "eth0", "nodad");
            ns.Ip("-6", "route", "add", "default", "via", LinkLocalOf(host, port.InterfaceName), "dev", "eth0");
        }
        Store(port, portId);
        return new Vm(ns, port, ip, ip6);
    }

    /// <summary>The kernel's link-local address of <paramref name="device"/> on the host (given to an interface as it comes up).</summary>
    private static string LinkLocalOf(Host host, string device)
    {
        var line = host.Ns.Ip("-6", "-o", "addr", "show", "dev", device, "scope", "link");
        var start = line.IndexOf("inet6 ", StringComparison.Ordinal) + 6;
        if (start < 6) throw new InvalidOperationException($"{device} on {host.Name} has no link-local address: {line}");
        return line[start..line.IndexOf('/', start)];
    }

    public void Block(string cidr, string host)
    {
        var prefix = IpPrefix.Parse(cidr);
        var subnet = prefix.Version == 6 ? "sub-6" : "sub-1";
        Store(new IpBlock(prefix, subnet, host), IpBlock.KeyFor(subnet, prefix));
    }

    public void DeletePort(string portId) => Engine.Apply(new ResourceChange(ResourceKind.Endpoint, portId, ++_revision, null));

    /// <summary>Stores a resource in the engine, as the calculator does after a write.</summary>
    public void Store(object value, string key) => Engine.Apply(new ResourceChange(ResourceChange.KindOf(value), key, ++_revision, value));

    /// <summary>Each host's agent applies what the engine holds for it now (a snapshot, as a watcher after a restart).</summary>
    public async Task ApplyAsync(params Host[] hosts)
    {
        foreach (var host in hosts)
        {
            var state = Engine.Snapshot(host.Name);
            await host.Dataplane.ApplyAsync(state, [.. state.Values.Select(i => new DesiredChange(i.Key, i))], true, CancellationToken.None);
        }
    }

    /// <summary>`ip route show PREFIX` in the host's namespace (empty when there is none).</summary>
    public static string Route(Host host, string prefix) => host.Ns.Ip("route", "show", prefix).Trim();

    /// <summary>`ip -6 route show PREFIX` in the host's namespace (empty when there is none).</summary>
    public static string Route6(Host host, string prefix) => host.Ns.Ip("-6", "route", "show", prefix).Trim();

    public static string Birdc(Host host, params string[] command) => new BirdControl("/usr/sbin/birdc", host.Files.Socket).Run(command);

    public static int? BirdPid(Host host) =>
        Processes.SupervisedProcessPid(host.Files.PidFile) is { } pid && DhcpLab.IsAlive(pid) ? pid : null;

    public static bool Pings(Vm from, IPAddress to)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        var family = to.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "-6" : "-4";
        foreach (var a in new[] { "netns", "exec", from.Ns.Name, "ping", family, "-c", "1", "-W", "1", to.ToString() }) start.ArgumentList.Add(a);
        using var ping = Process.Start(start)!;
        ping.StandardOutput.ReadToEnd();
        ping.WaitForExit();
        return ping.ExitCode == 0;
    }

    private TestNamespace Namespace(string prefix)
    {
        var ns = TestNamespace.Create(prefix);
        _namespaces.Add(ns);
        return ns;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var dataplane in _dataplanes) dataplane.Dispose();
        // Processes first (BIRD outlives its agent): a process inside a deleted namespace would keep it alive.
        DhcpLab.KillProcesses(Root);
        foreach (var ns in _namespaces) ns.Dispose();
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>Reads a pid file (for the lab).</summary>
internal static class Processes
{
    public static int? SupervisedProcessPid(string pidFile) =>
        File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid) ? pid : null;
}
