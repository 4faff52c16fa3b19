using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Calico.Datastore.Memory;

/// <summary>State in this silo's memory: gone when the silo stops, and not shared with other silos.</summary>
internal sealed class MemoryBackend(IServiceProvider services) : DatastoreBackend
{
    private readonly Lazy<MemoryGrainStorage> _store = new(() => new MemoryGrainStorage(
        CalicoStorageSerializer.Create(services),
        services.GetRequiredService<IActivatorProvider>()));

    public override string Description => "memory (not persisted)";

    public override IGrainStorage CreateStorage(IServiceProvider services, string name) => _store.Value;

    public override IGrainStateCatalog CreateCatalog(IServiceProvider services) => _store.Value;

    public override Task EnsureSchemaAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
