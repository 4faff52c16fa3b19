using Calico.Api.Http;
using Calico.Api.Listing;
using Microsoft.AspNetCore.Routing;

namespace Calico.Api.Versions;

/// <summary>
/// The Neutron extensions this API implements. Clients probe these to decide what to send: an alias is listed
/// only when its attributes and behaviour are really there.
/// </summary>
internal static class ExtensionEndpoints
{
    private static readonly IReadOnlyList<(string Alias, string Name, string Description)> Supported =
    [
        ("agent", "agent", "Agents: one per compute host, alive while its compute silo reports in."),
        ("allowed-address-pairs", "Allowed Address Pairs", "Extra source addresses a port may send from."),
        ("binding", "Port Binding", "binding:host_id binds a port to a compute host."),
        ("dns-integration", "DNS Integration", "dns_name on ports: the host name DHCP gives the port (dns_assignment shows it)."),
        ("external-net", "Neutron external network", "router:external networks, the source of floating IPs."),
        ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "enable_snat in a router's external_gateway_info (admin only)."),
        ("extraroute", "Neutron Extra Route", "Extra routes on routers: each next hop in a subnet of the router's interfaces."),
        ("extra_dhcp_opt", "Neutron Extra DHCP options", "extra_dhcp_opts on ports: DHCP options dnsmasq gives that port (IPv4)."),
        ("filter-validation", "Filter parameters validation", "Unknown filter attributes are refused with 400."),
        ("ip-substring-filtering", "IP address substring filtering", "Ports listed by part of an address: ?fixed_ips=ip_address_substr=10.0.0."),
        ("net-mtu", "Network MTU", "The MTU of a network."),
        ("port-security", "Port Security", "port_security_enabled on ports (and a network's default): off, a port has no anti-spoofing and no security groups."),
        ("project-id", "project_id field enabled", "project_id beside tenant_id."),
        ("provider", "Provider Network", "provider:network_type local (default) or flat with provider:physical_network; no segmentation id. Set at creation, by an admin."),
        ("segment", "Segment", "Read only: each network is one segment."),
        ("quota_details", "Quota details management support", "Limit, use and reservations of each resource: /v2.0/quotas/{project}/details."),
        ("quotas", "Quota management support", "Per-project limits, enforced on create with 409 OverQuota."),
        ("router", "Neutron L3 Router", "Routers: an external gateway and interfaces by subnet or port, which decide the floating IPs a port may have. API only: every host routes its own workloads, so a router carries no traffic."),
        ("security-group", "security-group", "Security groups and their rules."),
        ("service-type", "Neutron Service Type Management", "/v2.0/service-providers: the providers of advanced services; a Calico cloud has none."),
        ("standard-attr-description", "standard-attr-description", "A description on every resource."),
        ("standard-attr-revisions", "Resource revision numbers", "revision_number, increased by every change."),
        ("standard-attr-tag", "Tag support for resources with standard attribute: network, subnet, port, security_group, floatingip, router, subnetpool, policy",
            "Tags on networks, subnets, ports, security groups, floating IPs, routers, subnet pools and QoS policies: the /tags sub-resource and the tags, tags-any, not-tags and not-tags-any filters."),
        ("standard-attr-timestamp", "Resource timestamps", "created_at and updated_at."),
        ("tag", "Tag support", "Tags on networks (the first tag extension; standard-attr-tag covers every other resource)."),
        ("tag-ports-during-bulk-creation", "Tag Ports During Bulk Creation", "tags may be given when a port is created (alone or in a bulk list)."),
        ("stateful-security-group", "Stateful security group", "Security groups are stateful."),
        ("subnet_allocation", "Subnet Allocation", "Subnet pools (/v2.0/subnetpools); a subnet created with subnetpool_id (and prefixlen, or a cidr in the pool) gets the lowest free CIDR."),
        ("default-subnetpools", "Default Subnetpools", "is_default on subnet pools (one per IP version) and use_default_subnetpool on subnets."),
        ("subnetpool-prefix-ops", "Subnet Pool Prefix Operations", "PUT /v2.0/subnetpools/{id}/add_prefixes and remove_prefixes."),
        ("qos", "Quality of Service", "QoS policies (/v2.0/qos/policies) with rules, qos_policy_id on networks and ports; enforced on each port's tap by its host's dataplane (bandwidth limits with tc, packet-rate limits with nftables)."),
        ("qos-bw-limit-direction", "Direction for QoS bandwidth limit rule", "bandwidth_limit rules for ingress or egress."),
        ("qos-pps", "QoS packet rate limit rule", "packet_rate_limit rules (max_kpps, max_burst_kpps, direction)."),
        ("qos-default", "QoS default policy", "is_default on QoS policies (one per project): a network created without qos_policy_id gets it."),
        ("qos-rule-type-details", "Details of QoS rule types", "GET /v2.0/qos/rule-types/{type}: the parameters supported."),
    ];

    private static readonly IReadOnlySet<string> Attributes = new HashSet<string> { "alias", "name", "description", "updated", "links" };

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/extensions", (HttpContext http) =>
            NeutronResults.List(http, "extensions", Supported.Select(Render), new ListQuery(http.Request.Query, Attributes)));
        api.MapGet("/extensions/{alias}", (string alias) =>
            Supported.FirstOrDefault(e => e.Alias == alias) is { Alias: not null } e
                ? NeutronResults.One("extension", Render(e))
                : throw ApiException.NotFound("ExtensionNotFound", $"Extension with alias {alias} does not exist."));
        // Neutron lists the drivers of its service plugins (load balancers, VPN, router flavors) here. Calico's
        // routing is the only network service and it has no pluggable providers, so the list is empty.
        api.MapGet("/service-providers", (HttpContext http) =>
            NeutronResults.List(http, "service_providers", [], new ListQuery(http.Request.Query, ServiceProviderAttributes)));
    }

    private static readonly IReadOnlySet<string> ServiceProviderAttributes = new HashSet<string> { "service_type", "name", "default" };

    private static JsonObject Render((string Alias, string Name, string Description) e) => new()
    {
        ["alias"] = e.Alias,
        ["name"] = e.Name,
        ["description"] = e.Description,
        ["updated"] = "2025-01-01T00:00:00-00:00",
        ["links"] = new JsonArray(),
    };
}
