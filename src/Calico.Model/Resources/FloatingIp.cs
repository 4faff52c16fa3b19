using System.Net;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>
/// A public address mapped 1:1 onto a port's fixed address: DNAT in, SNAT out, on the port's host,
/// which other hosts reach for it. <see cref="RouterId"/> is the router whose gateway on the floating network and
/// interface on the port's subnet allowed the association (Neutron's rule; API only: the data path needs no router).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record FloatingIp(
    [property: Id(0)] string Id,
    [property: Id(1)] string FloatingNetworkId,
    [property: Id(2)] IPAddress FloatingIpAddress,
    [property: Id(3)] string ProjectId,
    [property: Id(4)] string? PortId,
    [property: Id(5)] IPAddress? FixedIpAddress,
    [property: Id(6)] string Description = "",
    [property: Id(7)] string? RouterId = null) : IValidatable
{
    public bool IsAssociated => PortId is not null && FixedIpAddress is not null;

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Id(Id, "id");
        v.Id(FloatingNetworkId, "floating_network_id");
        if (PortId is not null) v.Id(PortId, "port_id");
        if (FixedIpAddress is not null && PortId is null) v.Add("fixed_ip_address", "needs port_id");
        if (RouterId is not null && PortId is null) v.Add("router_id", "needs port_id");
        if (FixedIpAddress is not null && FixedIpAddress.AddressFamily != FloatingIpAddress.AddressFamily)
            v.Add("fixed_ip_address", $"{FixedIpAddress} is not of the floating address's family");
        v.MaxLength(Description, 255, "description");
        return v.Errors;
    }
}
