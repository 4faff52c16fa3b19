using System.Net;
using Calico.Model.Collections;
using Calico.Model.Net;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

[GenerateSerializer, Immutable]
public sealed record FixedIp([property: Id(0)] string SubnetId, [property: Id(1)] IPAddress Address);

/// <summary>
/// A DHCP option given to one port (Neutron's extra_dhcp_opts): a dnsmasq option name or number, its value, and the
/// IP version it is for. Only IPv4 options are served today (DHCPv6 is not).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ExtraDhcpOption([property: Id(0)] string Name, [property: Id(1)] string Value, [property: Id(2)] int IpVersion = 4)
{
    /// <summary>Why this option cannot be handed to dnsmasq (a name that is not a word or number, a value with control characters); null if it can.</summary>
    public string? Problem()
    {
        if (Name.Length is 0 or > 64 || !Name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            return $"opt_name '{Name}' must be a DHCP option name or number (letters, digits and '-', at most 64)";
        if (Value.Length > 255 || Value.Any(char.IsControl))
            return $"opt_value of {Name} must be at most 255 characters without control characters";
        if (IpVersion is not (4 or 6)) return $"ip_version of {Name} must be 4 or 6 (got {IpVersion})";
        return null;
    }
}

/// <summary>Extra source addresses (and optionally another MAC) a workload may send from, e.g. a VRRP address.</summary>
[GenerateSerializer, Immutable]
public sealed record AllowedAddressPair([property: Id(0)] IpPrefix IpAddress, [property: Id(1)] string? MacAddress);

public enum AdminState { Up, Down }

/// <summary>
/// A Neutron port. Bound to a host (<see cref="Host"/> set) it is a workload endpoint there: a tap interface
/// whose addresses get /32 (/128) routes, policy from its security groups, DHCP host entries. Without
/// <see cref="PortSecurityEnabled"/> it has no anti-spoofing and no policy of its own (and so no groups or pairs).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record WorkloadEndpoint(
    [property: Id(0)] string Id,
    [property: Id(1)] string NetworkId,
    [property: Id(2)] string Name,
    [property: Id(3)] string ProjectId,
    [property: Id(4)] string? Host,
    [property: Id(5)] string MacAddress,
    [property: Id(6)] ValueList<FixedIp> FixedIps,
    [property: Id(7)] ValueList<string> SecurityGroupIds,
    [property: Id(8)] ValueList<AllowedAddressPair> AllowedAddressPairs,
    [property: Id(9)] bool AdminStateUp,
    [property: Id(10)] string DeviceId,
    [property: Id(11)] string DeviceOwner,
    [property: Id(12)] string Description = "",
    [property: Id(13)] bool PortSecurityOff = false,
    [property: Id(14)] string? DnsName = null,
    [property: Id(15)] ValueList<ExtraDhcpOption> ExtraDhcpOptions = default,
    [property: Id(16)] string? BindingProfile = null,
    [property: Id(17)] string? QosPolicyId = null,
    [property: Id(18)] string? MigratingTo = null,
    [property: Id(19)] string? ArrivedOn = null) : IValidatable
{
    /// <summary>The most a binding:profile may hold, as JSON text (Neutron's column holds 4095 characters).</summary>
    public const int MaxBindingProfileLength = 4095;

    /// <summary>
    /// Neutron's port_security_enabled. Stored inverted, so that a port stored before the attribute existed (the
    /// serializer leaves a missing field at its type's default) keeps its port security.
    /// </summary>
    public bool PortSecurityEnabled => !PortSecurityOff;

    /// <summary>The host-side interface name, as Nova/Neutron name it: "tap" and the first 11 characters of the id.</summary>
    public string InterfaceName => InterfaceNameFor(Id);

    public bool IsBound => !string.IsNullOrEmpty(Host);

    // Live migration. MigratingTo is Nova's binding:profile.migrating_to, kept beside the profile's text so that the
    // calculation never parses JSON. ArrivedOn is the control plane's own: the host whose agent saw the VM arrive
    // (EndpointGrain.TakeOverAsync); the API clears it whenever migrating_to or the binding changes.

    /// <summary>
    /// The host a live migration is preparing the port on: migrating_to of a bound port, when it names another host
    /// and the VM has not arrived there yet. That host holds the port too, its routes to the tap on standby.
    /// </summary>
    public string? MigrationTarget => IsBound && MigratingTo is { Length: > 0 } target && target != Host && ArrivedOn != target ? target : null;

    /// <summary>The VM has arrived on the port's migration target: every host treats the port as bound there.</summary>
    public bool HasArrived => IsBound && MigratingTo is { Length: > 0 } target && target != Host && ArrivedOn == target;

    /// <summary>
    /// The port as the hosts program it: once the VM has arrived on its migration target, bound to that host with no
    /// migration, which is exactly what Nova stores when it completes the migration (binding:host_id the target,
    /// migrating_to gone), so that write changes nothing on any host.
    /// </summary>
    public WorkloadEndpoint AsProgrammed() => HasArrived ? this with { Host = MigratingTo, MigratingTo = null, ArrivedOn = null } : this;

    public static string InterfaceNameFor(string portId) => "tap" + (portId.Length > 11 ? portId[..11] : portId);

    /// <summary>A DNS label usable as a DHCP host name (RFC 1123): letters, digits and '-', 1 to 63, no '-' at either end.</summary>
    public static bool IsHostName(string name) =>
        name.Length is > 0 and <= 63 && name[0] != '-' && name[^1] != '-' && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    public IEnumerable<IPAddress> Addresses => FixedIps.Select(f => f.Address);

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        v.Id(Id, "id");
        v.Id(NetworkId, "network_id");
        v.MaxLength(Name, 255, "name");
        v.MaxLength(DeviceId, 255, "device_id");
        v.MaxLength(DeviceOwner, 255, "device_owner");
        v.MaxLength(Description, 255, "description");
        if (!string.IsNullOrEmpty(Host)) HostSpec.ValidateName(Host, v, "binding:host_id");
        if (!Net.MacAddress.TryNormalize(MacAddress, out var mac) || mac != MacAddress)
            v.Add("mac_address", $"'{MacAddress}' is not a MAC address in the form fa:16:3e:00:00:01");
        else if (!Net.MacAddress.IsUsableUnicast(mac))
            v.Add("mac_address", $"{MacAddress} is a multicast or zero address");
        for (var i = 0; i < FixedIps.Count; i++)
        {
            v.Id(FixedIps[i].SubnetId, $"fixed_ips[{i}].subnet_id");
            for (var j = 0; j < i; j++)
                if (FixedIps[i].Address.Equals(FixedIps[j].Address)) v.Add($"fixed_ips[{i}].ip_address", $"{FixedIps[i].Address} is listed twice");
        }
        for (var i = 0; i < SecurityGroupIds.Count; i++) v.Id(SecurityGroupIds[i], $"security_groups[{i}]");
        if (QosPolicyId is not null) v.Id(QosPolicyId, "qos_policy_id");
        if (!string.IsNullOrEmpty(DnsName) && !IsHostName(DnsName))
            v.Add("dns_name", $"'{DnsName}' is not a host name: one DNS label of letters, digits and '-', at most 63, not starting or ending with '-'");
        if (!string.IsNullOrEmpty(MigratingTo)) HostSpec.ValidateName(MigratingTo, v, "binding:profile.migrating_to");
        if (ArrivedOn is not null && ArrivedOn != MigratingTo)
            v.Add("arrived_on", $"'{ArrivedOn}' is not the host the port is migrating to ({MigratingTo ?? "none"})");
        if (BindingProfile is { Length: > MaxBindingProfileLength })
            v.Add("binding:profile", $"is {BindingProfile.Length} characters as JSON; at most {MaxBindingProfileLength}");
        for (var i = 0; i < ExtraDhcpOptions.Count; i++)
            if (ExtraDhcpOptions[i].Problem() is { } problem) v.Add($"extra_dhcp_opts[{i}]", problem);
        // Without port security nothing enforces groups or pairs (Neutron refuses the combination the same way).
        if (!PortSecurityEnabled && SecurityGroupIds.Count > 0) v.Add("security_groups", "needs port_security_enabled: a port without port security has no security groups");
        if (!PortSecurityEnabled && AllowedAddressPairs.Count > 0) v.Add("allowed_address_pairs", "needs port_security_enabled: a port without port security has no allowed address pairs");
        if (SecurityGroupIds.Distinct().Count() != SecurityGroupIds.Count) v.Add("security_groups", "lists a group twice");
        for (var i = 0; i < AllowedAddressPairs.Count; i++)
        {
            var pair = AllowedAddressPairs[i];
            if (pair.MacAddress is not null && (!Net.MacAddress.TryNormalize(pair.MacAddress, out var m) || m != pair.MacAddress))
                v.Add($"allowed_address_pairs[{i}].mac_address", $"'{pair.MacAddress}' is not a MAC address");
        }
        return v.Errors;
    }
}

public enum EndpointStatusKind { Down, Active, Error }

/// <summary>
/// What a compute host reported about one endpoint after programming it. <see cref="Arrived"/>: the host is the port's
/// live-migration target and the VM has arrived there (false from an agent that predates it).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record EndpointStatus(
    [property: Id(0)] EndpointStatusKind Status,
    [property: Id(1)] string? Message,
    [property: Id(2)] string Host,
    [property: Id(3)] long AppliedVersion,
    [property: Id(4)] DateTimeOffset ReportedAt,
    [property: Id(5)] bool Arrived = false);
