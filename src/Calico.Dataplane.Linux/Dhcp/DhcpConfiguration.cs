using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Dataplane.Linux.Dhcp;

/// <summary>A subnet dnsmasq serves: the tag that ties its range to its options, and the address ns-dhcp holds for it.</summary>
public sealed record ServedSubnet(DhcpSubnetItem Item, string Tag, IPAddress ServerAddress)
{
    public string SubnetId => Item.SubnetId;

    public IpPrefix Cidr => Item.Cidr;

    public bool IsIpv6 => Cidr.Version == 6;

    /// <summary>
    /// dnsmasq's mode words for an IPv6 subnet's range: router advertisements only, with the A flag (slaac: the
    /// workload forms its EUI-64 address, which is the address the API gave the port); with the A and O flags and
    /// information-only DHCPv6 (dhcpv6-stateless); with the M flag and static DHCPv6 leases (dhcpv6-stateful). Always
    /// off-link: the workload sends everything, its own subnet included, to its default router (the tap's link-local
    /// address), so the host never has to answer neighbour solicitations for the workload's peers.
    /// </summary>
    public string? Ipv6RangeMode => Item.Ipv6Mode switch
    {
        Subnet.Slaac => "ra-only,off-link",
        Subnet.DhcpV6Stateless => "ra-stateless,off-link",
        Subnet.DhcpV6Stateful => "static,off-link",
        _ => null,
    };
}

/// <summary>
/// What dnsmasq must run with, computed from the desired DHCP items alone (pure, and tested as golden text):
/// the command line — whatever needs a restart to change: the served ranges, files, interfaces — and the two files
/// dnsmasq re-reads on SIGHUP: static leases (hosts) and per-subnet options (opts).
/// <para>
/// Served: subnets with a gateway, which ns-dhcp holds as the server's address (dnsmasq serves a range only on
/// a network where its interface has an address); IPv6 ones with an address mode (<see cref="DhcpSubnetItem.Ipv6Mode"/>)
/// get router advertisements on the taps (<c>--enable-ra</c>, the prefix off-link, the default route via the tap's
/// link-local address) and, for DHCPv6, static leases or information-only answers (<see cref="ServedSubnet.Ipv6RangeMode"/>).
/// Not served, and said so per endpoint: subnets without a gateway, a subnet overlapping one already served, an IPv6
/// prefix shorter than /64. IPv6 subnets without an address mode are left aside without an error
/// (<see cref="Ipv6Subnets"/>): their workloads configure IPv6 statically, as Neutron has it.
/// </para>
/// <para>
/// Every value written comes from a typed field (addresses, prefixes, numbers); the free-text ones are checked — a
/// MAC must parse, a hostname must be one DNS label — so nothing from the control plane can add a line or an option.
/// </para>
/// </summary>
public sealed class DhcpConfiguration
{
    /// <summary>The interface that holds the subnets' gateway addresses; dnsmasq treats the taps as aliases of it.</summary>
    public const string InterfaceName = "ns-dhcp";

    /// <summary>
    /// The workload interfaces dnsmasq listens on. A wildcard (dnsmasq supports a trailing '*' in --interface and in
    /// --bridge-interface aliases) keeps the command line the same while VMs come and go, so a new port never
    /// restarts dnsmasq; only ports with a static lease in the hosts file get an answer.
    /// </summary>
    public const string WorkloadInterfacePattern = "tap*";

    private const string Header = "# Written by the Calico dataplane agent (DhcpReconciler) on every change; do not edit.\n";

    private DhcpConfiguration(IReadOnlyList<ServedSubnet> subnets, IReadOnlyList<string> arguments, string hostsFile,
        string optionsFile, IReadOnlyDictionary<string, string> endpointProblems, IReadOnlyDictionary<string, IReadOnlyList<string>> endpointsBySubnet,
        IReadOnlyList<string> ipv6Subnets)
    {
        Ipv6Subnets = ipv6Subnets;
        Subnets = subnets;
        Arguments = arguments;
        HostsFile = hostsFile;
        OptionsFile = optionsFile;
        EndpointProblems = endpointProblems;
        EndpointsBySubnet = endpointsBySubnet;
    }

    /// <summary>Subnets served, ordered by id.</summary>
    public IReadOnlyList<ServedSubnet> Subnets { get; }

    /// <summary>dnsmasq's arguments (without the program name). Any difference means a restart.</summary>
    public IReadOnlyList<string> Arguments { get; }

    public string HostsFile { get; }

    public string OptionsFile { get; }

