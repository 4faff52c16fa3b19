using System.Net;
using Calico.Topology;
using Calico.Topology.Kernel;
using Calico.Topology.Nodes;
using Calico.Topology.Probes;

namespace Calico.EndToEnd.Tests.Fixtures;

/// <summary>
/// The seed's data path (shared/seed/networking-calico-talk.txt, slides 5-8) on two hosts, built through the API:
/// network + subnet 10.65.0.0/24 (gateway 10.65.0.1); vm1 10.65.0.2 on h1 (172.18.203.31), vm2 10.65.0.3 on h2
/// (172.18.203.44), their ports bound with binding:host_id and owned by compute:nova; each VM with a TCP echo server.
/// The ports' security group lets in ICMP, TCP <see cref="TcpPort"/> and UDP <see cref="UdpPort"/> (and, as every new
/// group in Neutron, all egress), so that traffic still passes once the nftables policy is enforced.
/// </summary>
public class SeedTopologyFixture : TopologyFixture
{
    public const int TcpPort = 7000;
    public const int UdpPort = 7001;

    public static readonly IPAddress Vm1Address = IPAddress.Parse("10.65.0.2");
    public static readonly IPAddress Vm2Address = IPAddress.Parse("10.65.0.3");

    private readonly List<TcpEchoServer> _servers = [];
    private readonly SemaphoreSlim _once = new(1, 1);
    private Netns? _outside;
    private (string Id, IPAddress Address)? _floating;

    public SeedNetwork Seed { get; private set; } = null!;

    public VirtualMachine Vm1 { get; private set; } = null!;

    public VirtualMachine Vm2 { get; private set; } = null!;

    protected override async Task PopulateAsync()
    {
        Seed = await SeedNetwork.CreateAsync(Topology, [new IngressRule("icmp"), new IngressRule("tcp", TcpPort), new IngressRule("udp", UdpPort)]);
        Vm1 = await Seed.LaunchVmAsync("vm1", Host(1), Vm1Address);
        Vm2 = await Seed.LaunchVmAsync("vm2", Host(2), Vm2Address);
        _servers.Add(await TcpEchoServer.StartAsync(Vm1.Namespace, new IPEndPoint(Vm1Address, TcpPort)));
        _servers.Add(await TcpEchoServer.StartAsync(Vm2.Namespace, new IPEndPoint(Vm2Address, TcpPort)));
    }

    protected override async ValueTask ReleaseAsync()
    {
        foreach (var server in _servers) await server.DisposeAsync();
        _servers.Clear();
    }

    /// <summary>A TCP echo server in <paramref name="vm"/> on <paramref name="port"/>, stopped with the fixture.</summary>
    public async Task<TcpEchoServer> ServeTcpAsync(VirtualMachine vm, int port)
    {
        var server = await TcpEchoServer.StartAsync(vm.Namespace, new IPEndPoint(vm.Address!, port));
        lock (_servers) _servers.Add(server);
        return server;
    }

    /// <summary>The outside (172.18.203.2 on the fabric), created once; it knows 172.18.204.0/24 via h1, as an upstream router would.</summary>
    public async Task<Netns> OutsideAsync()
    {
        await _once.WaitAsync();
        try
        {
            if (_outside is null)
            {
                var ns = await Topology.AddOutsideAsync();
                await ns.IpAsync("route", "add", FloatingCidr, "via", Host(1).Address.ToString());
                _outside = ns;
            }
            return _outside;
        }
        finally
        {
            _once.Release();
        }
    }

    public const string FloatingCidr = "172.18.204.0/24";

    /// <summary>
    /// A floating IP for vm2's port, created once: from an external network "public" with subnet
    /// <see cref="FloatingCidr"/> (no DHCP), reached from the seed subnet through a router, as an admin creates it.
    /// </summary>
    public async Task<(string Id, IPAddress Address)> FloatingIpOfVm2Async()
    {
        await _once.WaitAsync();
        try
        {
            if (_floating is null)
            {
                var api = Topology.Api;
                var network = await api.CreateAsync("networks", "network", new JsonObject { ["name"] = "public", ["router:external"] = true });
                await api.CreateSubnetAsync((string)network["id"]!, FloatingCidr, "172.18.204.1", "public-subnet", enableDhcp: false);
                // Neutron's rule: vm2's subnet reaches the external network through a router (API only: no traffic goes through it).
                await api.CreateRouterAsync("public-router", (string)network["id"]!, [Seed.SubnetId]);
                var fip = await api.CreateAsync("floatingips", "floatingip", new JsonObject
                {
                    ["floating_network_id"] = (string)network["id"]!,
                    ["port_id"] = Vm2.PortId,
                });
                _floating = ((string)fip["id"]!, IPAddress.Parse((string)fip["floating_ip_address"]!));
            }
            return _floating.Value;
        }
        finally
        {
            _once.Release();
        }
    }

    /// <summary>Both ports ACTIVE and vm1 answered by vm2: what the tests that break something start from.</summary>
    public async Task DataPathReadyAsync()
    {
        await WaitActiveAsync(Vm1, Vm2);
        await WaitPingAsync(Vm1, Vm2Address);
    }

    /// <summary>One line over TCP from <paramref name="from"/> to the echo server of <paramref name="to"/>; the answer, or null.</summary>
    public static Task<string?> TcpAsync(VirtualMachine from, VirtualMachine to, string message) =>
        TcpProbe.TryExchangeAsync(from.Namespace, new IPEndPoint(to.Address!, TcpPort), message, TimeSpan.FromSeconds(5));
}
