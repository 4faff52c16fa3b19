using Calico.Api.Auth;

namespace Calico.Api.Hosting;

/// <summary>
/// Settings of the Neutron-compatible API (section "Api"). The API is served by controller silos on the silo's
/// HTTP listener (<c>--listen</c>, default http://127.0.0.1:9696).
/// </summary>
public sealed class CalicoApiOptions
{
    public const string Section = "Api";

    /// <summary>
    /// "keystone": every X-Auth-Token is validated by Keystone (<see cref="Keystone"/>), the way a real OpenStack
    /// cloud runs Neutron. For development: "auto" (default): no authentication while every address the server
    /// listens on is loopback (a development or all-in-one node, reachable only from the machine itself), tokens
    /// otherwise. "token": always require an X-Auth-Token from <see cref="Tokens"/>. "none": never authenticate;
    /// every caller is an admin of <see cref="NoAuthProjectId"/>.
    /// </summary>
    public string Auth { get; set; } = ApiAuthModes.Auto;

    /// <summary>Where Keystone is and the API's service user (Api:Auth=keystone).</summary>
    public KeystoneOptions Keystone { get; set; } = new();

    /// <summary>Accepted tokens: the token itself as the key, and whom it stands for.</summary>
    public Dictionary<string, ApiTokenOptions> Tokens { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The project that resources created without authentication belong to.</summary>
    public string NoAuthProjectId { get; set; } = "admin";

    /// <summary>Larger request bodies are refused with 413 before they are parsed.</summary>
    public int MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long a delete that finds dependants created while it ran (ports on a network or subnet, ports using a
    /// security group) keeps the resource deleted while those that saw the delete undo themselves. Once none is
    /// left the delete succeeds; otherwise the resource is put back and the delete refused with 409. Longer than
    /// one write to the datastore takes; only a delete that raced such a write waits at all.
    /// </summary>
    public TimeSpan DeleteSettleTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Default quota per resource (<c>Api:QuotaDefaults:port=500</c>; names as Neutron's: network, subnet, port,
    /// security_group, security_group_rule, floatingip, router, subnetpool, rbac_policy), for projects without a limit
    /// of their own (<c>PUT /v2.0/quotas/{project}</c>). A resource not named here has no limit (-1): unlike Neutron's
    /// defaults (100 networks, 500 ports, 10 security groups, ...), so that a cloud is not capped unless it asks.
    /// </summary>
    public Dictionary<string, int> QuotaDefaults { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Whom one token stands for.</summary>
public sealed class ApiTokenOptions
{
    /// <summary>The project whose resources the caller sees and creates.</summary>
    public string ProjectId { get; set; } = "";

    /// <summary>An admin sees and changes every project's resources, and may create them for any project.</summary>
    public bool Admin { get; set; }

    /// <summary>A read-only caller of its project (Keystone's reader role); ignored for an admin.</summary>
    public bool ReadOnly { get; set; }
}

public static class ApiAuthModes
{
    public const string Auto = "auto";
    public const string Token = "token";
    public const string None = "none";
    public const string Keystone = "keystone";
}
