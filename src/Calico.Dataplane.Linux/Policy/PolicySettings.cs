using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Calico.Dataplane.Linux.Components;

namespace Calico.Dataplane.Linux.Policy;

/// <summary>What a host port rule names: a protocol with ports (tcp, udp or sctp) and one port.</summary>
public readonly record struct HostPort(byte Protocol, ushort Port)
{
    public override string ToString() => $"{(Protocol switch { 6 => "tcp", 17 => "udp", _ => "sctp" })}:{Port}";

    /// <summary>
    /// Parses Felix's format, "tcp:22,udp:68" (empty: none). Single ports only: a range would make nft build an
    /// interval set, which libnftables re-reads before every element change.
    /// </summary>
    public static IReadOnlyList<HostPort> ParseList(string? text, string setting)
    {
        var result = new List<HostPort>();
        foreach (var entry in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            byte? protocol = colon < 0 ? null : entry[..colon].ToLowerInvariant() switch { "tcp" => 6, "udp" => 17, "sctp" => 132, _ => null };
            if (protocol is null || !ushort.TryParse(entry[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0)
                throw new FormatException($"{setting}: '{entry}' is not protocol:port (tcp, udp or sctp, and a port 1-65535), e.g. tcp:22");
            result.Add(new HostPort(protocol.Value, port));
        }
        return result.Distinct().ToList();
    }
}

public enum WorkloadToHostAction { Drop = 1, Accept = 2 }

/// <summary>
/// The host-level choices the policy compiler needs (from <see cref="PolicyOptions"/>): which interfaces are
/// workloads', where metadata goes, the failsafe ports, and what workloads may reach on the host itself.
/// </summary>
public sealed record PolicySettings
{
    /// <summary>Felix's failsafe inbound ports: SSH, BGP, etcd, Typha, the Kubernetes API, OpenStack-Helm's etcd; DHCP replies.</summary>
    public const string DefaultFailsafeInbound = "tcp:22,udp:68,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667";

    /// <summary>Felix's failsafe outbound ports: DNS, DHCP, BGP, etcd, Typha, the Kubernetes API.</summary>
    public const string DefaultFailsafeOutbound = "udp:53,udp:67,tcp:179,tcp:2379,tcp:2380,tcp:5473,tcp:6443,tcp:6666,tcp:6667";

    /// <summary>The address every OpenStack guest asks for its metadata.</summary>
    public static readonly IPAddress MetadataServiceAddress = IPAddress.Parse("169.254.169.254");

    /// <summary>Workload interfaces are those whose names start with this ("tap": Nova's and Neutron's taps).</summary>
    public string WorkloadInterfacePrefix { get; init; } = "tap";

    /// <summary>Where 169.254.169.254:80 from a workload is sent (DNAT); null: not rewritten.</summary>
    public IPAddress? MetadataAddress { get; init; } = IPAddress.Loopback;

    public ushort MetadataPort { get; init; } = 8775;

    public IReadOnlyList<HostPort> FailsafeInbound { get; init; } = HostPort.ParseList(DefaultFailsafeInbound, "failsafe inbound");

    public IReadOnlyList<HostPort> FailsafeOutbound { get; init; } = HostPort.ParseList(DefaultFailsafeOutbound, "failsafe outbound");

    /// <summary>Ports of the host itself that workloads may reach besides DHCP, DNS and metadata.</summary>
    public IReadOnlyList<HostPort> WorkloadToHostPorts { get; init; } = [];

    /// <summary>What happens to other workload traffic addressed to the host itself.</summary>
    public WorkloadToHostAction WorkloadToHost { get; init; } = WorkloadToHostAction.Drop;

    public static PolicySettings Default { get; } = new();

    /// <summary>The settings an agent runs with; <see cref="PolicyOptionsValidator"/> has refused anything unparsable.</summary>
    public static PolicySettings From(PolicyOptions options, DataplaneOptions dataplane) => new()
    {
        WorkloadInterfacePrefix = dataplane.WorkloadInterfacePrefix,
        MetadataAddress = string.IsNullOrWhiteSpace(options.MetadataAddress) ? null : IPAddress.Parse(options.MetadataAddress),
        MetadataPort = (ushort)options.MetadataPort,
        FailsafeInbound = HostPort.ParseList(options.FailsafeInboundHostPorts, "Dataplane:FailsafeInboundHostPorts"),
        FailsafeOutbound = HostPort.ParseList(options.FailsafeOutboundHostPorts, "Dataplane:FailsafeOutboundHostPorts"),
        WorkloadToHostPorts = HostPort.ParseList(options.WorkloadToHostPorts, "Dataplane:WorkloadToHostPorts"),
        WorkloadToHost = Enum.Parse<WorkloadToHostAction>(options.WorkloadToHostAction, ignoreCase: true),
    };

    /// <summary>What is wrong with the policy settings of <paramref name="options"/>, one message each.</summary>
    public static IEnumerable<string> Validate(PolicyOptions options)
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.MetadataAddress) &&
            (!IPAddress.TryParse(options.MetadataAddress, out var metadata) || metadata.AddressFamily != AddressFamily.InterNetwork))
            errors.Add($"Dataplane:MetadataAddress '{options.MetadataAddress}' must be an IPv4 address (e.g. 127.0.0.1), or empty for no metadata DNAT.");
        if (options.MetadataPort is < 1 or > 65535) errors.Add($"Dataplane:MetadataPort {options.MetadataPort} must be 1-65535, e.g. 8775.");
        foreach (var (value, name) in new[]
                 {
                     (options.FailsafeInboundHostPorts, "Dataplane:FailsafeInboundHostPorts"),
                     (options.FailsafeOutboundHostPorts, "Dataplane:FailsafeOutboundHostPorts"),
                     (options.WorkloadToHostPorts, "Dataplane:WorkloadToHostPorts"),
                 })
        {
            try
            {
                HostPort.ParseList(value, name);
            }
            catch (FormatException e)
            {
                errors.Add(e.Message);
            }
        }
        if (!Enum.TryParse<WorkloadToHostAction>(options.WorkloadToHostAction, ignoreCase: true, out var action) || !Enum.IsDefined(action) ||
            char.IsDigit(options.WorkloadToHostAction.FirstOrDefault()))
            errors.Add($"Dataplane:WorkloadToHostAction '{options.WorkloadToHostAction}' must be Drop or Accept.");
        return errors;
    }
}
