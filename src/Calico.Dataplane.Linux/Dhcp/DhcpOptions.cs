using Calico.Dataplane.Linux.Components;
using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Dhcp;

/// <summary>DHCP (one dnsmasq per host, or per Dataplane:NetworkNamespace); keys in section "Dataplane".</summary>
public sealed class DhcpOptions
{
    /// <summary>
    /// Where dnsmasq's pid, lease, hosts and options files live (created 0755). With Dataplane:NetworkNamespace set, a
    /// subdirectory netns/NAME of it, so agents of different namespaces never share files.
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
}

public sealed class DhcpOptionsValidator : IValidateOptions<DhcpOptions>
{
    private const string S = DataplaneOptions.Section;

    public ValidateOptionsResult Validate(string? name, DhcpOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.DhcpStateDirectory) || !Path.IsPathFullyQualified(o.DhcpStateDirectory) ||
            Path.TrimEndingDirectorySeparator(o.DhcpStateDirectory) == "/")
            errors.Add($"{S}:DhcpStateDirectory '{o.DhcpStateDirectory}' must be an absolute path of a directory of its own, e.g. /var/lib/calico/dhcp.");
        if (string.IsNullOrWhiteSpace(o.DnsmasqPath))
            errors.Add($"{S}:DnsmasqPath must name the dnsmasq executable (a path, or a name looked up on PATH), e.g. dnsmasq.");
        if (o.DhcpLeaseTime < TimeSpan.FromMinutes(2) || o.DhcpLeaseTime.TotalSeconds >= uint.MaxValue)
            errors.Add($"{S}:DhcpLeaseTime {o.DhcpLeaseTime} must be at least 00:02:00 (dnsmasq's minimum) and less than 136 years.");
        if (o.DhcpRestartDelay <= TimeSpan.Zero) errors.Add($"{S}:DhcpRestartDelay must be positive, e.g. 00:00:01.");
        if (o.DhcpMaxRestartDelay < o.DhcpRestartDelay)
            errors.Add($"{S}:DhcpMaxRestartDelay {o.DhcpMaxRestartDelay} must be at least {S}:DhcpRestartDelay {o.DhcpRestartDelay}.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