    /// <summary>Endpoints (port ids) whose DHCP is not served, and why.</summary>
    public IReadOnlyDictionary<string, string> EndpointProblems { get; }

    /// <summary>The endpoints with a static lease in each subnet (to report a failure of that subnet to them).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> EndpointsBySubnet { get; }

    /// <summary>IPv6 DHCP subnets (ids) without an address mode, so not served: their workloads configure IPv6 statically.</summary>
    public IReadOnlyList<string> Ipv6Subnets { get; }

    /// <summary>The link-local address ns-dhcp holds while an IPv6 subnet is served: dnsmasq sends no router advertisement for an interface without one.</summary>
    public static readonly IPAddress LinkLocal = IPAddress.Parse("fe80::1");

    /// <summary>One line per IPv6 subnet served with router advertisements, for plans and logs.</summary>
    public IEnumerable<string> RouterAdvertisements =>
        Subnets.Where(s => s.IsIpv6).Select(s => $"router advertisements on {WorkloadInterfacePattern}: {s.Cidr} {s.Item.Ipv6Mode} " +
            $"({s.Ipv6RangeMode}; default route via each tap's link-local address)");

    /// <summary>Nothing to serve: no dnsmasq, no ns-dhcp.</summary>
    public bool IsEmpty => Subnets.Count == 0;

