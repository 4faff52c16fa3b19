using Calico.Netlink.Namespaces;

namespace Calico.Dataplane.Linux.Tests.Namespaces;

/// <summary>
/// /proc/sys/net resolves in the namespace of the thread that opens it: values written from a thread inside a test
/// namespace land there (iproute2 reads them back inside) and the machine's own values stay as they were (only read).
/// </summary>
public class SysctlsTests
{
    [Fact]
    public void Values_written_inside_a_namespace_land_there_and_only_there()
    {
        using var ns = TestNamespace.Create();
        using var handle = ns.Open();
        var machine = File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim();
        var wanted = machine == "1" ? "0" : "1";

        new Sysctls(handle).Write("net/ipv4/ip_forward", wanted);

        Assert.Equal(wanted, ns.Exec("cat", "/proc/sys/net/ipv4/ip_forward").Trim());
        Assert.Equal(wanted, new Sysctls(handle).Read("net/ipv4/ip_forward"));
        Assert.Equal(machine, File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim());
    }

    [Fact]
    public void Workload_interface_settings_are_applied_once_and_then_found_in_place()
    {
        using var ns = TestNamespace.Create();
        ns.Ip("link", "add", "tap12345-ab", "type", "veth", "peer", "name", "vm-eth0");
        using var handle = ns.Open();
        var sysctls = new Sysctls(handle);
        SysctlSetting[] settings =
        [
            Sysctls.IPv4ProxyArp("tap12345-ab", true),
            Sysctls.IPv4NeighbourProxyDelay("tap12345-ab", 0),
            Sysctls.IPv4Forwarding("tap12345-ab", true),
            Sysctls.IPv4RouteLocalnet("tap12345-ab", true),
            Sysctls.IPv4ReversePathFilter("tap12345-ab", 1),
            Sysctls.IPv6AcceptRouterAdvertisements("tap12345-ab", 0),
            Sysctls.IPv6Forwarding("tap12345-ab", true),
            Sysctls.IPv6ProxyNdp("tap12345-ab", true),
        ];

        var first = sysctls.Apply(settings);
        var second = sysctls.Apply(settings);

        Assert.NotEmpty(first);
        Assert.Empty(second);
        foreach (var setting in settings)
            Assert.Equal(setting.Value, ns.Exec("cat", setting.Path).Trim());
    }

    [Fact]
    public void Missing_interface_fails_naming_the_setting_and_the_namespace()
    {
        using var ns = TestNamespace.Create();
        using var handle = ns.Open();

        var error = Assert.Throws<IOException>(() => new Sysctls(handle).Apply([Sysctls.IPv4ProxyArp("tap-missing", true)]));

        Assert.StartsWith($"set sysctl net.ipv4.conf.tap-missing.proxy_arp=1 in netns {ns.Name}:", error.Message);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/b")]
    [InlineData("much-too-long-name")]
    public void Interface_names_cannot_escape_their_directory(string name)
    {
        Assert.Throws<ArgumentException>(() => Sysctls.IPv4ProxyArp(name, true));
    }

    [Fact]
    public void Keys_outside_net_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new Sysctls().Read("kernel/hostname"));
        Assert.Throws<ArgumentException>(() => new Sysctls().Read("net/../kernel/hostname"));
    }
}
