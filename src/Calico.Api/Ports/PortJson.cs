using Calico.Api.Http;
using Calico.Grains;
using Calico.Model.Collections;
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
        "binding:vnic_type", "binding:profile", "port_security_enabled",
    };

    public static readonly IReadOnlySet<string> Updatable = new HashSet<string>
    {
        "name", "description", "admin_state_up", "device_id", "device_owner", "fixed_ips", "security_groups",
        "allowed_address_pairs", "binding:host_id", "binding:vnic_type", "binding:profile", "port_security_enabled",
    };

    public static readonly IReadOnlySet<string> Creatable = new HashSet<string>(Updatable.Concat(Projects.Attributes))
    {
        "network_id", "mac_address",
    };

    public static readonly IReadOnlySet<string> FixedIpKeys = new HashSet<string> { "subnet_id", "ip_address" };

    private static readonly IReadOnlySet<string> PairKeys = new HashSet<string> { "ip_address", "mac_address" };

    /// <summary>The host side of every tap, as networking-calico gives it in binding:vif_details.</summary>
    public const string TapMacAddress = "00:61:fe:ed:ca:fe";

    public static JsonObject Render(Versioned<WorkloadEndpoint> stored, string status)
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
        json["binding:host_id"] = p.Host ?? "";
        // networking-calico's binding: a routed tap device, with policy enforced on the host, and one host-side MAC
        // for every tap (Nova's plug_tap gives the tap this address), so that a VM's ARP entry for its gateway stays
        // true when it moves to another host.
        json["binding:vif_type"] = p.IsBound ? "tap" : "unbound";
        json["binding:vif_details"] = p.IsBound ? new JsonObject { ["port_filter"] = true, ["mac_address"] = TapMacAddress } : new JsonObject();
        json["binding:vnic_type"] = "normal";
        json["binding:profile"] = new JsonObject();
        json["port_security_enabled"] = p.PortSecurityEnabled;
        return json;
    }

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
        if (body.Has("binding:profile") && body.Body["binding:profile"] is not JsonObject { Count: 0 } and not null)
            throw RequestObject.Invalid("binding:profile", "must be empty; Calico uses no binding profile");
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
