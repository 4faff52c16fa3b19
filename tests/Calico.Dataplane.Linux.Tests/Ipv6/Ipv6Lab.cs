using System.Net;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Tests.Dhcp;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;
using Xunit.Abstractions;

namespace Calico.Dataplane.Linux.Tests.Ipv6;

/// <summary>
/// Two compute hosts in namespaces of the test's own, joined by a veth pair (eth0 on each: 172.18.203.31/.44 and
/// 2001:db8:ff::31/::44, both registered with their IPv6 address), each with its agent's whole dataplane (interfaces,
/// policy, routes, DHCP with a real dnsmasq), and the control plane's incremental engine in direct routing mode
/// computing what each is told. VMs are namespaces behind taps that get IPv6 as a guest would: the kernel's SLAAC
/// (accept_ra) and, for DHCPv6, dhclient -6.
/// <para>
/// Each host is a <see cref="DhcpLab"/>, which holds the safety rules: a directory of the lab's own that marks every
/// process started (dnsmasq, dhclient), /etc/netns/NAME/resolv.conf for every VM namespace, dhclient run only with a
/// script of ours that records the lease and adds the address inside the VM namespace, and at the end every process
/// killed, every namespace deleted, and /etc/resolv.conf checked unchanged.
/// </para>
/// </summary>
public sealed class Ipv6Lab : IDisposable
{
    public const string NetworkId = "net-6";
    public const string SubnetId = "sub-6";
    public const string GroupId = "sg-6";
    public static readonly IpPrefix Prefix = IpPrefix.Parse("2001:db8:1::/64");

    /// <summary>The network's MTU: below the links' 1500, so that the router advertisement's MTU shows.</summary>
    public const int Mtu = 1450;

    private readonly DhcpLab _a;
    private readonly DhcpLab _b;
    private readonly List<LinuxDataplane> _dataplanes = [];
    private long _revision;
    private int _disposed;

