using System.Collections.Concurrent;
using System.Net;
using Calico.Model.Resources;
using Calico.Topology.Api;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;

namespace Calico.Topology;

/// <summary>
/// The end-to-end topology of issue 7, built from network namespaces on this machine:
/// <code>
///   {prefix}fabric   br0 ─┬─ {prefix}ctl  eth0 172.18.203.10   calico-silo --role controller (API :9696, SQLite)
///                        ├─ {prefix}h1   eth0 172.18.203.31   calico-silo --role compute --host-name h1  (and fd00:18:203::31)
///                        ├─ {prefix}h2   eth0 172.18.203.44   calico-silo --role compute --host-name h2  (and fd00:18:203::44)
///                        └─ ...
///   {prefix}vm1  eth0 (port MAC) ══ veth ══ tapXXXXXXXX-XX in {prefix}h1
/// </code>
/// This process stays in the machine's namespace and never adds an address, route or rule there: links are created
/// directly inside the topology's namespaces, commands run with <c>ip -n</c> / <c>ip netns exec</c>, and sockets are
/// created inside a namespace (<see cref="NamespacedHttp"/>). Every name starts with the run's prefix; everything is
/// removed by <see cref="DisposeAsync"/>, after a failed start, at process exit (<see cref="RunLedger"/>), or later by
/// <c>topology down</c> (<see cref="Leftovers"/>) if this process was killed.
/// </summary>
public sealed class NamespaceTopology : IAsyncDisposable
{
    public static readonly IPAddress ControllerAddress = IPAddress.Parse("172.18.203.10");

    private readonly RunLedger _ledger;
    private readonly ConcurrentDictionary<string, VirtualMachine> _vms = new(StringComparer.Ordinal);
    private readonly List<ComputeHost> _hosts = [];
    private readonly List<ControllerNode> _controllers = [];
    private readonly List<SiloProcess> _others = [];
    private readonly Action<string> _log;
    private int _disposed;

    private NamespaceTopology(TopologyOptions options, RunLedger ledger)
    {
        Options = options;
        _ledger = ledger;
        _log = options.Log ?? (_ => { });
        SiloDll = options.SiloDll ?? Path.Combine(AppContext.BaseDirectory, "calico-silo.dll");
    }

    public TopologyOptions Options { get; }

    public RunPrefix Prefix => _ledger.Prefix;

    /// <summary>/tmp/cal-e2e-XXXXXX: the silos' data and logs.</summary>
    public string TempDirectory => _ledger.TempDirectory;

    public string SiloDll { get; }

    public Fabric Fabric { get; private set; } = null!;

    /// <summary>The first controller ({prefix}ctl, 172.18.203.10), whose API <see cref="Api"/> reaches.</summary>
    public ControllerNode Controller => _controllers[0];

    /// <summary>Every controller: ctl, then ctl2, ctl3 (<see cref="TopologyOptions.Controllers"/>).</summary>
    public IReadOnlyList<ControllerNode> Controllers => _controllers;

    /// <summary>The run's PostgreSQL server, with <see cref="TopologyOptions.Postgres"/>; otherwise null.</summary>
    public DatabaseNode? Database { get; private set; }

    public IReadOnlyList<ComputeHost> Hosts => _hosts;

    public IReadOnlyCollection<VirtualMachine> Vms => [.. _vms.Values.OrderBy(v => v.Name, StringComparer.Ordinal)];

    public NeutronClient Api => Controller.Api;

    /// <summary>Every silo: controllers, hosts, then those <see cref="StartSiloAsync"/> added.</summary>
    public IEnumerable<SiloProcess> Silos
    {
        get
        {
            lock (_others) return [.. _controllers.Select(c => c.Silo), .. _hosts.Select(h => h.Silo), .. _others];
        }
    }

    /// <summary>The address of host <paramref name="index"/> (1-based): 172.18.203.31, .44, .57, ...</summary>
    public static IPAddress HostAddress(int index) => IPAddress.Parse($"172.18.203.{31 + 13 * (index - 1)}");

    /// <summary>
    /// The IPv6 address of host <paramref name="index"/>, registered as its Compute:Ipv6Address (other hosts route its
    /// IPv6 workloads via it; in BGP mode its IPv6 sessions start from it): fd00:18:203::31, ::44, ... on the fabric (the
    /// IPv4 address's last number, read as hex digits); with two racks, rack 2's hosts on fd00:18:204::/64.
    /// </summary>
    public static IPAddress HostIpv6Address(int index, int racks = 1) =>
        IPAddress.Parse($"fd00:18:{(HostPlace(index, racks).Rack == 2 ? 204 : 203)}::{31 + 13 * (index - 1)}");

