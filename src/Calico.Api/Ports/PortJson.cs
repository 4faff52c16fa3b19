using Calico.Api.Http;
using Calico.Grains;
using Calico.Model.Collections;
using Calico.Model.Desired;
using Calico.Model.Net;
using Calico.Model.Resources;

namespace Calico.Api.Ports;

/// <summary>A port as Neutron shows it (with the binding extension), and the request attributes that set one.</summary>
internal static class PortJson
{
    public static readonly IReadOnlySet<string> Attributes = new HashSet<string>(StandardAttributes.Names)
    {
        "name", "network_id", "mac_address", "admin_state_up", "status", "device_id", "device_owner", "fixed_ips",
        "security_groups", "allowed_address_pairs", "binding:host_id", "binding:vif_type", "binding:vif_details",
        "binding:vnic_type", "binding:profile", "port_security_enabled", "dns_name", "dns_assignment", "extra_dhcp_opts",
        "qos_policy_id",
    };

    public static readonly IReadOnlySet<string> Updatable = new HashSet<string>
    {
        "name", "description", "admin_state_up", "device_id", "device_owner", "fixed_ips", "security_groups",
        "allowed_address_pairs", "binding:host_id", "binding:vnic_type", "binding:profile", "port_security_enabled",
        "dns_name", "extra_dhcp_opts", "qos_policy_id",
    };

    public static readonly IReadOnlySet<string> Creatable = new HashSet<string>(Updatable.Concat(Projects.Attributes))
    {
        "network_id", "mac_address", "tags",
    };

    public static readonly IReadOnlySet<string> FixedIpKeys = new HashSet<string> { "subnet_id", "ip_address" };

    private static readonly IReadOnlySet<string> PairKeys = new HashSet<string> { "ip_address", "mac_address" };

    private static readonly IReadOnlySet<string> DhcpOptionKeys = new HashSet<string> { "opt_name", "opt_value", "ip_version" };

    /// <summary>The DNS domain of a port's name when no DNS service is configured, as Neutron's default.</summary>
    public const string DnsDomain = "openstacklocal.";

    /// <summary>The host side of every tap, as networking-calico gives it in binding:vif_details.</summary>
    public const string TapMacAddress = "00:61:fe:ed:ca:fe";

    /// <summary>
    /// The port as <paramref name="viewer"/> sees it: the binding attributes that say where and how it is plugged
    /// (binding:host_id, binding:vif_type, binding:vif_details, binding:profile) only for admins, as in Neutron's
    /// default policy (a project learns nothing of the compute hosts).
    /// </summary>
    public static JsonObject Render(Versioned<WorkloadEndpoint> stored, string status, Auth.Caller viewer)
    {
        var p = stored.Value;
        var json = StandardAttributes.Render(stored, p.Id, p.ProjectId, p.Description);
        json["name"] = p.Name;
        json["network_id"] = p.NetworkId;
        json["mac_address"] = p.MacAddress;
        json["admin_state_up"] = p.AdminStateUp;
        json["status"] = status;
        json["device_id"] = p.DeviceId;
        json["device_owner"] = p.DeviceOwner;
        json["fixed_ips"] = StandardAttributes.Array(p.FixedIps.Select(f =>
            (JsonNode)new JsonObject { ["subnet_id"] = f.SubnetId, ["ip_address"] = f.Address.ToString() }));
        json["security_groups"] = StandardAttributes.Strings(p.SecurityGroupIds);
        json["allowed_address_pairs"] = StandardAttributes.Array(p.AllowedAddressPairs.Select(a => (JsonNode)new JsonObject
        {
            ["ip_address"] = a.IpAddress.IsHost ? a.IpAddress.Address.ToString() : a.IpAddress.ToString(),
            ["mac_address"] = a.MacAddress ?? p.MacAddress,
        }));
        if (viewer.IsAdmin)
        {
            json["binding:host_id"] = p.Host ?? "";
            // networking-calico's binding: a routed tap device, with policy enforced on the host, and one host-side MAC
            // for every tap (Nova's plug_tap gives the tap this address), so that a VM's ARP entry for its gateway stays
            // true when it moves to another host.
            json["binding:vif_type"] = p.IsBound ? "tap" : "unbound";
            json["binding:vif_details"] = p.IsBound ? new JsonObject { ["port_filter"] = true, ["mac_address"] = TapMacAddress } : new JsonObject();
            // Kept as given. Nova's live migration sets migrating_to in it, which prepares the port on that host.
            json["binding:profile"] = p.BindingProfile is { } profile ? JsonNode.Parse(profile) : new JsonObject();
        }
        json["binding:vnic_type"] = "normal";
        json["port_security_enabled"] = p.PortSecurityEnabled;
        json["dns_name"] = p.DnsName ?? "";
        // The name each address answers DHCP with (dns_name, or Neutron's host-<address>).
        json["dns_assignment"] = StandardAttributes.Array(p.FixedIps.Select(f =>
        {
            var hostname = DhcpHostItem.For(p, f.Address, f.SubnetId).Hostname;
            return (JsonNode)new JsonObject { ["hostname"] = hostname, ["ip_address"] = f.Address.ToString(), ["fqdn"] = $"{hostname}.{DnsDomain}" };
        }));
        json["extra_dhcp_opts"] = StandardAttributes.Array(p.ExtraDhcpOptions.Select(o =>
            (JsonNode)new JsonObject { ["opt_name"] = o.Name, ["opt_value"] = o.Value, ["ip_version"] = o.IpVersion }));
        json["qos_policy_id"] = p.QosPolicyId;
        return json;
    }