    public static DhcpConfiguration Compute(IEnumerable<DhcpSubnetItem> subnets, IEnumerable<DhcpHostItem> hosts,
        DnsmasqFiles files, TimeSpan leaseTime)
    {
        var subnetProblems = new Dictionary<string, string>(StringComparer.Ordinal);
        var served = new List<ServedSubnet>();
        var ipv6 = new List<string>();
        foreach (var subnet in subnets.OrderBy(s => s.SubnetId, StringComparer.Ordinal))
        {
            var name = $"subnet {subnet.SubnetId} ({subnet.Cidr})";
            if (subnet.Cidr.Version == 6 && subnet.Ipv6Mode is not (Subnet.Slaac or Subnet.DhcpV6Stateless or Subnet.DhcpV6Stateful))
                ipv6.Add(subnet.SubnetId);
            else if (subnet.Gateway is null)
                subnetProblems[subnet.SubnetId] = $"{name} has no gateway address, which DHCP needs as its server's address";
            else if (!subnet.Cidr.Contains(subnet.Gateway) || !subnet.Cidr.IsCanonical)
                subnetProblems[subnet.SubnetId] = $"{name}: gateway {subnet.Gateway} is not an address of the subnet";
            else if (subnet.Cidr.Version == 6 && subnet.Cidr.Length < 64)
                subnetProblems[subnet.SubnetId] = $"{name}: router advertisements and DHCPv6 serve prefixes of /64 or longer";
            else if (served.FirstOrDefault(s => s.Cidr.Overlaps(subnet.Cidr)) is { } other)
                subnetProblems[subnet.SubnetId] = $"{name} overlaps subnet {other.SubnetId} ({other.Cidr}), which is served";
            else
                served.Add(new ServedSubnet(subnet, Tag(subnet.SubnetId), subnet.Gateway));
        }

        var bySubnet = served.ToDictionary(s => s.SubnetId, StringComparer.Ordinal);
        var endpointProblems = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var endpointsBySubnet = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var leases = new List<Lease>();
        var addressOwners = new Dictionary<IPAddress, string>();
        var macsInSubnet = new HashSet<(string Subnet, string Mac)>();
        foreach (var host in hosts.OrderBy(h => h.Address, Comparer<IPAddress>.Create(IpAddresses.Compare))
                     .ThenBy(h => h.EndpointId, StringComparer.Ordinal))
        {
            void Problem(string reason) => (endpointProblems.TryGetValue(host.EndpointId, out var list)
                ? list : endpointProblems[host.EndpointId] = []).Add(reason);

            if (!endpointsBySubnet.TryGetValue(host.SubnetId, out var members)) endpointsBySubnet[host.SubnetId] = members = [];
            if (!members.Contains(host.EndpointId)) members.Add(host.EndpointId);

            if (ipv6.Contains(host.SubnetId)) continue;
            if (!bySubnet.TryGetValue(host.SubnetId, out var subnet))
            {
                Problem(subnetProblems.TryGetValue(host.SubnetId, out var why)
                    ? $"DHCP for {host.Address} is not served: {why}"
                    : $"DHCP for {host.Address} is not served: subnet {host.SubnetId} is not a DHCP subnet of this host");
                continue;
            }
            if (NormalizeMac(host.MacAddress) is not { } mac)
            {
                Problem($"DHCP for {host.Address} is not served: '{host.MacAddress}' is not an Ethernet MAC address");
                continue;
            }
            if (!subnet.Cidr.Contains(host.Address))
            {
                Problem($"DHCP for {host.Address} is not served: it is outside subnet {subnet.SubnetId} ({subnet.Cidr})");
                continue;
            }
            if (addressOwners.TryGetValue(host.Address, out var owner) && owner != host.EndpointId)
            {
                Problem($"DHCP for {host.Address} is not served: port {owner} has a static lease for it");
                continue;
            }
            addressOwners[host.Address] = host.EndpointId;
            // Only stateful DHCPv6 hands out addresses; under SLAAC the workload forms its own (the port's EUI-64 address).
            if (subnet.IsIpv6 && subnet.Item.Ipv6Mode != Subnet.DhcpV6Stateful) continue;
            // One interface gets one address of a subnet by DHCP: with two fixed IPs in one subnet, the lowest one.
            if (!macsInSubnet.Add((subnet.SubnetId, mac))) continue;
            // An option dnsmasq could not take (the desired state is validated; a hand-made file may not be) is left out, with a reason.
            foreach (var option in host.Options.Where(o => o.Problem() is not null)) Problem($"DHCP option not served: {option.Problem()}");
            // A port's own options are IPv4 ones (Neutron's extra_dhcp_opts); none is passed on to DHCPv6.
            leases.Add(new Lease(mac, host.Address, IsDnsLabel(host.Hostname) ? host.Hostname : null,
                subnet.IsIpv6 ? [] : host.Options.Where(o => o.Problem() is null && o.IpVersion == 4).ToList(), Tag(host.EndpointId, "p-")));
        }

        return new DhcpConfiguration(served, RenderArguments(served, files, leaseTime), RenderHosts(leases), RenderOptions(served, leases),
            endpointProblems.ToDictionary(kv => kv.Key, kv => string.Join("; ", kv.Value), StringComparer.Ordinal),
            endpointsBySubnet.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal), ipv6);
    }

    /// <summary>
    /// Everything here is fixed for the life of one dnsmasq process. No DNS (--port=0), nothing of the machine's
    /// (/etc/dnsmasq.conf, /etc/hosts, /etc/resolv.conf) read, logs to stderr for the agent to capture.
    /// </summary>
    private static List<string> RenderArguments(List<ServedSubnet> served, DnsmasqFiles files, TimeSpan leaseTime)
    {
        var args = new List<string>
        {
            "--conf-file=/dev/null",
            "--keep-in-foreground",
            "--no-hosts",
            "--no-resolv",
            "--port=0",
            "--bind-dynamic",
            $"--interface={InterfaceName}",
            $"--interface={WorkloadInterfacePattern}",
            $"--bridge-interface={InterfaceName},{WorkloadInterfacePattern}",
            DnsmasqFiles.PidFileArgument(files.PidFile),
            $"--dhcp-leasefile={files.LeaseFile}",
            $"--dhcp-hostsfile={files.HostsFile}",
            $"--dhcp-optsfile={files.OptionsFile}",
            "--log-facility=-",
        };
        var lease = ((long)leaseTime.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        foreach (var subnet in served)
            args.Add(subnet.IsIpv6
                ? $"--dhcp-range=set:{subnet.Tag},{subnet.Cidr.Network.Address},{subnet.Ipv6RangeMode},{subnet.Cidr.Length},{lease}"
                : $"--dhcp-range=set:{subnet.Tag},{subnet.Cidr.Network.Address},static,{Netmask(subnet.Cidr.Length)},{lease}");
        // Router advertisements, sent on every tap (as an alias of ns-dhcp) from the tap's own link-local address, with
        // ns-dhcp's parameters: the MTU is one for all taps, so the lowest of the IPv6 networks' (IPv6 needs 1280 at least).
        if (served.Any(s => s.IsIpv6))
        {
            args.Add("--enable-ra");
            if (served.Where(s => s.IsIpv6 && s.Item.Mtu >= 1280).Select(s => s.Item.Mtu).DefaultIfEmpty().Min() is var mtu and > 0)
                args.Add($"--ra-param={InterfaceName},mtu:{mtu.ToString(CultureInfo.InvariantCulture)},0");
        }
        return args;
    }

    /// <summary>One static lease; a port with options of its own sets its tag, which its option lines match.</summary>
    private sealed record Lease(string Mac, IPAddress Address, string? Hostname, List<ExtraDhcpOption> Options, string PortTag);

    private static string RenderHosts(List<Lease> leases)
    {
        var text = new StringBuilder(Header);
        foreach (var lease in leases)
        {
            text.Append(lease.Mac).Append(',');
            if (lease.Options.Count > 0) text.Append("set:").Append(lease.PortTag).Append(',');
            text.Append(lease.Address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{lease.Address}]" : lease.Address.ToString())
                .Append(lease.Hostname is null ? "" : "," + lease.Hostname).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>
    /// Router, DNS servers, host routes and MTU per subnet. Host routes go as classless static routes (option 121,
    /// and 249 for older Windows clients); a client that gets them ignores the router option (RFC 3442), so the
    /// default route via the gateway is added to them unless a host route already covers 0.0.0.0/0.
    /// </summary>
    private static string RenderOptions(List<ServedSubnet> served, List<Lease> leases)
    {
        var text = new StringBuilder(Header);
        foreach (var subnet in served)
        {
            var item = subnet.Item;
            var tag = $"tag:{subnet.Tag},";
            if (subnet.IsIpv6)
            {
                // The router and the MTU come with the router advertisement; DHCPv6 (stateful or information-only) gives DNS.
                var dns6 = item.DnsNameservers.Where(a => a.AddressFamily == AddressFamily.InterNetworkV6).Select(a => $"[{a}]").ToList();
                if (dns6.Count > 0) text.Append(tag).Append("option6:dns-server,").AppendJoin(',', dns6).Append('\n');
                continue;
            }
            text.Append(tag).Append("option:router,").Append(item.Gateway).Append('\n');
            var dns = item.DnsNameservers.Where(a => a.AddressFamily == AddressFamily.InterNetwork).ToList();
            if (dns.Count > 0) text.Append(tag).Append("option:dns-server,").AppendJoin(',', dns).Append('\n');
            var routes = item.HostRoutes
                .Where(r => r.Destination.Version == 4 && r.NextHop.AddressFamily == AddressFamily.InterNetwork)
                .Select(r => $"{r.Destination.Network},{r.NextHop}").ToList();
            if (routes.Count > 0)
            {
                if (!item.HostRoutes.Any(r => r.Destination.Version == 4 && r.Destination.Length == 0))
                    routes.Add($"0.0.0.0/0,{item.Gateway}");
                var list = string.Join(',', routes);
                text.Append(tag).Append("option:classless-static-route,").Append(list).Append('\n');
                text.Append(tag).Append("249,").Append(list).Append('\n');
            }
            if (item.Mtu >= 68) text.Append(tag).Append("option:mtu,").Append(item.Mtu.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        // A port's own options come after its subnet's, so that dnsmasq (the later line for a tag it matches wins)
        // gives them precedence, as Neutron's extra_dhcp_opts have over the subnet's.
        foreach (var lease in leases.DistinctBy(l => l.PortTag))
            foreach (var option in lease.Options)
                text.Append("tag:").Append(lease.PortTag).Append(',')
                    .Append(option.Name.All(char.IsAsciiDigit) ? "" : "option:").Append(option.Name).Append(',').Append(option.Value).Append('\n');
        return text.ToString();
    }

    /// <summary>
    /// A dnsmasq tag for a subnet ("s-") or a port ("p-"): the prefix and the id when the id is tame (UUIDs are), else
    /// a hash of the id — so a ':' or ',' in an id can never change the meaning of an option line.
    /// </summary>
    public static string Tag(string subnetId, string prefix = "s-") =>
        subnetId.Length is > 0 and <= 64 && subnetId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            ? prefix + subnetId
            : prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(subnetId)))[..16];

    /// <summary>"fa:16:3e:00:00:03" from any of the usual spellings, or null if it is not a 6-byte address.</summary>
    public static string? NormalizeMac(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            var bytes = PhysicalAddress.Parse(text.Trim().Replace(':', '-').ToUpperInvariant()).GetAddressBytes();
            return bytes.Length == 6 ? string.Join(':', bytes.Select(b => b.ToString("x2", CultureInfo.InvariantCulture))) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>One DNS label (RFC 1123): 1-63 letters, digits or '-', not starting or ending with '-'.</summary>
    public static bool IsDnsLabel(string? name) =>
        name is { Length: > 0 and <= 63 } && name[0] != '-' && name[^1] != '-' &&
        name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    private static IPAddress Netmask(int length) =>
        new(length == 0 ? [0, 0, 0, 0] : BitConverter.GetBytes(IPAddress.HostToNetworkOrder(unchecked((int)(0xFFFFFFFFu << (32 - length))))));
}
