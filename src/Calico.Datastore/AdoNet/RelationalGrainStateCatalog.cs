using System.Data.Common;
using System.Runtime.CompilerServices;
using Orleans.Storage;

namespace Calico.Datastore.AdoNet;

/// <summary>
/// Lists what the ADO.NET provider stored, straight from the table (one query per call, rows streamed), and
/// deserializes each payload with the serializer the provider writes with.
/// </summary>
internal sealed class RelationalGrainStateCatalog(
    Func<CancellationToken, ValueTask<DbConnection>> openConnection,
    string listSql,
    string listByKeyPrefixSql,
    string serviceId,
    IGrainStorageSerializer serializer) : IGrainStateCatalog
{
    public IAsyncEnumerable<KeyValuePair<string, T>> ListAsync<T>(string grainType, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(grainType);
        return QueryAsync<T>(listSql, grainType, null, cancellationToken);
    }

    public IAsyncEnumerable<KeyValuePair<string, T>> ListAsync<T>(string grainType, string keyPrefix, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(grainType);
        ArgumentException.ThrowIfNullOrEmpty(keyPrefix);
        return QueryAsync<T>(listByKeyPrefixSql, grainType, keyPrefix, cancellationToken);
    }

    private async IAsyncEnumerable<KeyValuePair<string, T>> QueryAsync<T>(
        string sql, string grainType, string? keyPrefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await openConnection(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        AddParameter(command, "ServiceId", serviceId);
        AddParameter(command, "GrainType", grainType);
        if (keyPrefix is not null)
        {
            AddParameter(command, "KeyFrom", keyPrefix);
            AddParameter(command, "KeyTo", IGrainStateCatalog.KeyRangeEnd(keyPrefix));
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = reader.GetString(0);
            var payload = (byte[])reader.GetValue(1);
            // A grain that wrote a null state has nothing to list (the memory store does the same).
            if (serializer.Deserialize<T>(new BinaryData(payload)) is { } state)
            {
                yield return new KeyValuePair<string, T>(key, state);
            }
        }
    }

    private static void AddParameter(DbCommand command, string name, string value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
