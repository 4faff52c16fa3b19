using System.Net;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Netlink;

/// <summary>
/// A test namespace ready for routes: veth0 (up, 172.18.0.1/24 and fd00:18::1/64) whose peer veth1 is in the same
/// namespace, so 172.18.0.2 / fd00:18::2 are valid gateways; and a client whose socket lives in the namespace.
/// </summary>
internal sealed class RoutingNamespace : IDisposable
{
    public const RouteProtocol Ours = (RouteProtocol)80;
    public static readonly IPAddress Gateway4 = IPAddress.Parse("172.18.0.2");
    public static readonly IPAddress Gateway6 = IPAddress.Parse("fd00:18::2");

    public RoutingNamespace(NetlinkClientOptions? options = null)
    {
        Namespace = TestNamespace.Create();
        try
        {
            Namespace.AddVethPair("veth0", "veth1");
            Namespace.Ip("address", "add", "172.18.0.1/24", "dev", "veth0");
            Namespace.Ip("-6", "address", "add", "fd00:18::1/64", "dev", "veth0", "nodad");
            Veth0 = Namespace.IndexOf("veth0");
            Veth1 = Namespace.IndexOf("veth1");
            Client = Namespace.OpenRouteClient(options);
        }
        catch
        {
            Namespace.Dispose();
            throw;
        }
    }

    public TestNamespace Namespace { get; }

    public NetlinkRouteClient Client { get; }

    public int Veth0 { get; }

    public int Veth1 { get; }

    /// <summary>Our routes as the kernel lists them.</summary>
    public IReadOnlyList<Route> OurRoutes() => Client.ListRoutes(new RouteFilter(Protocol: Ours));

    /// <summary>`ip route show proto 80` lines (IPv4 and IPv6), as iproute2 sees them.</summary>
    public string[] IpRoutes(params string[] selector) =>
    [
        .. Lines(Namespace.Ip(["-4", "route", "show", .. selector])),
        .. Lines(Namespace.Ip(["-6", "route", "show", .. selector])),
    ];

    public static IPNetwork Host(int i) => new(new IPAddress([10, (byte)(64 + (i >> 16)), (byte)(i >> 8), (byte)i]), 32);

    public void Dispose()
    {
        Client.Dispose();
        Namespace.Dispose();
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
