using System.Net;
using System.Net.Sockets;
using Calico.Datastore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Storage;

namespace Calico.Datastore.Tests.Infrastructure;

/// <summary>
/// One real silo in this process (a generic host, as Calico.Silo runs it) with the calico datastore, on free
/// loopback ports. By default it is a one-silo cluster of its own; pass <paramref name="clustering"/> to join others.
/// Set CALICO_TEST_LOG=1 to see its log.
/// </summary>
public sealed class TestSilo : IAsyncDisposable
{
    public const string ServiceId = "calico-test";

    private TestSilo(IHost host) => Host = host;

    public IHost Host { get; }

    public IServiceProvider Services => Host.Services;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    public IGrainStorage Storage => Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Calico);

    public IGrainStateCatalog Catalog => Services.GetRequiredService<IGrainStateCatalog>();

    public string Address => Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();

    public static Task<TestSilo> StartAsync(Action<CalicoDatastoreOptions> datastore, string? clusterId = null,
        Action<ISiloBuilder>? clustering = null) =>
        StartAsync(silo => silo.AddCalicoDatastore(datastore), clusterId, clustering);

    public static async Task<TestSilo> StartAsync(Action<ISiloBuilder> addDatastore, string? clusterId = null,
        Action<ISiloBuilder>? clustering = null)
    {
        clusterId ??= $"cluster-{Guid.NewGuid():N}";
        // No defaults: nothing from the environment (say a Datastore__Provider variable) reaches the test's silo.
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (Environment.GetEnvironmentVariable("CALICO_TEST_LOG") == "1")
        {
            builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Information);
        }

        builder.UseOrleans(silo =>
        {
            int siloPort = FreePort(), gatewayPort = FreePort();
            if (clustering is null)
            {
                silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: ServiceId, clusterId: clusterId);
            }
            else
            {
                silo.Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (ServiceId, clusterId));
                silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort);
                clustering(silo);
            }
            addDatastore(silo);
        });

        var host = builder.Build();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await host.StartAsync(timeout.Token);
            return new TestSilo(host);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Host.StopAsync(timeout.Token);
        }
        finally
        {
            if (Host is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync();
            }
            else
            {
                Host.Dispose();
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