    public Ipv6Lab(ITestOutputHelper output)
    {
        _a = new DhcpLab(output);
        try
        {
            _b = new DhcpLab(output);
            _a.Host.AddVethPair("eth0", "eth0", _b.Host);
            A = AddHost(_a, "h31", "172.18.203.31", "2001:db8:ff::31");
            B = AddHost(_b, "h44", "172.18.203.44", "2001:db8:ff::44");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public DesiredStateEngine Engine { get; } = new();

    public Host A { get; }

    public Host B { get; }

    public sealed record Host(string Name, DhcpLab Lab, LinuxDataplane Dataplane, IPAddress Ipv6Address)
    {
        public TestNamespace Ns => Lab.Host;
    }

    public sealed record Guest(Vm Vm, WorkloadEndpoint Port, IPAddress Address)
    {
        public TestNamespace Ns => Vm.Ns;
    }

    private Host AddHost(DhcpLab lab, string name, string ipv4, string ipv6)
    {
        lab.Host.Ip("addr", "add", ipv4 + "/24", "dev", "eth0");
        lab.Host.Ip("-6", "addr", "add", ipv6 + "/64", "dev", "eth0", "nodad");
        lab.Host.Ip("link", "set", "eth0", "up");
        Store(new HostSpec(name, IPAddress.Parse(ipv4), IPAddress.Parse(ipv6), null, ValueMap.Empty), name);
        var dataplane = lab.Dataplane();
        _dataplanes.Add(dataplane);
        return new Host(name, lab, dataplane, IPAddress.Parse(ipv6));
    }

    /// <summary>
    /// The network (MTU 1450), its IPv6 subnet (2001:db8:1::/64, gateway ::1) with <paramref name="mode"/> as both address and RA
    /// mode, and the VMs' security group: IPv6 out to anywhere, and in from anywhere unless <paramref name="ingress"/> is false.
    /// </summary>
    public void Network(string mode, bool ingress = true)
    {
        Store(new Calico.Model.Resources.Network(NetworkId, "net", "proj", true, Mtu, false, false), NetworkId);
        Store(new Subnet(SubnetId, NetworkId, "v6", "proj", Prefix, IPAddress.Parse("2001:db8:1::1"), ValueList.Create(IPAddress.Parse("2001:db8::53")),
            ValueList<HostRoute>.Empty, ValueList<AllocationPool>.Empty, true, Ipv6RaMode: mode, Ipv6AddressMode: mode), SubnetId);
        Group(ingress);
    }

    /// <summary>The VMs' group: egress IPv6 anywhere; with <paramref name="ingress"/>, ingress IPv6 from anywhere (ethertype IPv6, any protocol).</summary>
    public void Group(bool ingress)
    {
        var rules = new List<SecurityGroupRule> { new("r-out", RuleDirection.Egress, EtherType.IPv6, null, null, null, null, null) };
        if (ingress) rules.Add(new SecurityGroupRule("r-in", RuleDirection.Ingress, EtherType.IPv6, null, null, null, null, null));
        Store(new SecurityGroup(GroupId, "vms", "proj", "", rules.ToValueList()), GroupId);
    }

    /// <summary>An IP block of the subnet with affinity to <paramref name="host"/>: other hosts route it whole via the host.</summary>
    public void Block(string cidr, Host host) => Store(new IpBlock(IpPrefix.Parse(cidr), SubnetId, host.Name), IpBlock.KeyFor(SubnetId, IpPrefix.Parse(cidr)));

    /// <summary>
    /// A VM on <paramref name="host"/> with MAC fa:16:3e:00:00:NN: its port bound there with <paramref name="address"/>
    /// (null: the EUI-64 address of the MAC in the subnet, as the API gives a SLAAC port), its namespace's eth0 (still
    /// down: <see cref="Boot"/> brings it up) the peer of the port's tap, accepting router advertisements.
    /// </summary>
    public Guest AddVm(Host host, string portId, int macByte, string? address = null)
    {
        var mac = $"fa:16:3e:00:00:{macByte:x2}";
        var ip = address is null ? IpAddresses.Eui64(Prefix, mac) : IPAddress.Parse(address);
        var port = new WorkloadEndpoint(portId, NetworkId, portId, "proj", host.Name, mac, ValueList.Create(new FixedIp(SubnetId, ip)),
            ValueList.Create(GroupId), ValueList<AllowedAddressPair>.Empty, true, "vm-" + portId, "compute:nova");
        var vm = host.Lab.AddVm(port.InterfaceName, mac);
        // As a guest: addresses from the MAC (EUI-64), router advertisements accepted (it forwards nothing).
        vm.Ns.Exec("sysctl", "-qw", "net.ipv6.conf.eth0.addr_gen_mode=0", "net.ipv6.conf.eth0.accept_ra=1", "net.ipv6.conf.eth0.use_tempaddr=0");
        vm.Ns.Ip("link", "set", "eth0", "down");
        vm.Ns.Ip("link", "set", "lo", "up");
        Store(port, portId);
        return new Guest(vm, port, ip);
    }

    /// <summary>The guest's eth0 up: it solicits a router, and the host's dnsmasq answers on the tap.</summary>
    public static void Boot(Guest guest) => guest.Ns.Ip("link", "set", "eth0", "up");

    /// <summary>
    /// dhclient -6 in the guest (-S: information only), with a script of ours that records what it got and, for an
    /// address, adds it to eth0 (in the guest's namespace only, as /128). Returns once dhclient is bound.
    /// </summary>
    public static Lease StartDhcpv6Client(Guest guest, bool informationOnly)
    {
        var dir = guest.Vm.Dir;
        var events = Path.Combine(dir, "events6");
        var script = Path.Combine(dir, "record-lease6");
        File.WriteAllText(script,
            $$"""
            #!/bin/sh
            # Records what dhclient -6 got and adds its address inside this namespace. Nothing else: no resolv.conf.
            { echo "reason=$reason"; env | grep -E '^new_' | sort; echo "--"; } >> '{{events}}'
            case "$reason" in
              BOUND6|RENEW6|REBIND6|REBOOT6)
                if [ -n "$new_ip6_address" ]; then ip -6 addr replace "$new_ip6_address/$new_ip6_prefixlen" dev "$interface" nodad; fi ;;
            esac
            exit 0

            """);
        DhcpLab.SetMode755(script);
        var config = Path.Combine(dir, "dhclient6.conf");
        File.WriteAllText(config, "timeout 20;\n");
        string[] mode = informationOnly ? ["-S"] : [];
        var log = Path.Combine(dir, "dhclient6.log");
        try
        {
            guest.Ns.Exec(["sh", "-c", "exec \"$@\" >>\"$0\" 2>&1", log, "dhclient", "-6", .. mode, "-1", "-v", "-cf", config, "-sf", script,
                "-lf", Path.Combine(dir, "dhclient6.leases"), "-pf", Path.Combine(dir, "dhclient6.pid"), "eth0"]);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{e.Message}\n{File.ReadAllText(log)}", e);
        }
        var leases = File.ReadAllText(events).Split("--\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(block => new Lease(block.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1])))
            .ToList();
        return leases.Last(l => l.Values.ContainsKey("reason") && l.Reason is "BOUND6" or "RENEW6" or "REBIND6" or "REBOOT6");
    }

    /// <summary>The guest's global IPv6 addresses on eth0 that passed DAD, and its IPv6 routes.</summary>
    public static string Addresses(Guest guest) => guest.Ns.Ip("-6", "addr", "show", "dev", "eth0", "scope", "global", "-tentative");

    /// <summary>Whether the guest's link-local address passed DAD (dhclient -6 binds to it).</summary>
    public static bool HasLinkLocal(Guest guest) =>
        guest.Ns.Ip("-6", "addr", "show", "dev", "eth0", "scope", "link", "-tentative").Contains("inet6", StringComparison.Ordinal);

    public static string Routes(Guest guest) => guest.Ns.Ip("-6", "route", "show");

    /// <summary>Until the guest holds <paramref name="address"/> (not tentative) and a default route via the host's link-local address.</summary>
    public static Task WaitForAddress(Guest guest, IPAddress address, string how) => DhcpLab.WaitUntil(
        () => Addresses(guest).Contains(address + "/", StringComparison.Ordinal) && Routes(guest).Contains("default via fe80::", StringComparison.Ordinal)
            && HasLinkLocal(guest),
        TimeSpan.FromSeconds(30), $"{guest.Port.Id} to get {address} by {how} and its default route from a router advertisement");

    public void DeletePort(string portId) => Engine.Apply(new ResourceChange(ResourceKind.Endpoint, portId, ++_revision, null));

    /// <summary>Stores a resource in the engine, as the calculator does after a write.</summary>
    public void Store(object value, string key) => Engine.Apply(new ResourceChange(ResourceChange.KindOf(value), key, ++_revision, value));

    /// <summary>Each host's agent applies what the engine holds for it now; every endpoint must be programmed.</summary>
    public async Task ApplyAsync()
    {
        foreach (var host in new[] { A, B })
        {
            var state = Engine.Snapshot(host.Name);
            var result = await host.Dataplane.ApplyAsync(state, [.. state.Values.Select(i => new DesiredChange(i.Key, i))], true, CancellationToken.None);
            foreach (var (endpoint, programming) in result.Endpoints)
                Assert.True(programming.Status != EndpointStatusKind.Error, $"{host.Name}: endpoint {endpoint} {programming.Status}: {programming.Message}");
        }
    }

    public static Task<bool> PingsAsync(Guest from, IPAddress to) => Task.Run(() =>
    {
        try
        {
            from.Ns.Exec("ping", "-6", "-n", "-q", "-c", "1", "-W", "1", to.ToString());
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    });

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var dataplane in _dataplanes) dataplane.Dispose();
        try
        {
            _b?.Dispose();
        }
        finally
        {
            _a.Dispose();
        }
    }
}
