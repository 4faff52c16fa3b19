using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace Calico.Datastore;

public static class CalicoDatastoreSiloBuilderExtensions
{
    /// <summary>
    /// Registers the <see cref="StorageNames.Calico"/> grain storage and the <see cref="IGrainStateCatalog"/> on the
    /// provider named by the <c>Datastore</c> configuration section (see <see cref="CalicoDatastoreOptions"/>),
    /// and creates its schema at silo start.
    /// </summary>
    /// <param name="datastoreSection">The <c>Datastore</c> section, e.g. <c>configuration.GetSection(CalicoDatastoreOptions.Section)</c>.</param>
    public static ISiloBuilder AddCalicoDatastore(this ISiloBuilder builder, IConfiguration datastoreSection)
    {
        ArgumentNullException.ThrowIfNull(datastoreSection);
        return builder.AddCalicoDatastore(options => options.Bind(datastoreSection));
    }

    /// <summary>As <see cref="AddCalicoDatastore(ISiloBuilder, IConfiguration)"/>, with the options set in code.</summary>
    public static ISiloBuilder AddCalicoDatastore(this ISiloBuilder builder, Action<CalicoDatastoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return builder.AddCalicoDatastore(options => options.Configure(configure));
    }

    private static ISiloBuilder AddCalicoDatastore(this ISiloBuilder builder, Action<OptionsBuilder<CalicoDatastoreOptions>> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        // Called again (say by a test that adjusts the options): the options add up, the rest is registered once.
        var registered = services.Any(d => d.ServiceType == typeof(DatastoreBackend));
        configure(services.AddOptions<CalicoDatastoreOptions>().ValidateOnStart());
        if (registered)
        {
            return builder;
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CalicoDatastoreOptions>, CalicoDatastoreOptionsValidator>());
        services.TryAddSingleton(DatastoreBackend.Create);

        // Orleans' ADO.NET grain storage options, filled from ours (ignored by the memory provider). The two
        // post-configurators are what AddAdoNetGrainStorage registers: the storage serializer and the key hasher.
        // Its IConfigurationValidator is not registered: it would reject the memory provider's empty connection
        // string, and CalicoDatastoreOptionsValidator already checks the same things with better messages.
        services.AddOptions<AdoNetGrainStorageOptions>(StorageNames.Calico)
            .Configure<DatastoreBackend, IServiceProvider>((options, backend, sp) =>
            {
                backend.ConfigureAdoNet(options);
                options.GrainStorageSerializer = CalicoStorageSerializer.Create(sp);
            });
        services.TryAddEnumerable(ServiceDescriptor.Transient<IPostConfigureOptions<AdoNetGrainStorageOptions>,
            DefaultStorageProviderSerializerOptionsConfigurator<AdoNetGrainStorageOptions>>());
        services.TryAddEnumerable(ServiceDescriptor.Transient<IPostConfigureOptions<AdoNetGrainStorageOptions>,
            DefaultAdoNetGrainStorageOptionsHashPickerConfigurator>());

        services.AddGrainStorage(StorageNames.Calico, (sp, name) => sp.GetRequiredService<DatastoreBackend>().CreateStorage(sp, name));
        // AddGrainStorage hooks a storage into the silo lifecycle only when its declared type is a participant;
        // ours is chosen at run time, so forward to it when it is one (the ADO.NET provider loads its queries there).
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp =>
            sp.GetRequiredKeyedService<IGrainStorage>(StorageNames.Calico) as ILifecycleParticipant<ISiloLifecycle> ?? NoLifecycle.Instance);
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp =>
        {
            var backend = sp.GetRequiredService<DatastoreBackend>();
            return new SchemaParticipant($"grain storage on {backend.Description}", backend.EnsureSchemaAsync,
                sp.GetRequiredService<ILogger<SchemaParticipant>>());
        });

        services.AddSingleton(sp => sp.GetRequiredService<DatastoreBackend>().CreateCatalog(sp));
        return builder;
    }

    private sealed class NoLifecycle : ILifecycleParticipant<ISiloLifecycle>
    {
        public static readonly NoLifecycle Instance = new();

        public void Participate(ISiloLifecycle lifecycle) { }
    }
}
