using System.Net;
using Microsoft.Extensions.Options;

namespace Calico.Silo.Hosting;

[Flags]
public enum SiloRoles
{
    None = 0,
    Controller = 1,
    Compute = 2,
    All = Controller | Compute,
}

/// <summary>Settings of the silo itself (section "Silo") and how it finds its cluster.</summary>
public sealed class CalicoSiloOptions
{
    public const string Section = "Silo";

    /// <summary>"all" (default), "controller", "compute", or "controller,compute".</summary>
    public string Roles { get; set; } = "all";

    /// <summary>The silo's name in the cluster. Default: "&lt;role&gt;-&lt;machine name&gt;".</summary>
    public string? Name { get; set; }

    public string ClusterId { get; set; } = "calico";

    public string ServiceId { get; set; } = "calico";

    /// <summary>"primary" (one machine: silos join the primary silo; no database needed) or "postgres".</summary>
    public string Clustering { get; set; } = "primary";

    /// <summary>With primary clustering: the primary silo's silo endpoint (host:port); unset on the primary itself.</summary>
    public string? PrimarySiloEndpoint { get; set; }

    /// <summary>The address other silos reach this one at.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    public SiloRoles ParsedRoles => ParseRoles(Roles) ?? SiloRoles.None;

    public static SiloRoles? ParseRoles(string text)
    {
        var roles = SiloRoles.None;
        foreach (var part in text.Split([',', '+', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            SiloRoles? role = part.ToLowerInvariant() switch
            {
                "all" => SiloRoles.All,
                "controller" => SiloRoles.Controller,
                "compute" => SiloRoles.Compute,
                _ => null,
            };
            if (role is null) return null;
            roles |= role.Value;
        }
        return roles == SiloRoles.None ? null : roles;
    }

    public string EffectiveName => Name is { Length: > 0 } name ? name
        : $"{(ParsedRoles == SiloRoles.All ? "aio" : ParsedRoles.ToString().ToLowerInvariant())}-{Environment.MachineName}-{SiloPort}";
}

public sealed class CalicoSiloOptionsValidator : IValidateOptions<CalicoSiloOptions>
{
    public ValidateOptionsResult Validate(string? name, CalicoSiloOptions o)
    {
        var errors = new List<string>();
        if (CalicoSiloOptions.ParseRoles(o.Roles) is null)
            errors.Add($"Silo:Roles '{o.Roles}' is not valid; use 'all', 'controller', 'compute' or 'controller,compute'.");
        if (o.Clustering is not ("primary" or "postgres"))
            errors.Add($"Silo:Clustering '{o.Clustering}' is unknown; use 'primary' or 'postgres'.");
        if (!IPAddress.TryParse(o.AdvertisedAddress, out _))
            errors.Add($"Silo:AdvertisedAddress '{o.AdvertisedAddress}' is not an IP address.");
        if (o.PrimarySiloEndpoint is { Length: > 0 } primary && !IPEndPoint.TryParse(primary, out _))
            errors.Add($"Silo:PrimarySiloEndpoint '{primary}' is not address:port.");
        if (o.SiloPort is <= 0 or > 65535) errors.Add($"Silo:SiloPort {o.SiloPort} is not a port.");
        if (o.GatewayPort is <= 0 or > 65535) errors.Add($"Silo:GatewayPort {o.GatewayPort} is not a port.");
        if (o.SiloPort == o.GatewayPort) errors.Add("Silo:SiloPort and Silo:GatewayPort must differ.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
