using Calico.Datastore.AdoNet;
using Calico.Datastore.Memory;
using Calico.Datastore.Postgres;
using Calico.Datastore.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Configuration.Overrides;
using Orleans.Storage;

namespace Calico.Datastore;

/// <summary>
/// The provider chosen by <see cref="CalicoDatastoreOptions.Provider"/>. Chosen when the silo's services are first
/// resolved rather than when they are registered, so configuration added after <c>AddCalicoDatastore</c> still counts
/// and invalid options fail with the validator's messages.
/// </summary>
internal abstract class DatastoreBackend
{
    public abstract string Description { get; }

    public abstract IGrainStorage CreateStorage(IServiceProvider services, string name);

    public abstract IGrainStateCatalog CreateCatalog(IServiceProvider services);

    /// <summary>Creates or upgrades the schema; idempotent, called at every silo start.</summary>
    public abstract Task EnsureSchemaAsync(CancellationToken cancellationToken);

    /// <summary>Points Orleans' ADO.NET grain storage at our database (relational providers only).</summary>
    public virtual void ConfigureAdoNet(AdoNetGrainStorageOptions options) { }

    public static DatastoreBackend Create(IServiceProvider services)
    {
        // .Value runs CalicoDatastoreOptionsValidator: invalid options throw here with its messages.
        var options = services.GetRequiredService<IOptions<CalicoDatastoreOptions>>().Value;
        return DatastoreProviders.Normalize(options.Provider) switch
        {
            DatastoreProviders.Sqlite => new SqliteBackend(options),
            DatastoreProviders.Postgres => new PostgresBackend(options.ConnectionString!),
            _ => new MemoryBackend(services),
        };
    }

    /// <summary>The catalog over the ADO.NET provider's table (queries from <paramref name="dialect"/>/ListStates*.sql), using the provider's own serializer and service id.</summary>
    protected static IGrainStateCatalog CreateRelationalCatalog(
        IServiceProvider services, Func<CancellationToken, ValueTask<System.Data.Common.DbConnection>> openConnection, string dialect)
    {
        var serviceId = services.GetProviderClusterOptions(StorageNames.Calico).Value.ServiceId;
        var serializer = services.GetRequiredService<IOptionsMonitor<AdoNetGrainStorageOptions>>().Get(StorageNames.Calico).GrainStorageSerializer;
        return new RelationalGrainStateCatalog(openConnection, SqlResources.Read($"{dialect}.ListStates"),
            SqlResources.Read($"{dialect}.ListStatesByKeyPrefix"), serviceId, serializer);
    }

    protected static IGrainStorage CreateAdoNetStorage(IServiceProvider services, string name) =>
        new CalicoAdoNetGrainStorage(AdoNetGrainStorageFactory.Create(services, name));
}