    /// <summary>With two racks: the rack of host <paramref name="index"/> (odd hosts r1, even r2) and its address there.</summary>
    public static (int Rack, IPAddress Address) HostPlace(int index, int racks) =>
        racks == 2 && index % 2 == 0 ? (2, IPAddress.Parse($"172.18.204.{31 + 13 * (index - 1)}")) : (1, HostAddress(index));

    /// <summary>Two racks: the router between them (<see cref="TopologyOptions.Racks"/>); its addresses and AS.</summary>
    public static readonly IPAddress RouterAddress = IPAddress.Parse("172.18.203.1");
    public static readonly IPAddress RackTwoGateway = IPAddress.Parse("172.18.204.1");
    public const string RackTwoSubnet = "172.18.204.0/24";

    /// <summary>The router's IPv6 addresses: on the fabric (fd00:18:203::/64), and rack 2's gateway (fd00:18:204::/64).</summary>
    public static readonly IPAddress RouterIpv6Address = IPAddress.Parse("fd00:18:203::1");
    public static readonly IPAddress RackTwoIpv6Gateway = IPAddress.Parse("fd00:18:204::1");
    public const string RackTwoIpv6Subnet = "fd00:18:204::/64";

    /// <summary>The router namespace of a two-rack topology (its BIRD: the hosts' route reflector), else null.</summary>
    public Netns? Router { get; private set; }

