using Calico.Model.Desired;
using Microsoft.Extensions.Options;

namespace Calico.Grains.DesiredState;

/// <summary>
/// The cluster's routing (section "Routing"), read by every calculator shard: the same on every controller silo. A
/// change takes effect when the shards activate again (a controller restart): each then pushes every host a new
/// snapshot, so hosts move between modes whole.
/// </summary>
public sealed class RoutingOptions
{
    public const string Section = "Routing";

    /// <summary>"direct" (the control plane computes routes via the owning host) or "bgp" (BIRD on every host distributes them).</summary>
    public string Mode { get; set; } = "direct";

    /// <summary>The AS number of hosts that register none of their own (BGP mode); Calico's default.</summary>
    public uint AsNumber { get; set; } = ClusterRouting.DefaultAsNumber;

    public ClusterRouting ToClusterRouting() => new(ParseMode(Mode) ?? RoutingMode.Direct, AsNumber);

    public static RoutingMode? ParseMode(string? mode) => mode?.Trim().ToLowerInvariant() switch
    {
        "direct" => RoutingMode.Direct,
        "bgp" => RoutingMode.Bgp,
        _ => null,
    };
}

/// <summary>Refuses routing settings that cannot work, naming the key.</summary>
public sealed class RoutingOptionsValidator : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions o)
    {
        var errors = new List<string>();
        if (RoutingOptions.ParseMode(o.Mode) is null)
            errors.Add($"{RoutingOptions.Section}:Mode '{o.Mode}' is not a routing mode: use 'direct' (one L2 segment) or 'bgp' (BIRD on every host).");
        if (o.AsNumber is 0 or 23456 or uint.MaxValue)
            errors.Add($"{RoutingOptions.Section}:AsNumber {o.AsNumber} is reserved (0, 23456 and 4294967295 are); use e.g. 64512 (private 64512-65534, 4200000000-4294967294).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
