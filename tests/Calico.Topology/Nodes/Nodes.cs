using System.Net;
using Calico.Topology.Api;
using Calico.Topology.Kernel;

namespace Calico.Topology.Nodes;

/// <summary>The fabric: a Linux bridge (br0) in a namespace of its own; every host and the controller hang off it by a veth pair.</summary>
public sealed class Fabric(Netns ns)
{
    public const string Bridge = "br0";
    public static readonly IPNetwork Subnet = IPNetwork.Parse("172.18.203.0/24");

    public Netns Namespace { get; } = ns;

    /// <summary>
    /// Connects <paramref name="member"/>: its end is eth0 holding <paramref name="address"/>/24 (the fabric's subnet,
    /// no default route), the other end (<paramref name="portName"/>) is a port of br0. Both ends are created directly
    /// in their namespaces, never in the machine's.
    /// </summary>
    internal async Task ConnectAsync(Netns member, string portName, IPAddress address)
    {
        await member.IpAsync("link", "add", "eth0", "type", "veth", "peer", "name", portName, "netns", Namespace.Name);
        await Namespace.IpAsync("link", "set", portName, "master", Bridge, "up");
        await member.IpAsync("addr", "add", $"{address}/{Subnet.PrefixLength}", "dev", "eth0");
        await member.IpAsync("link", "set", "eth0", "up");
    }
}

/// <summary>The controller: a namespace on the fabric running <c>calico-silo --role controller</c>, which serves the Neutron API.</summary>
public sealed class ControllerNode(Netns ns, IPAddress address, SiloProcess silo) : IDisposable
{
    public const int ApiPort = 9696;
    public const int SiloPort = 11111;

    public Netns Namespace { get; } = ns;

    public IPAddress Address { get; } = address;

    public SiloProcess Silo { get; } = silo;

    public Uri ApiEndpoint => new($"http://{Address}:{ApiPort}/");

    /// <summary>The Neutron API, reached through sockets created inside the controller's namespace.</summary>
    public NeutronClient Api { get; } = new(NamespacedHttp.CreateClient(ns, TimeSpan.FromSeconds(30)), new Uri($"http://{address}:{ApiPort}/"));

    /// <summary>The openstack CLI command line that reaches the API from inside the controller's namespace.</summary>
    public IReadOnlyList<string> OpenStackCommand =>
        ["ip", "netns", "exec", Namespace.Name, "openstack", "--os-auth-type", "none", "--os-endpoint", ApiEndpoint.ToString().TrimEnd('/')];

    public void Dispose() => Api.Dispose();
}

/// <summary>A compute host: a namespace on the fabric (eth0 = its address) running <c>calico-silo --role compute</c>, which programs this namespace's kernel.</summary>
public sealed class ComputeHost(string name, Netns ns, IPAddress address, SiloProcess silo)
{
    /// <summary>The host name, as ports name it in binding:host_id.</summary>
    public string Name { get; } = name;

    public Netns Namespace { get; } = ns;

    public IPAddress Address { get; } = address;

    public SiloProcess Silo { get; } = silo;

    public override string ToString() => $"{Name} ({Address}, netns {Namespace})";
}

/// <summary>
/// A VM: a namespace whose eth0 (with the port's MAC) is one end of a veth pair; the other end, in its host's
/// namespace, carries the tap name Nova gives it (tap + 11 characters of the port id). It has its own
/// /etc/netns/NAME/resolv.conf from before anything runs in it.
/// </summary>
public sealed class VirtualMachine(string name, Netns ns, ComputeHost host, string portId, string macAddress, string tapName)
{
    public string Name { get; } = name;

    public Netns Namespace { get; } = ns;

    /// <summary>Where it runs: the host it was plugged into, or the one <see cref="NamespaceTopology.MoveVmAsync"/> moved it to.</summary>
    public ComputeHost Host { get; private set; } = host;

    /// <summary>The host <see cref="NamespaceTopology.PrepareMoveAsync"/> plugged its second tap into, until the move.</summary>
    public ComputeHost? MovingTo { get; internal set; }

    public string PortId { get; } = portId;

    public string MacAddress { get; } = macAddress;

    /// <summary>The host-side interface: tapXXXXXXXX-XX.</summary>
    public string TapName { get; } = tapName;

    /// <summary>The address configured on eth0 (null until configured).</summary>
    public IPAddress? Address { get; private set; }

    /// <summary>The prefix length and gateway of <see cref="Address"/> (see <see cref="ConfigureStaticAsync"/>).</summary>
    public (int PrefixLength, IPAddress Gateway)? Subnet { get; private set; }

    internal void MovedTo(ComputeHost host)
    {
        Host = host;
        MovingTo = null;
    }

    /// <summary>
    /// What DHCP would give it, by hand: <paramref name="address"/>/<paramref name="prefixLength"/> on eth0 (hence the
    /// on-link subnet route) and a default route via the gateway, on-link.
    /// </summary>
    public async Task ConfigureStaticAsync(IPAddress address, int prefixLength, IPAddress gateway)
    {
        await Namespace.IpAsync("addr", "add", $"{address}/{prefixLength}", "dev", "eth0");
        await Namespace.IpAsync("route", "add", "default", "via", gateway.ToString(), "dev", "eth0", "onlink");
        Address = address;
        Subnet = (prefixLength, gateway);
    }

    public Task<bool> PingAsync(IPAddress target, int waitSeconds = 2) => Namespace.PingAsync(target, waitSeconds);

    public override string ToString() => $"{Name} on {Host.Name} ({Address?.ToString() ?? "no address"}, {TapName})";
}
