using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>
/// A Neutron network. In Calico's model every network shares one routed address space: a network groups
/// subnets and carries the MTU; isolation comes from security groups, not from the network.
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
    [property: Id(8)] bool PortSecurityOff = false) : IValidatable
{
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
        return v.Errors;
    }
}
