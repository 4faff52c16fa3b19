using Calico.Datastore.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Calico.Datastore.Tests;

/// <summary>Configuration mistakes fail at start with a message that says which key to fix and how.</summary>
public sealed class OptionsValidationTests
{
    private static ValidateOptionsResult Validate(Action<CalicoDatastoreOptions> configure)
    {
        var options = new CalicoDatastoreOptions();
        configure(options);
        return new CalicoDatastoreOptionsValidator().Validate(Options.DefaultName, options);
    }

    [Fact]
    public void TheDefaultsAreValid() => Assert.True(Validate(_ => { }).Succeeded);

    [Theory]
    [InlineData("sqlite")]
    [InlineData("SQLite")]
    [InlineData("memory")]
    [InlineData(" Memory ")]
    public void ProviderNamesAreCaseInsensitive(string provider) =>
        Assert.True(Validate(o => o.Provider = provider).Succeeded);

    [Theory]
    [InlineData("mysql")]
    [InlineData("")]
    public void AnUnknownProviderNamesTheAllowedValues(string provider)
    {
        var result = Validate(o => o.Provider = provider);
        Assert.True(result.Failed);
        Assert.Contains("Datastore:Provider", result.FailureMessage);
        Assert.Contains("'sqlite', 'postgres', 'memory'", result.FailureMessage);
    }

    [Fact]
    public void PostgresNeedsAConnectionString()
    {
        var result = Validate(o => o.Provider = "postgres");
        Assert.True(result.Failed);
        Assert.Contains("Datastore:ConnectionString is required when Datastore:Provider is 'postgres'", result.FailureMessage);
    }

    [Fact]
    public void APostgresConnectionStringMustParse()
    {
        var result = Validate(o => (o.Provider, o.ConnectionString) = ("postgres", "Hots=db;Database=calico"));
        Assert.True(result.Failed);
        Assert.Contains("Datastore:ConnectionString is not a valid Npgsql connection string", result.FailureMessage);
        Assert.True(Validate(o => (o.Provider, o.ConnectionString) = ("postgres", "Host=db;Database=calico")).Succeeded);
    }

    [Theory]
    [InlineData("Data Source=:memory:")]
    [InlineData("Data Source=calico;Mode=Memory;Cache=Shared")]
    public void SqliteRefusesAnInMemoryDatabaseAndPointsToTheMemoryProvider(string connectionString)
    {
        var result = Validate(o => o.ConnectionString = connectionString);
        Assert.True(result.Failed);
        Assert.Contains("Datastore:Provider to 'memory'", result.FailureMessage);
    }

    [Fact]
    public void SqliteNeedsADataDirectory()
    {
        var result = Validate(o => o.DataDirectory = " ");
        Assert.True(result.Failed);
        Assert.Contains("Datastore:DataDirectory", result.FailureMessage);
    }

    [Fact]
    public async Task ASiloWithInvalidOptionsDoesNotStartAndSaysWhy()
    {
        var section = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Datastore:Provider"] = "postgres" })
            .Build()
            .GetSection(CalicoDatastoreOptions.Section);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestSilo.StartAsync(silo => silo.AddCalicoDatastore(section)));
        Assert.Contains("Datastore:ConnectionString is required when Datastore:Provider is 'postgres'", error.ToString());
    }

    [Fact]
    public async Task PostgresClusteringWithoutAConnectionStringDoesNotStartAndSaysWhy()
    {
        var section = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Datastore:Provider"] = "memory" })
            .Build()
            .GetSection(CalicoDatastoreOptions.Section);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestSilo.StartAsync(
            silo => silo.AddCalicoDatastore(section), clustering: silo => silo.UseCalicoPostgresClustering(section)));
        Assert.Contains("Datastore:ConnectionString is required for PostgreSQL clustering", error.ToString());
    }
}
