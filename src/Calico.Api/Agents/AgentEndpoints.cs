using System.Globalization;
using Calico.Api.Auth;
using Calico.Api.Http;
using Calico.Api.Listing;
using Calico.Grains;
using Calico.Grains.Hosts;
using Calico.Grains.Resources;
using Calico.Model.Resources;
using Microsoft.Extensions.Options;

namespace Calico.Api.Agents;

/// <summary>
/// /v2.0/agents: one agent per registered compute host. Only admins see agents, as in Neutron's default policy: to
/// anyone else the list is empty and an agent is not found (404), so nothing is given away. Alive while the host's
/// compute silo has reported within Hosts:DeadAfter; the CLI shows ":-)" or "XXX". A dead agent may be deleted,
/// which removes the host's registration (and with it the routes other hosts have via it).
/// </summary>
internal sealed class AgentEndpoints(ResourceStore store, IOptions<HostLivenessOptions> liveness)
    : IReadableCollection, IDeletableCollection
{
    public const string AgentType = "Calico per-host agent";

    private static readonly IReadOnlySet<string> Attributes = new HashSet<string>
    {
        "id", "agent_type", "binary", "host", "topic", "alive", "admin_state_up", "availability_zone", "heartbeat_timestamp",
        "started_at", "created_at", "description", "configurations", "resources_synced",
    };

    public static string IdFor(string host) => Ids.NameBased("agent", host);

    public async Task<IResult> ListAsync(HttpContext http)
    {
        var query = new ListQuery(http.Request.Query, Attributes);
        var agents = Caller.Of(http).IsAdmin ? await RenderAllAsync(http.RequestAborted) : [];
        return NeutronResults.List(http, "agents", agents, query);
    }

    public async Task<IResult> ShowAsync(HttpContext http, string id)
    {
        if (!Caller.Of(http).IsAdmin) throw NotFound(id);
        var agent = (await RenderAllAsync(http.RequestAborted)).FirstOrDefault(a => (string?)a["id"] == id) ?? throw NotFound(id);
        return NeutronResults.One("agent", new ListQuery(http.Request.Query, Attributes).Project(agent));
    }

    public async Task<IResult> DeleteAsync(HttpContext http, string id)
    {
        if (!Caller.Of(http).IsAdmin) throw NotFound(id);
        var host = (await store.ListAsync<HostSpec>(GrainTypes.Host, http.RequestAborted)).FirstOrDefault(h => IdFor(h.Value.Name) == id) ?? throw NotFound(id);
        var grain = store.Grains.GetGrain<IHostGrain>(host.Value.Name);
        var status = await grain.GetStatusAsync();
        if (status.Alive)
            throw ApiException.Conflict("AgentInUse", $"Agent {id} (host {host.Value.Name}) is alive; stop its compute silo, wait {liveness.Value.DeadAfter.TotalSeconds:0} s, then delete it.");
        await grain.DeleteAsync(status.Registration?.Revision);
        return Results.NoContent();
    }

    public static ApiException NotFound(string id) => ApiException.NotFound("AgentNotFound", $"Agent {id} could not be found.");

    private async Task<IReadOnlyList<JsonObject>> RenderAllAsync(CancellationToken cancellationToken)
    {
        var hosts = await store.ListAsync<HostSpec>(GrainTypes.Host, cancellationToken);
        var statuses = await Task.WhenAll(hosts.Select(h => store.Grains.GetGrain<IHostGrain>(h.Value.Name).GetStatusAsync()));
        return [.. hosts.Select((h, i) => Render(h, statuses[i]))];
    }

    private JsonObject Render(Versioned<HostSpec> registration, HostStatus status)
    {
        var host = registration.Value;
        var o = liveness.Value;
        return new JsonObject
        {
            ["id"] = IdFor(host.Name),
            ["agent_type"] = AgentType,
            ["binary"] = "calico-silo",
            ["host"] = host.Name,
            ["topic"] = "N/A",
            ["alive"] = status.Alive,
            ["admin_state_up"] = true,
            ["availability_zone"] = null,
            ["heartbeat_timestamp"] = status.LastReport is { } r ? AgentTime(r.At) : null,
            ["started_at"] = status.FirstSeen is { } f ? AgentTime(f) : null,
            ["created_at"] = AgentTime(registration.CreatedAt == default ? registration.UpdatedAt : registration.CreatedAt),
            ["description"] = null,
            ["resources_synced"] = null,
            ["configurations"] = new JsonObject
            {
                ["ipv4_address"] = host.Ipv4Address?.ToString(),
                ["ipv6_address"] = host.Ipv6Address?.ToString(),
                ["as_number"] = host.AsNumber,
                ["labels"] = new JsonObject([.. host.Labels.Select(l => new KeyValuePair<string, JsonNode?>(l.Key, l.Value))]),
                ["silo"] = status.LastReport?.SiloName,
                ["agent_version"] = status.LastReport?.AgentVersion,
                ["applied_desired_state"] = status.LastReport?.Applied?.ToString(),
                ["report_interval"] = (int)o.ReportInterval.TotalSeconds,
                ["dead_after"] = (int)o.DeadAfter.TotalSeconds,
                // BGP mode: the sessions of the host's BIRD as last reported (absent: none read).
                ["bgp_sessions"] = status.LastReport?.BgpSessions is { } sessions
                    ? new JsonArray([.. sessions.Select(s => (JsonNode)new JsonObject
                    {
                        ["peer"] = s.Peer.ToString(),
                        ["state"] = s.State,
                        ["since"] = s.Since is { } since ? AgentTime(since) : null,
                        ["routes_received"] = s.RoutesReceived,
                    })])
                    : null,
            },
        };
    }

    /// <summary>Neutron shows agent times as "2025-01-31 12:00:00" (UTC).</summary>
    private static string AgentTime(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
