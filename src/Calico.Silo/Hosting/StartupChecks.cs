using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Calico.Silo.Compute;

namespace Calico.Silo.Hosting;

/// <summary>
/// What must hold before a silo starts anything (issue 15): a setting that cannot work is refused at start, with a
/// message naming it and a non-zero exit, before the silo joins a cluster or serves a request; never a silo that
/// serves for a moment and then stops.
/// </summary>
public static class StartupChecks
{
    /// <summary>calico-silo's version: the informational version (with the commit it was built from, when known).</summary>
    public static string Version =>
        typeof(StartupChecks).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(StartupChecks).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>Each problem found, as a sentence naming the setting; empty when the silo can start.</summary>
    public static IReadOnlyList<string> Find(CalicoSiloOptions silo, IConfiguration configuration)
    {
        var problems = new List<string>();
        if (silo.ParsedRoles.HasFlag(SiloRoles.Compute))
        {
            var compute = configuration.GetSection(ComputeOptions.Section).Get<ComputeOptions>() ?? new ComputeOptions();
            var invalid = new ComputeOptionsValidator().Validate(null, compute);
            if (invalid.Failed) problems.AddRange(invalid.Failures);
            // The address other hosts route this host's workloads via: without one the host cannot register.
            else if (compute.ResolveIpv4() is null)
                problems.Add("Compute:Ipv4Address is not set and this network namespace has no IPv4 address to take it from " +
                    "(an interface that is up, not loopback, not a workload tap): set it with --host-ipv4.");
        }
        if (configuration["Telemetry:TraceSampleRatio"] is { Length: > 0 } ratio && TelemetryExtensions.TraceSampleRatio(configuration) is null)
            problems.Add($"Telemetry:TraceSampleRatio '{ratio}' is not a number from 0 to 1 (the share of new traces recorded).");
        var advertised = IPAddress.Parse(silo.AdvertisedAddress);
        var siloListen = IPAddress.IsLoopback(advertised) ? advertised : IPAddress.Any;
        Check(problems, "Silo:SiloPort (--silo-port)", siloListen, silo.SiloPort);
        Check(problems, "Silo:GatewayPort (--gateway-port)", siloListen, silo.GatewayPort);
        foreach (var url in (configuration["urls"] ?? configuration["ASPNETCORE_URLS"] ?? DefaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (ListenEndpoint(url) is not { } endpoint) problems.Add($"urls (--listen) '{url}' is not an http:// or https:// address with a port.");
            else if (endpoint.Port != 0) Check(problems, $"urls (--listen) '{url}'", endpoint.Address, endpoint.Port);
        }
        return problems;
    }

    public const string DefaultUrl = "http://127.0.0.1:9696";

    private static void Check(List<string> problems, string setting, IPAddress address, int port)
    {
        try
        {
            using var listener = new TcpListener(address, port);
            listener.Start();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            problems.Add($"{setting}: port {port} on {address} is in use by another process.");
        }
        catch (SocketException e)
        {
            problems.Add($"{setting}: cannot listen on {address} port {port}: {e.Message}.");
        }
    }

    /// <summary>Where Kestrel would listen for <paramref name="url"/>: a wildcard host (*, +, 0.0.0.0, [::]) is every address.</summary>
    private static IPEndPoint? ListenEndpoint(string url)
    {
        var wildcard = url.Replace("://*", "://wildcard", StringComparison.Ordinal).Replace("://+", "://wildcard", StringComparison.Ordinal);
        if (!Uri.TryCreate(wildcard, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")) return null;
        var address = uri.Host switch
        {
            "wildcard" => IPAddress.Any,
            "localhost" => IPAddress.Loopback,
            var host when IPAddress.TryParse(host, out var parsed) => parsed,
            _ => IPAddress.Any,
        };
        return new IPEndPoint(address, uri.Port);
    }
}
