using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>
/// A Neutron network. In Calico's model every network shares one routed address space: a network groups
/// subnets and carries the MTU; isolation comes from security groups, not from the network. Its provider type is
/// <c>local</c> (the default) or <c>flat</c> on a named physical network, as networking-calico supports; either way
/// workloads are routed, never bridged, and no segmentation id exists.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record Network(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string ProjectId,
    [property: Id(3)] bool AdminStateUp,
    [property: Id(4)] int Mtu,
    [property: Id(5)] bool Shared,
    [property: Id(6)] bool External,
    [property: Id(7)] string Description = "",
    [property: Id(8)] bool PortSecurityOff = false,
    [property: Id(9)] string? ProviderNetworkType = null,
    [property: Id(10)] string? PhysicalNetwork = null,
    [property: Id(11)] string? QosPolicyId = null) : IValidatable
{
    public const string Local = "local";
    public const string Flat = "flat";

    /// <summary>provider:network_type; a network stored without one is local.</summary>
    public string NetworkType => ProviderNetworkType ?? Local;

    /// <summary>The default of the network's new ports (stored inverted, like <see cref="WorkloadEndpoint.PortSecurityOff"/>).</summary>
    public bool PortSecurityEnabled => !PortSecurityOff;

    public const int DefaultMtu = 1500;

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Id(Id, "id");
        v.MaxLength(Name, 255, "name");
        v.MaxLength(ProjectId, 255, "project_id");
        v.MaxLength(Description, 255, "description");
        // 68 is the IPv4 minimum; IPv6 subnets need 1280, checked where a subnet meets its network.
        v.Require(Mtu is >= 68 and <= 65535, "mtu", $"{Mtu} is outside 68..65535");
        if (NetworkType is not (Local or Flat))
            v.Add("provider:network_type", $"'{NetworkType}' is not supported: Calico routes every network, so only '{Local}' and '{Flat}' exist");
        else if (NetworkType == Flat && string.IsNullOrEmpty(PhysicalNetwork))
            v.Add("provider:physical_network", "is required for a flat network");
        else if (NetworkType == Local && PhysicalNetwork is not null)
            v.Add("provider:physical_network", "must not be set for a local network");
        v.MaxLength(PhysicalNetwork ?? "", 64, "provider:physical_network");
        if (QosPolicyId is not null) v.Id(QosPolicyId, "qos_policy_id");
        return v.Errors;
    }
}
