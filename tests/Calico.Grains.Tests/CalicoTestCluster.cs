using Microsoft.Extensions.Logging;
using Calico.Datastore;
using Calico.Model.Desired;
using Calico.Silo.Compute;
using Calico.Silo.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Calico.Grains.Tests;

/// <summary>
/// An in-process Orleans cluster of Calico silos sharing one <see cref="TestStore"/>. Silo roles and compute host
/// names come from <see cref="Roles"/>, looked up by silo name ("Silo_0", "Silo_1", ...).
/// </summary>
public sealed class CalicoTestCluster : IAsyncDisposable
{
    public TestStore Store { get; } = new();

    /// <summary>Silo name → (roles, compute host name and address). Silos not listed are controllers.</summary>
    public Dictionary<string, (SiloRoles Roles, string? Host, string? Ipv4)> Roles { get; } = [];

    public Dictionary<string, string?> Settings { get; } = new()
    {
        ["Hosts:ReportInterval"] = "00:00:01",
        ["Hosts:DeadAfter"] = "00:00:03",
        ["Compute:WatchTimeout"] = "00:00:02",
        ["Compute:MaxRetryDelay"] = "00:00:01",
        // In-process clusters run in the machine's own namespace: hold the desired state in memory only.
        ["Compute:Dataplane"] = "memory",
    };

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public static async Task<CalicoTestCluster> StartAsync(short silos = 1, Action<CalicoTestCluster>? configure = null)
    {
        var result = new CalicoTestCluster();
        configure?.Invoke(result);
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        if (Environment.GetEnvironmentVariable("CALICO_TEST_LOG") is "1")
            builder.ConfigureSiloHost((_, host) => host.Logging.AddConsole().SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Information));
        builder.ConfigureSilo((options, silo) =>
        {
            var (roles, host, ipv4) = result.Roles.TryGetValue(options.SiloName, out var r) ? r : (SiloRoles.Controller, null, null);
            var settings = new Dictionary<string, string?>(result.Settings)
            {
                ["Compute:HostName"] = host,
                ["Compute:Ipv4Address"] = ipv4,
            };
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            silo.Services.AddSingleton(sp => result.Store.For(sp.GetRequiredService<DeepCopier>()));
            silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Calico, (sp, _) => sp.GetRequiredService<TestStoreView>());
            silo.Services.AddSingleton<IGrainStateCatalog>(sp => sp.GetRequiredService<TestStoreView>());
            silo.AddCalico(configuration, roles);
        });
        result.Cluster = builder.Build();
        await result.Cluster.DeployAsync();
        return result;
    }

    /// <summary>The host agent of the compute silo serving <paramref name="host"/>.</summary>
    public HostAgent Agent(string host) =>
        Cluster.Silos.Where(s => s.IsActive)
            .Select(s => s.ServiceProvider.GetService<HostAgent>())
            .Single(a => a?.HostName == host)!;

    public InMemoryDataplane Dataplane(string host) =>
        (InMemoryDataplane)Cluster.Silos.Where(s => s.IsActive)
            .Select(s => s.ServiceProvider)
            .Single(sp => sp.GetService<HostAgent>()?.HostName == host)
            .GetRequiredService<IDataplane>();

    /// <summary>The routes in <paramref name="host"/>'s desired state, as "destination via host" or "destination Kind", sorted.</summary>
    public async Task<List<string>> RoutesOfAsync(string host)
    {
        var snapshot = await Grains.GetGrain<IHostDesiredStateGrain>(host).WatchAsync(null, TimeSpan.Zero);
        return [.. snapshot.Changes.Select(c => c.Item).OfType<RouteItem>()
            .Select(r => r.Kind == RouteKind.ViaHost ? $"{r.Destination} via {r.ViaHost}" : $"{r.Destination} {r.Kind}")
            .Order(StringComparer.Ordinal)];
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

public static class Eventually
{
    /// <summary>Polls until <paramref name="condition"/> holds; fails with <paramref name="what"/> after 20 s. Not a timing assertion.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting until {what}");
            await Task.Delay(50);
        }
    }

    public static Task TrueAsync(Func<bool> condition, string what) => TrueAsync(() => Task.FromResult(condition()), what);
}
