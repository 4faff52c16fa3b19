using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Calico.Silo.Compute;

/// <summary>Settings of the compute role (section "Compute"): who this host is and how it watches its desired state.</summary>
public sealed class ComputeOptions
{
    public const string Section = "Compute";

    /// <summary>The host's name, as ports name it in binding:host_id. Default: the machine name.</summary>
    public string HostName { get; set; } = Environment.MachineName;

    /// <summary>The address other hosts route this host's workloads via. Default: the first non-loopback IPv4 address.</summary>
    public string? Ipv4Address { get; set; }

    public string? Ipv6Address { get; set; }

    public uint? AsNumber { get; set; }

    public Dictionary<string, string> Labels { get; set; } = [];

    /// <summary>
    /// BGP mode: this host is a route reflector with this cluster id (an IPv4 address, often its own). Once any host
    /// is one, the others peer with the reflectors only, not in a full mesh.
    /// </summary>
    public string? RouteReflectorClusterId { get; set; }

    /// <summary>How long one watch call waits for a change before it returns empty.</summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Longest pause between attempts while the control plane is unreachable.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where the desired state goes. "linux" (default): this network namespace's kernel (or the one named by
    /// Dataplane:NetworkNamespace). "memory": kept in memory and logged, nothing programmed (controller trials, tests).
    /// </summary>
    public string Dataplane { get; set; } = "linux";

    /// <summary>The IPv4 address to register: the configured one, or the first usable one of this namespace.</summary>
    public IPAddress? ResolveIpv4() =>
        Ipv4Address is { Length: > 0 } text ? IPAddress.Parse(text) : DetectAddress(AddressFamily.InterNetwork);

    public IPAddress? ResolveIpv6() =>
        Ipv6Address is { Length: > 0 } text ? IPAddress.Parse(text) : null;

    private static IPAddress? DetectAddress(AddressFamily family) =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            // Workload and DHCP interfaces carry workload-facing addresses, never the host's own.
            .Where(n => !n.Name.StartsWith("tap", StringComparison.Ordinal) && !n.Name.StartsWith("ns-", StringComparison.Ordinal))
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == family && !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal);
}

public sealed class ComputeOptionsValidator : IValidateOptions<ComputeOptions>
{
    public ValidateOptionsResult Validate(string? name, ComputeOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.HostName)) errors.Add("Compute:HostName is required.");
        if (o.Ipv4Address is { Length: > 0 } v4 && (!IPAddress.TryParse(v4, out var a4) || a4.AddressFamily != AddressFamily.InterNetwork))
            errors.Add($"Compute:Ipv4Address '{v4}' is not an IPv4 address.");
        if (o.Ipv6Address is { Length: > 0 } v6 && (!IPAddress.TryParse(v6, out var a6) || a6.AddressFamily != AddressFamily.InterNetworkV6))
            errors.Add($"Compute:Ipv6Address '{v6}' is not an IPv6 address.");
        if (o.RouteReflectorClusterId is { Length: > 0 } rr && (!IPAddress.TryParse(rr, out var c) || c.AddressFamily != AddressFamily.InterNetwork))
            errors.Add($"Compute:RouteReflectorClusterId '{rr}' is not an IPv4 address (a route reflector cluster id is written as one, e.g. 224.0.0.1 or the host's own).");
        if (o.WatchTimeout <= TimeSpan.Zero || o.WatchTimeout > TimeSpan.FromSeconds(25))
            errors.Add($"Compute:WatchTimeout must be between 0 and 25 seconds (Orleans' call timeout is 30 s); it is {o.WatchTimeout}.");
        if (o.Dataplane is not ("linux" or "memory"))
            errors.Add($"Compute:Dataplane '{o.Dataplane}' is unknown; use 'linux' or 'memory'.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
