using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Netlink;

public sealed class NeighbourKernelTests : IDisposable
{
    private static readonly PhysicalAddress Mac = PhysicalAddress.Parse("02-00-0A-41-00-03");
    private readonly RoutingNamespace _ns = new();

    private NetlinkRouteClient Client => _ns.Client;

    public void Dispose() => _ns.Dispose();

    [Fact]
    public void Permanent_entries_of_both_families()
    {
        var v4 = Neighbour.Permanent(_ns.Veth0, IPAddress.Parse("172.18.0.3"), Mac);
        var v6 = Neighbour.Permanent(_ns.Veth0, IPAddress.Parse("fd00:18::3"), Mac);

        Client.ReplaceNeighbour(v4);
        Client.ReplaceNeighbour(v6);
        Client.ReplaceNeighbour(v4);

        var listed = Client.ListNeighbours(interfaceIndex: _ns.Veth0);
        Assert.Contains(v4, listed);
        Assert.Contains(v6, listed);
        Assert.Contains("172.18.0.3 lladdr 02:00:0a:41:00:03 PERMANENT", _ns.Namespace.Ip("neigh", "show", "dev", "veth0"));
        Assert.DoesNotContain(Client.ListNeighbours(AddressFamily.InterNetworkV6), n => n.Family == AddressFamily.InterNetwork);
    }

    [Fact]
    public void Proxy_entries_are_listed_apart_from_the_cache_and_deleted_from_the_proxy_table()
    {
        var proxy4 = Neighbour.Proxy(_ns.Veth0, IPAddress.Parse("10.65.0.3"));
        var proxy6 = Neighbour.Proxy(_ns.Veth0, IPAddress.Parse("fd00:65::3"));
        var cached = Neighbour.Permanent(_ns.Veth0, IPAddress.Parse("10.65.0.3"), Mac);

        Client.ReplaceNeighbour(proxy4);
        Client.ReplaceNeighbour(proxy6);
        Client.ReplaceNeighbour(cached);

        var listed = Client.ListNeighbours();
        Assert.Contains(proxy4, listed);
        Assert.Contains(proxy6, listed);
        Assert.Contains(cached, listed);
        Assert.Contains("10.65.0.3 dev veth0 proxy", _ns.Namespace.Ip("neigh", "show", "proxy"));

        Client.DeleteNeighbour(proxy4);

        listed = Client.ListNeighbours();
        Assert.DoesNotContain(proxy4, listed);
        Assert.Contains(cached, listed);
        Assert.Contains(proxy6, listed);
    }

    [Fact]
    public void Errors_name_the_entry()
    {
        var missing = Neighbour.Permanent(_ns.Veth0, IPAddress.Parse("172.18.0.9"), Mac);
        var missingProxy = Neighbour.Proxy(_ns.Veth0, IPAddress.Parse("10.65.0.9"));
        var exclusive = Neighbour.Permanent(_ns.Veth0, IPAddress.Parse("172.18.0.10"), Mac);

        var error = Assert.Throws<NetlinkException>(() => Client.DeleteNeighbour(missing));
        var proxyError = Assert.Throws<NetlinkException>(() => Client.DeleteNeighbour(missingProxy));
        Client.AddNeighbour(exclusive);
        var duplicate = Assert.Throws<NetlinkException>(() => Client.AddNeighbour(exclusive));

        Assert.Equal(Errno.ENOENT, error.Errno);
        Assert.StartsWith("delete neighbour 172.18.0.9 dev veth0: No such file or directory (ENOENT)", error.Message);
        Assert.Equal(Errno.ENOENT, proxyError.Errno);
        Assert.StartsWith("delete proxy neighbour 10.65.0.9 dev veth0:", proxyError.Message);
        Assert.Equal(Errno.EEXIST, duplicate.Errno);
        Assert.StartsWith("add neighbour 172.18.0.10 dev veth0: File exists (EEXIST)", duplicate.Message);
    }

    [Fact]
    public void Proxy_entries_are_idempotent_even_for_an_exclusive_add()
    {
        // pneigh_create returns the entry that exists: the kernel never reports EEXIST for proxy entries.
        var proxy = Neighbour.Proxy(_ns.Veth0, IPAddress.Parse("10.65.0.9"));

        Client.AddNeighbour(proxy);
        Client.AddNeighbour(proxy);

        Assert.Single(Client.ListNeighbours(), n => n.IsProxy);
    }
}
