using System.Text.Json.Nodes;
using Calico.Cli.Output;
using Calico.Grains;

namespace Calico.Cli.Endpoints;

/// <summary>How a port is shown by <c>endpoint list|show</c> and <c>host show</c>.</summary>
internal static class EndpointViews
{
    public static readonly string[] Headers = ["PORT", "NAME", "NETWORK", "HOST", "ADDRESSES", "STATUS", "REASON"];

    public static IReadOnlyList<string> Row(EndpointSummary e) =>
    [
        e.Port.Id,
        e.Port.Name.Length == 0 ? "-" : e.Port.Name,
        e.NetworkName ?? e.Port.NetworkId,
        e.Port.Host is { Length: > 0 } h ? h : "-",
        e.Port.FixedIps.Count == 0 ? "-" : string.Join(",", e.Port.Addresses),
        Status(e),
        e.Reason ?? "",
    ];

    public static string Status(EndpointSummary e) => e.Status.ToString().ToUpperInvariant();

    public static JsonObject Json(EndpointSummary e) => new()
    {
        ["id"] = e.Port.Id,
        ["name"] = e.Port.Name,
        ["network_id"] = e.Port.NetworkId,
        ["network_name"] = e.NetworkName,
        ["host"] = e.Port.Host,
        ["interface"] = e.Port.IsBound ? e.Port.InterfaceName : null,
        ["mac_address"] = e.Port.MacAddress,
        ["fixed_ips"] = new JsonArray([.. e.Port.FixedIps.Select(f => (JsonNode)new JsonObject { ["subnet_id"] = f.SubnetId, ["ip_address"] = f.Address.ToString() })]),
        ["security_groups"] = new JsonArray([.. e.Port.SecurityGroupIds.Select(g => (JsonNode)g)]),
        ["port_security_enabled"] = e.Port.PortSecurityEnabled,
        ["admin_state_up"] = e.Port.AdminStateUp,
        ["device_owner"] = e.Port.DeviceOwner,
        ["device_id"] = e.Port.DeviceId,
        ["status"] = Status(e),
        ["reason"] = e.Reason,
        ["reported_at"] = CliTable.Iso(e.ReportedAt),
    };
}
