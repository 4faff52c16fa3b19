using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Driver;

/// <summary>Settings of the Linux dataplane (section "Dataplane").</summary>
public sealed class DataplaneOptions
{
    public const string Section = "Dataplane";

    /// <summary>
    /// The network namespace to program, by name (/var/run/netns/NAME); empty: the namespace the silo runs in.
    /// Tests and demos point this at a namespace of their own.
    /// </summary>
    public string? NetworkNamespace { get; set; }

    /// <summary>The rtm_protocol that marks our routes: only routes carrying it are ever changed or removed.</summary>
    public byte RouteProtocol { get; set; } = 80;

    /// <summary>The routing table our routes go in.</summary>
    public uint RouteTable { get; set; } = 254;

    /// <summary>rp_filter on workload interfaces: 0 off, 1 strict (default), 2 loose.</summary>
    public int ReversePathFilter { get; set; } = 1;

    /// <summary>How often routes, interfaces and neighbours are read back and drift repaired.</summary>
    public TimeSpan RouteResyncInterval { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Whether to listen to the kernel's link notifications, so that a workload interface that appears, disappears or
    /// goes up or down is reconciled at once (a port bound before its tap exists turns ACTIVE as the tap appears).
    /// Off: such changes wait for the next apply or resync. One-shot commands turn it off.
    /// </summary>
    public bool WatchLinks { get; set; } = true;

    /// <summary>How many times a transient kernel error (EBUSY, ENOBUFS, an interrupted dump; netlink and nftables alike) is retried.</summary>
    public int TransientRetries { get; set; } = 5;

    /// <summary>The first pause before retrying a transient error; it doubles each time, with jitter, up to 2 seconds.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    // ---- DHCP (Dhcp/DhcpReconciler): one dnsmasq per host, or per NetworkNamespace ----

    /// <summary>
    /// Where dnsmasq's pid, lease, hosts and options files live (created 0755). With <see cref="NetworkNamespace"/>
    /// set, a subdirectory netns/NAME of it, so agents of different namespaces never share files.
    /// </summary>
    public string DhcpStateDirectory { get; set; } = "/var/lib/calico/dhcp";

    /// <summary>The dnsmasq executable: a path, or a name looked up on PATH, then in /usr/sbin and /sbin.</summary>
    public string DnsmasqPath { get; set; } = "dnsmasq";

    /// <summary>The lease time dnsmasq gives; at least 2 minutes (dnsmasq's minimum).</summary>
    public TimeSpan DhcpLeaseTime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The pause before restarting a dnsmasq that exited; it doubles with each exit in a row, up to <see cref="DhcpMaxRestartDelay"/>.</summary>
    public TimeSpan DhcpRestartDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause between restarts; a dnsmasq that ran longer than this starts the doubling afresh.</summary>
    public TimeSpan DhcpMaxRestartDelay { get; set; } = TimeSpan.FromSeconds(60);

    // ---- Policy (Policy/PolicyCompiler, one nftables table "inet calico"): security groups, anti-spoofing, NAT ----

    /// <summary>
    /// Whether workload policy, anti-spoofing and NAT are programmed (table inet calico). On by default: a workload
    /// then passes only what its security groups allow, sends only from its own addresses, and reaches on its host
    /// only DHCP, DNS and metadata (see <see cref="WorkloadToHostAction"/>). Off: the kernel holds no table of ours,
    /// and workloads are isolated by nothing but routing (a lab setting, not for production).
    /// </summary>
    public bool PolicyEnabled { get; set; } = true;

    /// <summary>Interfaces whose names start with this are workloads' (policed); every other interface is the host's.</summary>
    public string WorkloadInterfacePrefix { get; set; } = "tap";

    /// <summary>Where workloads' requests to 169.254.169.254:80 are sent (DNAT); empty: not rewritten.</summary>
    public string MetadataAddress { get; set; } = "127.0.0.1";

    public int MetadataPort { get; set; } = 8775;

    /// <summary>Host ports always open inbound on non-workload interfaces, as protocol:port, comma separated.</summary>
    public string FailsafeInboundHostPorts { get; set; } = Policy.PolicySettings.DefaultFailsafeInbound;

    /// <summary>Host ports always open outbound on non-workload interfaces.</summary>
    public string FailsafeOutboundHostPorts { get; set; } = Policy.PolicySettings.DefaultFailsafeOutbound;

    /// <summary>Ports of the host workloads may reach besides DHCP, DNS and metadata, e.g. "tcp:22,udp:123".</summary>
    public string WorkloadToHostPorts { get; set; } = "";

    /// <summary>Other workload traffic to the host itself: Drop (default) or Accept.</summary>
    public string WorkloadToHostAction { get; set; } = "Drop";
}

public sealed class DataplaneOptionsValidator : IValidateOptions<DataplaneOptions>
{
    public ValidateOptionsResult Validate(string? name, DataplaneOptions o)
    {
        var errors = new List<string>();
        if (o.RouteProtocol <= 4)
            errors.Add($"Dataplane:RouteProtocol {o.RouteProtocol} is reserved for the kernel (0-4); choose 5..255, e.g. 80.");
        if (o.RouteTable is 0 or 253 or 255)
            errors.Add($"Dataplane:RouteTable {o.RouteTable} is a reserved table; use 254 (main) or a table of your own.");
        if (o.ReversePathFilter is < 0 or > 2) errors.Add($"Dataplane:ReversePathFilter must be 0, 1 or 2 (is {o.ReversePathFilter}).");
        if (o.RouteResyncInterval <= TimeSpan.Zero) errors.Add("Dataplane:RouteResyncInterval must be positive.");
        if (o.TransientRetries < 0) errors.Add("Dataplane:TransientRetries must be 0 or more.");
        if (o.RetryBaseDelay < TimeSpan.Zero) errors.Add($"Dataplane:RetryBaseDelay {o.RetryBaseDelay} must be 0 or more, e.g. 00:00:00.020.");
        if (o.NetworkNamespace is { Length: > 0 } ns && (ns.Contains('/') || ns is "." or ".."))
            errors.Add($"Dataplane:NetworkNamespace '{ns}' must be a plain name under /var/run/netns.");
        ValidateDhcp(o, errors);
        errors.AddRange(Policy.PolicySettings.Validate(o));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateDhcp(DataplaneOptions o, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(o.DhcpStateDirectory) || !Path.IsPathFullyQualified(o.DhcpStateDirectory) ||
            Path.TrimEndingDirectorySeparator(o.DhcpStateDirectory) == "/")
            errors.Add($"Dataplane:DhcpStateDirectory '{o.DhcpStateDirectory}' must be an absolute path of a directory of its own, e.g. /var/lib/calico/dhcp.");
        if (string.IsNullOrWhiteSpace(o.DnsmasqPath))
            errors.Add("Dataplane:DnsmasqPath must name the dnsmasq executable (a path, or a name looked up on PATH), e.g. dnsmasq.");
        if (o.DhcpLeaseTime < TimeSpan.FromMinutes(2) || o.DhcpLeaseTime.TotalSeconds >= uint.MaxValue)
            errors.Add($"Dataplane:DhcpLeaseTime {o.DhcpLeaseTime} must be at least 00:02:00 (dnsmasq's minimum) and less than 136 years.");
        if (o.DhcpRestartDelay <= TimeSpan.Zero) errors.Add("Dataplane:DhcpRestartDelay must be positive, e.g. 00:00:01.");
        if (o.DhcpMaxRestartDelay < o.DhcpRestartDelay)
            errors.Add($"Dataplane:DhcpMaxRestartDelay {o.DhcpMaxRestartDelay} must be at least Dataplane:DhcpRestartDelay {o.DhcpRestartDelay}.");
    }
}