    /// <summary>Builds the fabric, the controller and the hosts, starts every silo at once and waits until all are ready.</summary>
    public static async Task<NamespaceTopology> StartAsync(TopologyOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Hosts is < 1 or > 17) throw new ArgumentOutOfRangeException(nameof(options), options.Hosts, "Hosts must be 1..17 (172.18.203.31 + 13 per host).");
        if (options.Controllers is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(options), options.Controllers, "Controllers must be 1..3 (172.18.203.10, .11, .12).");
        if (options.Racks is < 1 or > 2) throw new ArgumentOutOfRangeException(nameof(options), options.Racks, "Racks must be 1 or 2.");
        if (options.Controllers > 1 && !options.Postgres)
            throw new ArgumentException($"Controllers = {options.Controllers} needs Postgres = true: several controllers share the database and its membership table.", nameof(options));
        RequireRoot();
        var topology = new NamespaceTopology(options, RunLedger.Open(options.Prefix ?? RunPrefix.New(options.Kind)));
        if (!File.Exists(topology.SiloDll))
        {
            await topology.DisposeAsync();
            throw new TopologyException($"calico-silo.dll not found at {topology.SiloDll}; build src/Calico.Silo (the harness references it).");
        }
        try
        {
            await topology.BuildAsync(cancellationToken);
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    public static void RequireRoot()
    {
        if (!Environment.IsPrivilegedProcess)
            throw new TopologyException(
                "The topology creates network namespaces, veth pairs and a bridge, which needs root (CAP_SYS_ADMIN and " +
                "CAP_NET_ADMIN). Run as root; it touches only namespaces it creates itself.");
    }

    private async Task BuildAsync(CancellationToken cancellationToken)
    {
        var fabric = await CreateNamespaceAsync("fabric");
        await fabric.IpAsync("link", "add", Fabric.Bridge, "type", "bridge");
        await fabric.IpAsync("link", "set", Fabric.Bridge, "up");
        Fabric = new Fabric(fabric);

        if (Options.Postgres)
        {
            var db = await CreateNamespaceAsync("db");
            await Fabric.ConnectAsync(db, "p-db", DatabaseNode.Address);
            Database = await DatabaseNode.StartAsync(db, TempDirectory);
            _log($"{Prefix}: PostgreSQL at {DatabaseNode.Address}");
        }

        for (var i = 1; i <= Options.Controllers; i++)
        {
            var node = i == 1 ? "ctl" : $"ctl{i}";
            var silo = i == 1 ? "controller" : $"controller{i}";
            var address = ControllerAddressOf(i);
            var ns = await CreateNamespaceAsync(node);
            await Fabric.ConnectAsync(ns, $"p-{node}", address);
            _controllers.Add(new ControllerNode(ns, address, NewSilo(silo, ns, address, ControllerArguments(silo, address))));
        }

        if (Options.Racks == 2) Router = await CreateRouterAsync();
        for (var i = 1; i <= Options.Hosts; i++)
        {
            var name = $"h{i}";
            var (rack, address) = HostPlace(i, Options.Racks);
            var ns = await CreateNamespaceAsync(name);
            if (rack == 1) await Fabric.ConnectAsync(ns, $"p-{name}", address);
            else await ConnectToRackTwoAsync(ns, $"p-{name}", address);
            var arguments = ComputeArguments(name, address);
            await ns.IpAsync("-6", "addr", "add", $"{HostIpv6Address(i, Options.Racks)}/64", "dev", "eth0", "nodad");
            arguments.AddRange(["--host-ipv6", HostIpv6Address(i, Options.Racks).ToString()]);
            if (rack == 2) await ns.IpAsync("-6", "route", "add", "default", "via", RackTwoIpv6Gateway.ToString());
            if (Options.Racks == 2)
            {
                arguments.Add($"--Compute:Labels:rack=r{rack}");
                // A BIRD starts in graceful-restart recovery and programs the kernel only once its peers at start have
                // sent everything or this wait ends; here its first peers (the mesh) are replaced by the router right
                // after the start, so the default 120 s would hold every route back for two minutes.
                arguments.Add($"--Dataplane:BirdGracefulRestartWait={TopologyOptions.Span(BirdGracefulRestartWait)}");
            }
            _hosts.Add(new ComputeHost(name, ns, address, NewSilo(name, ns, address, arguments)));
        }
        if (Router is not null)
        {
            // The fabric's members reach rack 2 through the router; rack 2 reaches everything through it.
            // (PostgreSQL's too: rack 2's compute silos cluster and read through it.)
            IEnumerable<Netns> fabricMembers = [.. _controllers.Select(c => c.Namespace), .. Database is null ? [] : new[] { Database.Namespace },
                .. _hosts.Where(h => h.Address.ToString().StartsWith("172.18.203.", StringComparison.Ordinal)).Select(h => h.Namespace)];
            foreach (var member in fabricMembers)
                await member.IpAsync("route", "add", RackTwoSubnet, "via", RouterAddress.ToString());
            // Over IPv6 too, for the hosts (the controllers have no IPv6 address).
            foreach (var member in _hosts.Where(h => h.Address.ToString().StartsWith("172.18.203.", StringComparison.Ordinal)).Select(h => h.Namespace))
                await member.IpAsync("-6", "route", "add", RackTwoIpv6Subnet, "via", RouterIpv6Address.ToString());
            await StartRouterBirdAsync(Router);
        }

        // All at once: compute silos keep trying to join until a controller (the primary silo, or any on PostgreSQL) is up.
        foreach (var silo in Silos) silo.Start();
        await Task.WhenAll(Silos.Select(s => s.WaitReadyAsync(Options.StartTimeout, cancellationToken)));
        _log($"{Prefix}: {_controllers.Count} controller(s) and {_hosts.Count} hosts ready");
        if (Router is not null)
        {
            // The hosts peer with the router only: the mesh off, the router a global peer (as an operator would), at
            // its IPv4 address and at its IPv6 address (BGP's IPv6 routes travel over IPv6 sessions).
            await CalicoctlAsync("bgp", "config", "--mesh", "off");
            await CalicoctlAsync("bgp", "peer", "add", "--address", RouterAddress.ToString(), "--as", $"{RouterAsNumber}");
            await CalicoctlAsync("bgp", "peer", "add", "--address", RouterIpv6Address.ToString(), "--as", $"{RouterAsNumber}");
            _log($"{Prefix}: BGP mesh off, every host peering with the router {RouterAddress} and {RouterIpv6Address}");
        }
    }

    public const uint RouterAsNumber = 64512;

    /// <summary>The compute silos' Dataplane:BirdGracefulRestartWait with two racks (why: see where it is set).</summary>
    public static readonly TimeSpan BirdGracefulRestartWait = TimeSpan.FromSeconds(5);

    /// <summary>calicoctl, run in the first controller's namespace against every controller's gateway.</summary>
    public Task<string> CalicoctlAsync(params string[] args) =>
        Controller.Namespace.ExecAsync(
        [
            "dotnet", Path.Combine(AppContext.BaseDirectory, "calicoctl.dll"), .. args,
            .. _controllers.SelectMany(c => new[] { "--gateway", $"{c.Address}:30000" }),
        ]);

    /// <summary>
    /// {prefix}tor: on the fabric at 172.18.203.1 and fd00:18:203::1, and the gateway (172.18.204.1, fd00:18:204::1) of
    /// rack 2's bridge br1; forwards both.
    /// </summary>
    private async Task<Netns> CreateRouterAsync()
    {
        var router = await CreateNamespaceAsync("tor");
        await Fabric.ConnectAsync(router, "p-tor", RouterAddress);
        await router.IpAsync("-6", "addr", "add", $"{RouterIpv6Address}/64", "dev", "eth0", "nodad");
        await router.IpAsync("link", "add", "br1", "type", "bridge");
        await router.IpAsync("addr", "add", $"{RackTwoGateway}/24", "dev", "br1");
        await router.IpAsync("-6", "addr", "add", $"{RackTwoIpv6Gateway}/64", "dev", "br1", "nodad");
        await router.IpAsync("link", "set", "br1", "up");
        await router.ExecAsync("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
        return router;
    }

    private async Task ConnectToRackTwoAsync(Netns member, string portName, IPAddress address)
    {
        await member.IpAsync("link", "add", "eth0", "type", "veth", "peer", "name", portName, "netns", Router!.Name);
        await Router.IpAsync("link", "set", portName, "master", "br1", "up");
        await member.IpAsync("addr", "add", $"{address}/24", "dev", "eth0");
        await member.IpAsync("link", "set", "eth0", "up");
        await member.IpAsync("route", "add", "default", "via", RackTwoGateway.ToString());
    }

    /// <summary>
    /// The router's BIRD (the run's own, in its directory; killed with the namespace): every host a route-reflector
    /// client (iBGP, multihop) at its IPv4 and at its IPv6 address, and what it learns into its kernel, so that it
    /// forwards between the racks.
    /// </summary>
    private async Task StartRouterBirdAsync(Netns router)
    {
        var directory = Path.Combine(TempDirectory, "tor");
        Directory.CreateDirectory(directory);
        var config = Path.Combine(directory, "bird.conf");
        var clients = string.Concat(_hosts.Select((h, i) => $"protocol bgp {h.Name} from rack_client {{ neighbor {h.Address} as {RouterAsNumber}; }}\n"
            + $"protocol bgp {h.Name}_6 from rack_client6 {{ neighbor {HostIpv6Address(i + 1, Options.Racks)} as {RouterAsNumber}; }}\n"));
        // One template per family, the same but for the address the sessions start from and the channel.
        string Template(string name, IPAddress local, string channel) => $$"""
            template bgp {{name}} {
              local {{local}} as {{RouterAsNumber}};
              multihop;
              rr client;
              rr cluster id {{RouterAddress}};
              connect delay time 2;
              connect retry time 5;
              {{channel}} { import all; export where source = RTS_BGP; gateway recursive; };
            }

            """;
        await File.WriteAllTextAsync(config, $$"""
            router id {{RouterAddress}};
            protocol device { scan time 2; }
            protocol direct { ipv4; interface "eth0", "br1"; }
            protocol kernel { ipv4 { import none; export filter { if source = RTS_BGP then accept; reject; }; }; }
            protocol direct direct6 { ipv6; interface "eth0", "br1"; }
            protocol kernel kernel6 { ipv6 { import none; export filter { if source = RTS_BGP then accept; reject; }; }; }

            """ + Template("rack_client", RouterAddress, "ipv4") + Template("rack_client6", RouterIpv6Address, "ipv6") + clients);
        await router.ExecAsync("bird", "-c", config, "-s", Path.Combine(directory, "bird.ctl"), "-P", Path.Combine(directory, "bird.pid"));
        _log($"{Prefix}: router {router.Name} with BIRD (route reflector of {_hosts.Count} hosts), rack 2 on {RackTwoSubnet}");
    }

    private SiloProcess NewSilo(string node, Netns ns, IPAddress address, List<string> arguments)
    {
        var directory = Path.Combine(TempDirectory, node);
        Directory.CreateDirectory(directory);
        arguments.AddRange(CommonArguments(directory));
        arguments.AddRange(node.StartsWith("controller", StringComparison.Ordinal) ? Options.ControllerArguments : Options.ComputeArguments);
        // Supervised from the start; a silo that cannot start at all fails the start through its readiness wait.
        return new SiloProcess(node, ns, SiloDll, arguments, directory, new Uri($"http://{address}:{ControllerNode.ApiPort}/"), _ledger, _log);
    }

    /// <summary>The address of controller <paramref name="index"/> (1-based): 172.18.203.10, .11, .12.</summary>
    public static IPAddress ControllerAddressOf(int index) => IPAddress.Parse($"172.18.203.{9 + index}");

    private List<string> ControllerArguments(string name, IPAddress address) =>
    [
        "--role", "controller", "--name", name,
        .. Options.Racks == 2 ? (string[])["--Routing:Mode=bgp"] : [],
        "--advertise", address.ToString(),
        "--listen", $"http://{address}:{ControllerNode.ApiPort}",
        // The API listens on a non-loopback address, where "auto" would demand tokens; the topology is private.
        "--Api:Auth=none",
        .. Database is null
            ? []
            : (string[])["--clustering", "postgres", "--datastore", "postgres", "--connection-string", Database.ConnectionString,
                $"--Calculator:Shards={Options.Controllers}"],
    ];

    /// <summary>How a compute silo finds the cluster: the primary silo, or the membership table on PostgreSQL.</summary>
    private string[] ComputeClustering() => Database is null
        ? ["--primary", $"{ControllerAddress}:{ControllerNode.SiloPort}"]
        : ["--clustering", "postgres", "--connection-string", Database.ConnectionString];

    private List<string> ComputeArguments(string name, IPAddress address) =>
    [
        "--role", "compute", "--name", $"compute-{name}",
        .. ComputeClustering(),
        "--advertise", address.ToString(),
        "--host-name", name,
        "--host-ipv4", address.ToString(),
        "--listen", $"http://{address}:{ControllerNode.ApiPort}",
        // appsettings.json beside the silo says "memory"; here the silo programs the namespace it runs in.
        "--Compute:Dataplane=linux",
        $"--Dataplane:RouteResyncInterval={TopologyOptions.Span(Options.RouteResyncInterval)}",
        $"--Compute:MaxRetryDelay={TopologyOptions.Span(Options.MaxRetryDelay)}",
        $"--Dataplane:PolicyEnabled={(Options.Policy ? "true" : "false")}",
        // dnsmasq's files in the run's directory, never in the machine's /var/lib/calico.
        $"--Dataplane:DhcpStateDirectory={Path.Combine(TempDirectory, name, "dhcp")}",
        // BIRD's likewise (BGP routing mode), never /etc/bird or /var/lib/calico.
        $"--Dataplane:BirdStateDirectory={Path.Combine(TempDirectory, name, "bird")}",
    ];

    private List<string> CommonArguments(string directory) =>
    [
        "--data-dir", Path.Combine(directory, "data"),
        $"--Hosts:ReportInterval={TopologyOptions.Span(Options.ReportInterval)}",
        $"--Hosts:DeadAfter={TopologyOptions.Span(Options.DeadAfter)}",
        // FormatterOptions bind only with a formatter named.
        "--Logging:Console:FormatterName=simple",
        "--Logging:Console:FormatterOptions:SingleLine=true",
        "--Logging:Console:FormatterOptions:TimestampFormat=HH:mm:ss.fff ",
        $"--Logging:LogLevel:Calico={(Options.DebugLogs ? "Debug" : "Information")}",
    ];

    /// <summary>A namespace {prefix}{suffix} with lo up and its own resolv.conf, recorded before it exists.</summary>
    private async Task<Netns> CreateNamespaceAsync(string suffix)
    {
        var name = Prefix.Value + suffix;
        _ledger.RecordNamespace(name);
        EtcNetns.WriteResolvConf(name, $"# {name}: a namespace of the Calico topology harness; no name servers here.\n");
        await Shell.RunAsync("ip", ["netns", "add", name]);
        var ns = new Netns(name);
        await ns.IpAsync("link", "set", "lo", "up");
        return ns;
    }

    public ComputeHost Host(string name) => _hosts.Single(h => h.Name == name);

    /// <summary>Where "the outside" sits on the fabric (a client or an upstream router): 172.18.203.2.</summary>
    public static readonly IPAddress OutsideAddress = IPAddress.Parse("172.18.203.2");

    /// <summary>
    /// A namespace {prefix}ext on the fabric at <see cref="OutsideAddress"/>, with no route beyond the fabric: the
    /// caller adds what an upstream router would know (e.g. the floating range via a compute host).
    /// </summary>
    public Task<Netns> AddOutsideAsync() => AddNodeAsync("ext", OutsideAddress);

    /// <summary>
    /// A namespace {prefix}{suffix} on the fabric, its eth0 holding <paramref name="address"/>/24 (an address of
    /// 172.18.203.0/24 no other node has), with no route beyond the fabric; removed with the run.
    /// </summary>
    public async Task<Netns> AddNodeAsync(string suffix, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var ns = await CreateNamespaceAsync(suffix);
        await Fabric.ConnectAsync(ns, $"p-{suffix}", address);
        // Like every member of the fabric, it reaches rack 2 through the router.
        if (Router is not null) await ns.IpAsync("route", "add", RackTwoSubnet, "via", RouterAddress.ToString());
        return ns;
    }

    /// <summary>
    /// Starts one more calico-silo, named <paramref name="name"/>, in <paramref name="ns"/> (a namespace of this run)
    /// with exactly <paramref name="arguments"/> and its data in the run's directory (<c>--data-dir</c> is added),
    /// supervised and stopped with the run like the others; waits until <paramref name="healthBase"/>/readyz answers.
    /// It joins whatever cluster its arguments say (its own, unless told otherwise).
    /// </summary>
    public async Task<SiloProcess> StartSiloAsync(string name, Netns ns, Uri healthBase, IReadOnlyList<string> arguments,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ns);
        var directory = Path.Combine(TempDirectory, name);
        Directory.CreateDirectory(directory);
        var silo = new SiloProcess(name, ns, SiloDll, [.. arguments, "--data-dir", Path.Combine(directory, "data")], directory, healthBase, _ledger, _log);
        lock (_others) _others.Add(silo);
        silo.Start();
        await silo.WaitReadyAsync(Options.StartTimeout, cancellationToken);
        return silo;
    }

    /// <summary>The run's Prometheus, once <see cref="AddPrometheusAsync"/> started it; otherwise null.</summary>
    public PrometheusNode? Prometheus { get; private set; }

    /// <summary>
    /// Starts a Prometheus in a namespace {prefix}prom on the fabric at <see cref="PrometheusNode.Address"/>, with
    /// <paramref name="configuration"/> (its prometheus.yaml: scrape the silos at their fabric addresses, port
    /// <see cref="ControllerNode.ApiPort"/>) and the <paramref name="files"/> it names (rule files: name → text).
    /// </summary>
    public async Task<PrometheusNode> AddPrometheusAsync(string configuration, IReadOnlyDictionary<string, string> files)
    {
        if (Prometheus is not null) throw new InvalidOperationException("this topology has a Prometheus already");
        var ns = await AddNodeAsync("prom", PrometheusNode.Address);
        Prometheus = await PrometheusNode.StartAsync(ns, TempDirectory, configuration, files);
        return Prometheus;
    }

    /// <summary>
    /// Plugs a VM into <paramref name="host"/> the way Nova/libvirt does for a port: a namespace {prefix}{name} whose
    /// eth0 has the port's MAC, and in the host the tap end named after the port (tap + 11 characters of its id).
    /// Addresses are not configured here (see <see cref="VirtualMachine.ConfigureStaticAsync"/>).
    /// <see cref="DefineVmAsync"/> then <see cref="PlugVmAsync"/>.
    /// </summary>
    public async Task<VirtualMachine> AddVmAsync(string name, ComputeHost host, string portId, string macAddress)
    {
        var vm = await DefineVmAsync(name, host, portId, macAddress);
        await PlugVmAsync(vm);
        return vm;
    }

    /// <summary>
    /// The first half of <see cref="AddVmAsync"/>: the VM's namespace {prefix}{name}, with nothing plugged yet (no tap
    /// in the host, no eth0), as a domain Nova has defined but whose VIF it has not plugged. Lets a caller plug it
    /// later, e.g. after binding its port, which is Nova's order.
    /// </summary>
    public async Task<VirtualMachine> DefineVmAsync(string name, ComputeHost host, string portId, string macAddress)
    {
        ArgumentNullException.ThrowIfNull(host);
        var ns = await CreateNamespaceAsync(name);
        var vm = new VirtualMachine(name, ns, host, portId, macAddress, WorkloadEndpoint.InterfaceNameFor(portId));
        if (!_vms.TryAdd(name, vm)) throw new InvalidOperationException($"a VM named {name} exists already");
        return vm;
    }

    /// <summary>
    /// The second half of <see cref="AddVmAsync"/>: plugs a VM from <see cref="DefineVmAsync"/> (its first command
    /// creates the tap in the host, with eth0 as its peer in the VM; then both are set up).
    /// </summary>
    public async Task PlugVmAsync(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        // One message creates both ends with their final MACs (libvirt gives the tap the VM's MAC with fe as first
        // byte): a MAC changed once the tap exists would flush the permanent neighbour entry the host agent may
        // already have put on it.
        await vm.Host.Namespace.IpAsync("link", "add", vm.TapName, "address", "fe" + vm.MacAddress[2..], "type", "veth",
            "peer", "name", "eth0", "address", vm.MacAddress, "netns", vm.Namespace.Name);
        await vm.Namespace.IpAsync("link", "set", "eth0", "up");
        await vm.Host.Namespace.IpAsync("link", "set", vm.TapName, "up");
    }

    /// <summary>
    /// Unplugs a VM's VIF and keeps the VM (its namespace), as Nova's unplug_vifs does: deletes the tap, hence its peer
    /// eth0. <see cref="PlugVmAsync"/> plugs it again. The kernel drops the tap's routes without announcing it (see
    /// <see cref="Probes.RouteTable"/>).
    /// </summary>
    public Task UnplugVmAsync(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        return vm.Host.Namespace.IpAsync("link", "del", vm.TapName);
    }

    /// <summary>
    /// The first half of a live migration's move, as Nova's pre_live_migration plugs the VIF on the target and libvirt
    /// opens it for the incoming QEMU: a tap on <paramref name="target"/> named as the VM's, up, whose peer waits in the
    /// VM's namespace as eth1 with the VM's MAC, up too — so the tap has carrier from now on, as a real tap has while
    /// the paused incoming QEMU holds it — but silent: IPv6 off on it and no address, so it sends no frame until the VM
    /// "resumes" there. <see cref="MoveVmAsync"/> finishes the move.
    /// </summary>
    public async Task PrepareMoveAsync(VirtualMachine vm, ComputeHost target)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(target);
        if (target == vm.Host) throw new ArgumentException($"{vm.Name} runs on {target.Name} already", nameof(target));
        await target.Namespace.IpAsync("link", "add", vm.TapName, "address", "fe" + vm.MacAddress[2..], "type", "veth",
            "peer", "name", "eth1", "address", vm.MacAddress, "netns", vm.Namespace.Name);
        await target.Namespace.IpAsync("link", "set", vm.TapName, "up");
        await vm.Namespace.ExecAsync("sysctl", "-q", "-w", "net.ipv6.conf.eth1.disable_ipv6=1");
        await vm.Namespace.IpAsync("link", "set", "eth1", "up");
        vm.MovingTo = target;
    }

