using Microsoft.Extensions.Options;
using Npgsql;

namespace Calico.Datastore.Postgres;

/// <summary>Checks the clustering connection string at host start, with a message that names where it comes from.</summary>
internal sealed class ClusteringConnectionStringValidator<TOptions>(Func<TOptions, string?> connectionString, string source)
    : IValidateOptions<TOptions> where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var value = connectionString(options);
        if (string.IsNullOrWhiteSpace(value))
        {
            return ValidateOptionsResult.Fail(
                $"{source} is required for PostgreSQL clustering (UseCalicoPostgresClustering): set it to an Npgsql " +
                "connection string such as 'Host=db.example;Username=calico;Password=...;Database=calico'.");
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(value);
            return ValidateOptionsResult.Success;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            return ValidateOptionsResult.Fail(
                $"{source} is not a valid Npgsql connection string ({e.Message}): write it as 'Host=...;Username=...;Password=...;Database=...'.");
        }
    }
}