    /// <summary>
    /// Nova's live-migration target in a binding profile (<c>migrating_to</c>): a host name, or nothing. Its form is
    /// checked with the port (<see cref="WorkloadEndpoint.Validate"/>), as binding:host_id's is.
    /// </summary>
    private static string? MigratingToOf(JsonObject? profile) => profile?["migrating_to"] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var host) => host.Length > 0 ? host : null,
        var other => throw RequestObject.Invalid("binding:profile.migrating_to", $"'{other.ToJsonString()}' is not a host name"),
    };

    /// <summary>The attributes stored as they are (addresses, groups and MAC are resolved by the caller).</summary>
    public static WorkloadEndpoint Apply(RequestObject body, WorkloadEndpoint current)
    {
        CheckFixedExtensions(body);
        var next = current with
        {
            Name = body.String("name") ?? current.Name,
            Description = body.String("description") ?? current.Description,
            AdminStateUp = body.Bool("admin_state_up") ?? current.AdminStateUp,
            DeviceId = body.String("device_id") ?? current.DeviceId,
            DeviceOwner = body.String("device_owner") ?? current.DeviceOwner,
            PortSecurityOff = body.Bool("port_security_enabled") is { } secured ? !secured : current.PortSecurityOff,
        };
        if (body.Has("binding:host_id")) next = next with { Host = body.String("binding:host_id", nullable: true) is { Length: > 0 } h ? h : null };
        if (body.Has("binding:profile"))
        {
            var profile = body.Body["binding:profile"] switch
            {
                null or JsonObject { Count: 0 } => null,
                JsonObject o => o,
                var other => throw RequestObject.Invalid("binding:profile", $"'{other.ToJsonString()}' is not an object"),
            };
            next = next with { BindingProfile = profile?.ToJsonString(), MigratingTo = MigratingToOf(profile) };
        }
        // Where the VM was seen arriving belongs to the migration it was seen in: a new target, or a binding Nova
        // changed, starts afresh.
        if (next.MigratingTo != current.MigratingTo || next.Host != current.Host) next = next with { ArrivedOn = null };
        if (body.Has("qos_policy_id")) next = next with { QosPolicyId = body.Id("qos_policy_id", nullable: true) };
        if (body.Has("dns_name")) next = next with { DnsName = body.String("dns_name", nullable: true) is { Length: > 0 } dns ? dns : null };
        if (body.ObjectList("extra_dhcp_opts", DhcpOptionKeys) is { } options) next = next with { ExtraDhcpOptions = MergeOptions(current.ExtraDhcpOptions, options) };
        if (body.ObjectList("allowed_address_pairs", PairKeys) is { } pairs)
        {
            next = next with
            {
                AllowedAddressPairs = pairs.Select((pair, i) => new AllowedAddressPair(
                    pair.Prefix("ip_address") ?? throw RequestObject.Invalid($"allowed_address_pairs[{i}].ip_address", "is required"),
                    NormalizeMac(pair.String("mac_address", nullable: true), $"allowed_address_pairs[{i}].mac_address"))).ToValueList(),
            };
        }
        return next;
    }

    /// <summary>Attributes of extensions Calico does not have, accepted only with the value that means "as usual".</summary>
    private static void CheckFixedExtensions(RequestObject body)
    {
        if (body.String("binding:vnic_type") is { } vnic && vnic != "normal")
            throw RequestObject.Invalid("binding:vnic_type", $"'{vnic}' is not supported; Calico binds 'normal' (tap) ports only");
    }

    /// <summary>
    /// extra_dhcp_opts as Neutron applies them: each option given replaces the port's option of the same name and IP
    /// version, one given with a null opt_value removes it, the others stay.
    /// </summary>
    private static ValueList<ExtraDhcpOption> MergeOptions(ValueList<ExtraDhcpOption> current, IReadOnlyList<RequestObject> given)
    {
        var result = current.ToList();
        foreach (var option in given)
        {
            var name = option.String("opt_name") ?? throw RequestObject.Invalid(option.Field("opt_name"), "is required");
            var version = option.Int("ip_version", nullable: true) ?? 4;
            if (version is not (4 or 6)) throw RequestObject.Invalid(option.Field("ip_version"), $"must be 4 or 6 (got {version})");
            result.RemoveAll(o => string.Equals(o.Name, name, StringComparison.Ordinal) && o.IpVersion == version);
            if (option.String("opt_value", nullable: true) is not { } value) continue;
            var added = new ExtraDhcpOption(name, value, version);
            // Checked here, so that the error names the option as the request has it.
            if (added.Problem() is { } problem) throw RequestObject.Invalid(option.Path, problem);
            result.Add(added);
        }
        return result.ToValueList();
    }

    /// <summary>
    /// Neutron's rules for a port without port security, with its errors: no security groups (400 when the request
    /// asks for both; 409 when it turns port security off on a port that has groups) and no allowed address pairs (409).
    /// </summary>
    public static void CheckPortSecurity(WorkloadEndpoint? current, WorkloadEndpoint next, bool groupsRequested)
    {
        if (next.PortSecurityEnabled) return;
        if (next.AllowedAddressPairs.Count > 0)
            throw ApiException.Conflict("AddressPairAndPortSecurityRequired", "Port Security must be enabled in order to have allowed address pairs on a port.");
        if (next.SecurityGroupIds.Count == 0) return;
        if (current is { PortSecurityEnabled: true } && !groupsRequested)
            throw ApiException.Conflict("PortSecurityPortHasSecurityGroup",
                "Port has security group associated. Cannot disable port security or IP address until security group is removed.");
        throw ApiException.BadRequest("Port security must be enabled and port must have an IP address in order to use security groups.",
            "PortSecurityAndIPRequiredForSecurityGroups");
    }

    public static string? NormalizeMac(string? text, string field)
    {
        if (text is null) return null;
        if (!MacAddress.TryNormalize(text, out var mac)) throw RequestObject.Invalid(field, $"'{text}' is not a valid MAC address");
        if (!MacAddress.IsUsableUnicast(mac)) throw RequestObject.Invalid(field, $"{mac} is a multicast or zero address");
        return mac;
    }

    /// <summary>
    /// A MAC in OpenStack's range fa:16:3e:00:00:00/24, random in the last three bytes, and not one
    /// in use (<paramref name="inUse"/>: by a port of the network): a generated MAC is drawn again rather than refused,
    /// as Neutron does (16,777,216 choices; two ports among a thousand share one with a probability of about 3 %).
    /// </summary>
    public static async Task<string> NewMacAsync(Func<string, Task<bool>> inUse, Func<string>? draw = null)
    {
        draw ??= RandomMac;
        for (var attempt = 0; attempt < 64; attempt++)
        {
            var mac = draw();
            if (!await inUse(mac)) return mac;
        }
        throw ApiException.Conflict("MacAddressGenerationFailure", "Unable to generate a unique MAC address for the network: every one of 64 random draws is in use.");
    }

    private static string RandomMac()
    {
        Span<byte> tail = stackalloc byte[3];
        System.Security.Cryptography.RandomNumberGenerator.Fill(tail);
        return $"fa:16:3e:{tail[0]:x2}:{tail[1]:x2}:{tail[2]:x2}";
    }

    public static ValueList<string> Groups(IReadOnlyList<string> ids) => ids.ToValueList();
}