    /// <summary>
    /// The second half: the VM stops on its host and resumes on the target, in one `ip -batch` inside the VM's namespace
    /// (no process starts in between), run at the highest priority so that the machine's load does not stretch the
    /// VM's pause: its eth0 set down (the source's tap loses carrier, as when QEMU stops there) and renamed, eth1 renamed
    /// eth0 (the target's tap has had carrier since <see cref="PrepareMoveAsync"/>), its address and default route put back, then the old interface
    /// deleted (hence the source's tap, as Nova unplugs it after the migration). Its sockets stay (the namespace is the
    /// VM). The VM announces itself with a gratuitous ARP the moment it runs behind the target's tap, as QEMU (and the
    /// guest) do when it resumes: a python3 program started before the move, at the same priority, watches for the
    /// waiting interface to be eth0 and up, then sends it from a raw socket (as `arping -U` would). It is the first
    /// frame on the target's tap, which tells the target's agent that the VM runs there.
    /// </summary>
    public async Task MoveVmAsync(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var target = vm.MovingTo ?? throw new InvalidOperationException($"{vm.Name}: PrepareMoveAsync first");
        // eth1 is set down for its rename (kernels before 6.x refuse to rename an interface that is up) and up again at once.
        var lines = new List<string> { "link set eth0 down", "link set eth0 name gone0", "link set eth1 down", "link set eth1 name eth0", "link set eth0 up" };
        if (vm is { Address: { } address, Subnet: { } subnet })
        {
            lines.Add($"addr add {address}/{subnet.PrefixLength} dev eth0");
            lines.Add($"route add default via {subnet.Gateway} dev eth0 onlink");
        }
        lines.Add("link del gone0");
        var batch = Path.Combine(TempDirectory, $"move-{vm.Name}.batch");
        await File.WriteAllLinesAsync(batch, lines);
        using var announcer = vm.Address is { } announced
            ? System.Diagnostics.Process.Start(Shell.StartInfo("ip", ["netns", "exec", vm.Namespace.Name, "nice", "-n", "-20", "python3", "-c",
                GratuitousArpOnResume(vm.MacAddress, announced, (await vm.Namespace.IpAsync("-o", "link", "show", "eth1")).Split(':')[0])]))
            : null;
        if (announcer is not null && await announcer.StandardOutput.ReadLineAsync() != "ready")
            throw new InvalidOperationException($"{vm.Name}: the announcer did not start: {await announcer.StandardError.ReadToEndAsync()}");
        await vm.Namespace.ExecAsync("nice", "-n", "-20", "ip", "-batch", batch);
        vm.MovedTo(target);
        if (announcer is null) return;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await announcer.WaitForExitAsync(timeout.Token);
        if (announcer.ExitCode != 0)
            throw new InvalidOperationException($"{vm.Name}: no gratuitous ARP after the move: {await announcer.StandardError.ReadToEndAsync()}");
    }

