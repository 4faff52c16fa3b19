using System.CommandLine;
using System.Net;
using Calico.Cli.CommandLine;
using Calico.Datastore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Calico.Cli.Connection;

/// <summary>
/// An Orleans client of a running Calico cluster: through given gateway endpoints (one machine, or any silo's
/// gateway), or through the cluster's PostgreSQL membership table (several machines). Common to every command.
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    public static readonly Option<string[]> Gateway = new("--gateway")
    {
        Description = "a silo's gateway endpoint; repeat for several (default 127.0.0.1:30000)",
        HelpName = "host:port",
        Arity = ArgumentArity.OneOrMore,
    };
    public static readonly Option<string> Postgres = CliOptions.Text("--postgres", "connection-string",
        "find the gateways in the cluster's PostgreSQL database (Npgsql connection string) instead");
    public static readonly Option<string> ClusterId = CliOptions.Text("--cluster-id", "id", "the Orleans cluster id (default calico)");
    public static readonly Option<string> ServiceId = CliOptions.Text("--service-id", "id", "the Orleans service id (default calico)");
    public static readonly Option<TimeSpan?> Timeout = CliOptions.Duration("--timeout", "how long one call may take (default 2m)");
    public static readonly Option<TimeSpan?> ConnectTimeout = CliOptions.Duration("--connect-timeout",
        "how long to keep trying to reach a gateway (default 10s)");

    /// <summary>Common to every command; given after the command's own (System.CommandLine: recursive on the root).</summary>
    public static IReadOnlyList<Option> Options { get; } = [Gateway, Postgres, ClusterId, ServiceId, Timeout, ConnectTimeout];

    private readonly IHost _host;

    private ClusterConnection(IHost host) => _host = host;

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    public static async Task<ClusterConnection> ConnectAsync(ParseResult options, CancellationToken cancellationToken)
    {
        var postgres = options.GetValue(Postgres);
        var given = options.GetValue(Gateway) ?? [];
        if (postgres is not null && given.Length > 0)
            throw new CliUsageException($"give either {Gateway.Name} or {Postgres.Name}, not both");
        var gateways = postgres is null ? Endpoints(given) : [];
        var timeout = options.GetValue(Timeout) ?? TimeSpan.FromMinutes(2);
        var giveUpAt = DateTime.UtcNow + (options.GetValue(ConnectTimeout) ?? TimeSpan.FromSeconds(10));
        var where = postgres is null ? string.Join(", ", gateways) : "the gateways listed in the PostgreSQL database";

        var host = new HostBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            .UseOrleansClient(client =>
            {
                if (postgres is null) client.UseStaticClustering(gateways);
                else client.UseCalicoPostgresClustering(postgres);
                client.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = options.GetValue(ClusterId) ?? "calico";
                    o.ServiceId = options.GetValue(ServiceId) ?? "calico";
                });
                client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = timeout);
                // Silos may be starting: retry for a while, then give up with the last error rather than retry forever.
                client.UseConnectionRetryFilter(async (_, ct) =>
                {
                    if (DateTime.UtcNow >= giveUpAt) return false;
                    await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
                    return true;
                });
            })
            .Build();
        try
        {
            await host.StartAsync(cancellationToken);
            return new ClusterConnection(host);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            host.Dispose();
            throw new CliConnectionException($"cannot reach the Calico cluster at {where}: {ex.Message}", ex);
        }
    }

    private static IPEndPoint[] Endpoints(IReadOnlyList<string> texts)
    {
        if (texts.Count == 0) return [new IPEndPoint(IPAddress.Loopback, 30000)];
        return [.. texts.Select(text =>
        {
            if (IPEndPoint.TryParse(text, out var endpoint) && endpoint.Port != 0) return endpoint;
            var colon = text.LastIndexOf(':');
            if (colon > 0 && int.TryParse(text.AsSpan(colon + 1), out var port) && port is > 0 and < 65536)
            {
                try
                {
                    return new IPEndPoint(Dns.GetHostAddresses(text[..colon])[0], port);
                }
                catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IndexOutOfRangeException)
                {
                    throw new CliUsageException($"{Gateway.Name} '{text}': the host name does not resolve");
                }
            }
            throw new CliUsageException($"{Gateway.Name} '{text}' is not host:port (for example 127.0.0.1:30000)");
        })];
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync();
        }
        finally
        {
            _host.Dispose();
        }
    }
}
