using Calico.Dataplane.Linux.Components;
using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Policy;

/// <summary>
/// Policy (one nftables table, inet calico): security groups, anti-spoofing, NAT; keys in section "Dataplane".
/// </summary>
public sealed class PolicyOptions
{
    /// <summary>
    /// Whether workload policy, anti-spoofing and NAT are programmed (table inet calico). On by default: a workload
    /// then passes only what its security groups allow, sends only from its own addresses, and reaches on its host
    /// only DHCP, DNS and metadata (see <see cref="WorkloadToHostAction"/>). Off: the kernel holds no table of ours,
    /// and workloads are isolated by nothing but routing (a lab setting, not for production).
    /// </summary>
    public bool PolicyEnabled { get; set; } = true;

    /// <summary>Where workloads' requests to 169.254.169.254:80 are sent (DNAT); empty: not rewritten.</summary>
    public string MetadataAddress { get; set; } = "127.0.0.1";

    public int MetadataPort { get; set; } = 8775;

    /// <summary>Host ports always open inbound on non-workload interfaces, as protocol:port, comma separated.</summary>
    public string FailsafeInboundHostPorts { get; set; } = PolicySettings.DefaultFailsafeInbound;

    /// <summary>Host ports always open outbound on non-workload interfaces.</summary>
    public string FailsafeOutboundHostPorts { get; set; } = PolicySettings.DefaultFailsafeOutbound;

    /// <summary>Ports of the host workloads may reach besides DHCP, DNS and metadata, e.g. "tcp:22,udp:123".</summary>
    public string WorkloadToHostPorts { get; set; } = "";

    /// <summary>Other workload traffic to the host itself: Drop (default) or Accept.</summary>
    public string WorkloadToHostAction { get; set; } = "Drop";
}

public sealed class PolicyOptionsValidator : IValidateOptions<PolicyOptions>
{
    public ValidateOptionsResult Validate(string? name, PolicyOptions options)
    {
        var errors = PolicySettings.Validate(options).ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
