using Calico.Datastore.Postgres;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Calico.Datastore;

/// <summary>
/// Orleans membership in PostgreSQL, so that silos on several machines find each other through the database
/// (Orleans' ADO.NET clustering provider on our own schema, created at silo start). One-machine installations on
/// sqlite need none of this: they use a primary silo.
/// </summary>
public static class CalicoPostgresClusteringExtensions
{
    /// <summary>Clustering on the database of <c>Datastore:ConnectionString</c> (usually the grain storage's database).</summary>
    /// <param name="datastoreSection">The <c>Datastore</c> section, e.g. <c>configuration.GetSection(CalicoDatastoreOptions.Section)</c>.</param>
    public static ISiloBuilder UseCalicoPostgresClustering(this ISiloBuilder builder, IConfiguration datastoreSection)
    {
        ArgumentNullException.ThrowIfNull(datastoreSection);
        return builder.UseCalicoPostgresClustering(() => datastoreSection[nameof(CalicoDatastoreOptions.ConnectionString)], KeyOf(datastoreSection));
    }

    /// <summary>Clustering on the database named by an Npgsql <paramref name="connectionString"/>.</summary>
    public static ISiloBuilder UseCalicoPostgresClustering(this ISiloBuilder builder, string connectionString) =>
        builder.UseCalicoPostgresClustering(() => connectionString, "the connection string passed to UseCalicoPostgresClustering");

    /// <summary>A client of such a cluster: finds its gateways in the database. The silos create the schema.</summary>
    public static IClientBuilder UseCalicoPostgresClustering(this IClientBuilder builder, IConfiguration datastoreSection)
    {
        ArgumentNullException.ThrowIfNull(datastoreSection);
        return builder.UseCalicoPostgresClustering(() => datastoreSection[nameof(CalicoDatastoreOptions.ConnectionString)], KeyOf(datastoreSection));
    }

    /// <summary>A client of such a cluster, with the database named by an Npgsql <paramref name="connectionString"/>.</summary>
    public static IClientBuilder UseCalicoPostgresClustering(this IClientBuilder builder, string connectionString) =>
        builder.UseCalicoPostgresClustering(() => connectionString, "the connection string passed to UseCalicoPostgresClustering");

    private static ISiloBuilder UseCalicoPostgresClustering(this ISiloBuilder builder, Func<string?> connectionString, string source)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseAdoNetClustering(options => options
            .Configure(o =>
            {
                o.Invariant = PostgresBackend.Invariant;
                o.ConnectionString = connectionString();
            })
            .ValidateOnStart());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdoNetClusteringSiloOptions>>(
            new ClusteringConnectionStringValidator<AdoNetClusteringSiloOptions>(o => o.ConnectionString, source)));
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AdoNetClusteringSiloOptions>>().Value;
            return new SchemaParticipant($"membership on {PostgresBackend.Describe(options.ConnectionString!)}",
                ct => PostgresSchema.ApplyAsync(options.ConnectionString!, "Postgres.Clustering.Schema", "Postgres.Clustering.Queries", ct),
                sp.GetRequiredService<ILogger<SchemaParticipant>>());
        });
        return builder;
    }

    private static IClientBuilder UseCalicoPostgresClustering(this IClientBuilder builder, Func<string?> connectionString, string source)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseAdoNetClustering(options => options
            .Configure(o =>
            {
                o.Invariant = PostgresBackend.Invariant;
                o.ConnectionString = connectionString();
            })
            .ValidateOnStart());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdoNetClusteringClientOptions>>(
            new ClusteringConnectionStringValidator<AdoNetClusteringClientOptions>(o => o.ConnectionString, source)));
        return builder;
    }

    private static string KeyOf(IConfiguration section) =>
        section is IConfigurationSection s ? $"{s.Path}:{nameof(CalicoDatastoreOptions.ConnectionString)}" : nameof(CalicoDatastoreOptions.ConnectionString);
}
