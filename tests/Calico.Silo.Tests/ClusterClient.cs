using Microsoft.Extensions.Logging;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Calico.Silo.Tests;

/// <summary>An Orleans client connected to a running silo's gateway, for looking at the grains from outside.</summary>
public sealed class ClusterClient : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterClient(IHost host) => _host = host;

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    public static Task<ClusterClient> ConnectAsync(int gatewayPort, string clusterId = "calico", string serviceId = "calico") =>
        ConnectAsync([gatewayPort], clusterId, serviceId);

    /// <summary>Through any of several gateways: the client carries on when one of their silos dies.</summary>
    public static async Task<ClusterClient> ConnectAsync(int[] gatewayPorts, string clusterId = "calico", string serviceId = "calico")
    {
        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            .UseOrleansClient(c => c
                .UseStaticClustering(gatewayPorts.Select(p => new IPEndPoint(IPAddress.Loopback, p)).ToArray())
                .Configure<Orleans.Configuration.ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = serviceId; }))
            .Build();
        await host.StartAsync();
        return new ClusterClient(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