    /// <summary>
    /// A python3 program that says "ready", waits (polling every millisecond, at most 20 s) until the interface of
    /// index <paramref name="ifindex"/> is eth0 and up, then sends one gratuitous ARP (a request for the address, from
    /// it) out of it.
    /// </summary>
    private static string GratuitousArpOnResume(string mac, IPAddress address, string ifindex) => string.Join('\n',
        "import socket, struct, sys, time",
        "print('ready', flush=True)",
        "deadline = time.time() + 20",
        "def resumed():",
        "    try:",
        $"        return open('/sys/class/net/eth0/ifindex').read().strip() == '{ifindex.Trim()}' and int(open('/sys/class/net/eth0/flags').read(), 16) & 1",
        "    except OSError:",
        "        return False",
        "while not resumed():",
        "    if time.time() > deadline: sys.exit('eth0 never became the waiting interface')",
        "    time.sleep(0.001)",
        "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)",
        "s.bind(('eth0', 0))",
        $"mac = bytes.fromhex('{mac.Replace(":", "", StringComparison.Ordinal)}')",
        $"ip = socket.inet_aton('{address}')",
        "s.send(b'\\xff' * 6 + mac + b'\\x08\\x06' + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + mac + ip + b'\\x00' * 6 + ip)");

    /// <summary>Unplugs and deletes a VM (its namespace, hence both veth ends and the tap, and its /etc/netns directory).</summary>
    public void RemoveVm(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        _vms.TryRemove(vm.Name, out _);
        RunLedger.RemoveNamespaces([vm.Namespace.Name]);
        _ledger.ForgetNamespace(vm.Namespace.Name);
    }

    private void CopyLogs(IEnumerable<SiloProcess> silos, string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            foreach (var silo in silos.Where(s => File.Exists(s.LogPath)))
                File.Copy(silo.LogPath, Path.Combine(directory, silo.Name + ".log"), overwrite: true);
            _log($"{Prefix}: logs copied to {directory}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log($"{Prefix}: could not copy the logs to {directory}: {e.Message}");
        }
    }

    /// <summary>Kills every silo, deletes every namespace, /etc/netns directory and the temporary directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        List<SiloProcess> silos = [.. Silos];
        foreach (var silo in silos) silo.Supervised = false;
        await Task.WhenAll(silos.Select(s => s.DisposeAsync().AsTask()));
        foreach (var controller in _controllers) controller.Dispose();
        if (Database is not null) await Database.StopAsync();
        if (Prometheus is not null) await Prometheus.StopAsync();
        if (Options.KeepLogsIn is { Length: > 0 } keep) CopyLogs(silos, Path.Combine(keep, Prefix.Stem));
        _ledger.RemoveEverything();
        _log($"{Prefix}: removed");
    }
}
