using System.Text.Json.Nodes;
using Calico.Cli.Output;
using Calico.Grains;

namespace Calico.Cli.Hosts;

/// <summary>How a host is shown by <c>status</c>, <c>host list</c> and <c>host show</c>: one table row, or one JSON object.</summary>
internal static class HostViews
{
    public static readonly string[] Headers = ["HOST", "STATE", "ADDRESS", "REPORTED", "SILO", "APPLIED", "LAG", "ENDPOINTS"];

    public static IReadOnlyList<string> Row(HostSummary h, DateTimeOffset now) =>
    [
        h.Spec.Name,
        h.Alive ? "alive" : "DEAD",
        h.Spec.Ipv4Address?.ToString() ?? h.Spec.Ipv6Address?.ToString() ?? "-",
        CliTable.Ago(h.ReportedAt, now),
        h.Silo ?? "-",
        h.Applied is { } a ? a.Version.ToString() : "-",
        Lag(h),
        $"{h.Endpoints} ({h.Active} active, {h.Down} down, {h.Error} error)",
    ];

    /// <summary>Versions behind the host grain; "snapshot pending" when the agent's cursor is of an older epoch.</summary>
    public static string Lag(HostSummary h) =>
        h.Applied is null ? "nothing applied" : h.Lag is { } lag ? lag.ToString() : "snapshot pending";

    public static JsonObject Json(HostSummary h) => new()
    {
        ["host"] = h.Spec.Name,
        ["alive"] = h.Alive,
        ["ipv4_address"] = h.Spec.Ipv4Address?.ToString(),
        ["ipv6_address"] = h.Spec.Ipv6Address?.ToString(),
        ["as_number"] = h.Spec.AsNumber,
        ["labels"] = new JsonObject([.. h.Spec.Labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))]),
        ["route_reflector_cluster_id"] = h.Spec.RouteReflectorClusterId?.ToString(),
        ["reported_at"] = CliTable.Iso(h.ReportedAt),
        ["first_seen"] = CliTable.Iso(h.FirstSeen),
        ["silo"] = h.Silo,
        ["agent_version"] = h.AgentVersion,
        ["applied"] = h.Applied?.ToString(),
        ["applied_version"] = h.Applied?.Version,
        ["desired"] = h.Desired?.ToString(),
        ["desired_version"] = h.Desired?.Version,
        ["lag"] = h.Lag,
        ["endpoints"] = new JsonObject { ["total"] = h.Endpoints, ["active"] = h.Active, ["down"] = h.Down, ["error"] = h.Error },
    };
}
