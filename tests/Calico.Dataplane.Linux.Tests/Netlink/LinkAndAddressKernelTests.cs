using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Netlink;

public sealed class LinkAndAddressKernelTests : IDisposable
{
    private readonly TestNamespace _ns = TestNamespace.Create();
    private readonly NetlinkRouteClient _client;

    public LinkAndAddressKernelTests()
    {
        try
        {
            _ns.Ip("link", "add", "tap12345-ab", "type", "veth", "peer", "name", "peer0");
            _client = _ns.OpenRouteClient();
        }
        catch
        {
            _ns.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _ns.Dispose();
    }

    [Fact]
    public void Links_are_listed_with_index_name_kind_mac_and_mtu()
    {
        var links = _client.ListLinks();

        var lo = Assert.Single(links, l => l.Name == "lo");
        var tap = Assert.Single(links, l => l.Name == "tap12345-ab");
        Assert.True((lo.Flags & LinkFlags.Loopback) != 0);
        Assert.Equal(_ns.IndexOf("tap12345-ab"), tap.Index);
        Assert.Equal("veth", tap.Kind);
        Assert.Equal(1500, tap.Mtu);
        Assert.Equal(_ns.IndexOf("peer0"), tap.ParentIndex);
        var mac = _ns.Ip("-o", "link", "show", "dev", "tap12345-ab").Split("link/ether ")[1][..17];
        Assert.Equal(PhysicalAddress.Parse(mac.Replace(':', '-')), tap.HardwareAddress);
        Assert.False(tap.IsUp);
    }

    [Fact]
    public void Get_by_name_and_index_and_null_when_missing()
    {
        var byName = _client.GetLink("tap12345-ab");

        Assert.NotNull(byName);
        Assert.Equal(byName, _client.GetLink(byName.Index));
        Assert.Null(_client.GetLink("no-such-link"));
        Assert.Null(_client.GetLink(99999));
    }

    /// <summary>
    /// rx_packets (IFLA_STATS64) counts the frames the peer sent: how a live migration's target tells a VM that runs
    /// behind its tap from a tap merely held open (carrier, nothing sent).
    /// </summary>
    [Fact]
    public void A_link_counts_the_frames_its_peer_sent()
    {
        _ns.Exec("sysctl", "-q", "-w", "net.ipv6.conf.peer0.disable_ipv6=1");
        _ns.Exec("sysctl", "-q", "-w", "net.ipv6.conf.tap12345-ab.disable_ipv6=1");
        _ns.Ip("link", "set", "tap12345-ab", "up");
        _ns.Ip("link", "set", "peer0", "up");
        var silent = _client.GetLink("tap12345-ab")!;
        Assert.True(silent.IsLowerUp);
        Assert.Equal(0UL, silent.RxPackets);

        // An ARP request out of peer0 (an address on it, a neighbour asked for that nothing answers).
        _ns.Ip("address", "add", "10.99.0.1/24", "dev", "peer0");
        _ns.Exec("sh", "-c", "ping -c 1 -W 1 -I peer0 10.99.0.2 || true");

        var spoken = _client.GetLink("tap12345-ab")!;
        Assert.True(spoken.RxPackets > 0, $"rx_packets {spoken.RxPackets} after a frame from the peer");
        Assert.Equal(spoken.RxPackets, Assert.Single(_client.ListLinks(), l => l.Name == "tap12345-ab").RxPackets);
    }

    [Fact]
    public void Set_up_down_and_mtu()
    {
        var index = _ns.IndexOf("tap12345-ab");

        _client.SetLinkUp(index);
        _client.SetLinkUp(_ns.IndexOf("peer0"));
        _client.SetLinkMtu(index, 1400);
        var up = _client.GetLink(index)!;
        _client.SetLinkDown(index);

        Assert.True(up.IsUp);
        Assert.Equal(1400, up.Mtu);
        Assert.Contains("mtu 1400", _ns.Ip("link", "show", "dev", "tap12345-ab"));
        Assert.False(_client.GetLink(index)!.IsUp);
        var error = Assert.Throws<NetlinkException>(() => _client.SetLinkUp(99999));
        Assert.Equal(Errno.ENODEV, error.Errno);
        Assert.StartsWith("set link if99999 up: No such device (ENODEV)", error.Message);
    }

    [Fact]
    public void IPv4_address_without_its_prefix_route_is_added_replaced_listed_and_deleted()
    {
        var index = _ns.IndexOf("tap12345-ab");
        _client.SetLinkUp(index);
        var address = new Address(index, IPAddress.Parse("10.65.0.1"), 24, Flags: AddressFlags.NoPrefixRoute);

        _client.AddAddress(address);
        _client.ReplaceAddress(address);
        var duplicate = Assert.Throws<NetlinkException>(() => _client.AddAddress(address));
        var listed = Assert.Single(_client.ListAddresses(AddressFamily.InterNetwork, index));
        var routes = _ns.Ip("route", "show", "table", "main");
        _client.DeleteAddress(address);
        var missing = Assert.Throws<NetlinkException>(() => _client.DeleteAddress(address));

        Assert.Equal(Errno.EEXIST, duplicate.Errno);
        Assert.StartsWith("add address 10.65.0.1/24 dev tap12345-ab: File exists (EEXIST)", duplicate.Message);
        Assert.True(listed.IsSameAddress(address));
        Assert.True((listed.Flags & AddressFlags.NoPrefixRoute) != 0);
        Assert.Equal(IPNetwork.Parse("10.65.0.0/24"), listed.Subnet);
        Assert.DoesNotContain("10.65.0.0/24", routes);
        Assert.Empty(_client.ListAddresses(AddressFamily.InterNetwork, index));
        Assert.Equal(Errno.EADDRNOTAVAIL, missing.Errno);
    }

    [Fact]
    public void IPv6_address_is_listed_beside_the_link_local_one()
    {
        var index = _ns.IndexOf("tap12345-ab");
        _client.SetLinkUp(index);
        _client.SetLinkUp(_ns.IndexOf("peer0"));

        _client.ReplaceAddress(new Address(index, IPAddress.Parse("fd00:65::1"), 64, Flags: AddressFlags.NoDad));

        var addresses = _client.ListAddresses(AddressFamily.InterNetworkV6, index);
        var global = Assert.Single(addresses, a => a.Local.Equals(IPAddress.Parse("fd00:65::1")));
        Assert.Equal(64, global.PrefixLength);
        Assert.Equal(RouteScope.Universe, global.Scope);
        Assert.Contains("inet6 fd00:65::1/64", _ns.Ip("-6", "address", "show", "dev", "tap12345-ab"));
        Assert.Contains(_client.ListAddresses(), a => a.Local.Equals(IPAddress.Loopback));
    }
}
