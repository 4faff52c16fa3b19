namespace Calico.Silo.Hosting;

/// <summary>Short command-line switches for the settings an operator changes most; any Section:Key also works as --Section:Key=value.</summary>
public static class CommandLineSwitches
{
    public static readonly Dictionary<string, string> Mappings = new()
    {
        ["--role"] = "Silo:Roles",
        ["--roles"] = "Silo:Roles",
        ["--name"] = "Silo:Name",
        ["--primary"] = "Silo:PrimarySiloEndpoint",
        ["--advertise"] = "Silo:AdvertisedAddress",
        ["--silo-port"] = "Silo:SiloPort",
        ["--gateway-port"] = "Silo:GatewayPort",
        ["--clustering"] = "Silo:Clustering",
        ["--datastore"] = "Datastore:Provider",
        ["--data-dir"] = "Datastore:DataDirectory",
        ["--connection-string"] = "Datastore:ConnectionString",
        ["--host-name"] = "Compute:HostName",
        ["--host-ipv4"] = "Compute:Ipv4Address",
        ["--host-ipv6"] = "Compute:Ipv6Address",
        ["--listen"] = "urls",
        // "json": one JSON object per line, message parameters (Host, Port, ...) and scopes as fields; "simple" is the default.
        ["--log-format"] = "Logging:Console:FormatterName",
    };
}
