using System.Net;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>
/// A compute host as registered by its compute silo: where other hosts route its workloads. With
/// <see cref="RouteReflectorClusterId"/> it is a BGP route reflector (BGP mode): once any host is one, the other hosts
/// peer only with the reflectors instead of the full mesh.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record HostSpec(
    [property: Id(0)] string Name,
    [property: Id(1)] IPAddress? Ipv4Address,
    [property: Id(2)] IPAddress? Ipv6Address,
    [property: Id(3)] uint? AsNumber,
    [property: Id(4)] ValueMap Labels,
    [property: Id(5)] IPAddress? RouteReflectorClusterId = null) : IValidatable
{
    public bool IsRouteReflector => RouteReflectorClusterId is not null;

    public IPAddress? AddressFor(int version) => version == 6 ? Ipv6Address : Ipv4Address;

    /// <summary>A host name ends up in log lines, silo names and BGP configuration: keep it DNS-like.</summary>
    public static void ValidateName(string? name, Validator v, string field)
    {
        if (string.IsNullOrEmpty(name)) v.Add(field, "is required");
        else if (name.Length > 253 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
            v.Add(field, $"'{name}' must be 1..253 characters of letters, digits, '-', '.' and '_'");
    }

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        ValidateName(Name, v, "name");
        v.Require(Ipv4Address is not null || Ipv6Address is not null, "ipv4_address", "a host needs an IPv4 or IPv6 address");
        v.Family(Ipv4Address, 4, "ipv4_address");
        v.Family(Ipv6Address, 6, "ipv6_address");
        if (Ipv4Address is not null && (IPAddress.IsLoopback(Ipv4Address) || Ipv4Address.Equals(IPAddress.Any)))
            v.Add("ipv4_address", $"{Ipv4Address} cannot be reached from other hosts");
        // Other hosts route its IPv6 workloads via it, and BGP's IPv6 sessions start from it: a global (or unique local)
        // unicast address, never one scoped to a link.
        if (Ipv6Address is { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } v6
            && (IPAddress.IsLoopback(v6) || v6.Equals(IPAddress.IPv6Any) || v6.IsIPv6Multicast || v6.IsIPv6LinkLocal || v6.IsIPv4MappedToIPv6))
            v.Add("ipv6_address", $"{v6} cannot be reached from other hosts (loopback, unspecified, multicast, link-local or IPv4-mapped)");
        if (AsNumber is 0) v.Add("as_number", "0 is reserved");
        v.Family(RouteReflectorClusterId, 4, "route_reflector_cluster_id");
        foreach (var (key, value) in Labels)
        {
            if (key.Length is 0 or > 63) v.Add($"labels.{key}", "label keys are 1..63 characters");
            if (value.Length > 63) v.Add($"labels.{key}", "label values are at most 63 characters");
        }
        return v.Errors;
    }
}
