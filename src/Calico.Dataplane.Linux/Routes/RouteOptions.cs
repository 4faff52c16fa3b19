using Calico.Dataplane.Linux.Components;
using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Routes;

/// <summary>How our routes are marked and where they go (keys in section "Dataplane").</summary>
public sealed class RouteOptions
{
    /// <summary>The rtm_protocol that marks our routes: only routes carrying it are ever changed or removed.</summary>
    public byte RouteProtocol { get; set; } = 80;

    /// <summary>The routing table our routes go in.</summary>
    public uint RouteTable { get; set; } = 254;

    /// <summary>
    /// The metric of a live migration's standby routes (lower priority than our others, which have 0, IPv6's 1024): on
    /// the target the route to the tap waiting for the VM, on the source the route via the target. On the target the
    /// route via the source, until the VM arrives, has this metric + 1.
    /// </summary>
    public uint MigrationRouteMetric { get; set; } = 2048;
}

public sealed class RouteOptionsValidator : IValidateOptions<RouteOptions>
{
    public ValidateOptionsResult Validate(string? name, RouteOptions o)
    {
        var errors = new List<string>();
        if (o.RouteProtocol <= 4)
            errors.Add($"{DataplaneOptions.Section}:RouteProtocol {o.RouteProtocol} is reserved for the kernel (0-4); choose 5..255, e.g. 80.");
        if (o.MigrationRouteMetric <= Calico.Netlink.RouteKey.DefaultIPv6Priority || o.MigrationRouteMetric == uint.MaxValue)
            errors.Add($"{DataplaneOptions.Section}:MigrationRouteMetric {o.MigrationRouteMetric} must be above {Calico.Netlink.RouteKey.DefaultIPv6Priority} (the metric of our IPv6 routes), so that a standby route yields to the normal one, and below {uint.MaxValue}; e.g. 2048.");
        if (o.RouteTable is 0 or 253 or 255)
            errors.Add($"{DataplaneOptions.Section}:RouteTable {o.RouteTable} is a reserved table; use 254 (main) or a table of your own.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
