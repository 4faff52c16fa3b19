using Xunit;
using Npgsql;

namespace Calico.Testing;

/// <summary>
/// The PostgreSQL server the postgres tests use. The test command (test.sh) starts one with
/// scripts/postgres-test-server.sh and passes it in CALICO_TEST_POSTGRES; without that variable this fixture starts
/// its own through the same script and stops it (deleting its directory) when the tests are done. When neither
/// works the tests fail, saying how to fix it: they are never skipped.
/// Each test gets a database of its own (<see cref="CreateDatabaseAsync"/>), so tests are independent and repeatable.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string EnvironmentVariable = "CALICO_TEST_POSTGRES";

    private string? _script;
    private string? _stateFile;

    /// <summary>A connection string with the right to create databases.</summary>
    public string AdminConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } given)
        {
            AdminConnectionString = given;
            return;
        }

        _script = TestServerScript.Find("postgres-test-server.sh") ?? throw new InvalidOperationException(
            $"{EnvironmentVariable} is not set and scripts/postgres-test-server.sh was not found above {AppContext.BaseDirectory}: " +
            $"run the tests through ./test.sh, or start a server and set {EnvironmentVariable} to its Npgsql connection string.");
        _stateFile = Path.Combine(Path.GetTempPath(), $"calico-tests-{Guid.NewGuid():N}.env");
        var (exitCode, output, error) = await TestServerScript.RunAsync(_script, "start", _stateFile);
        if (exitCode != 0)
        {
            File.Delete(_stateFile);
            _stateFile = null;
            throw new InvalidOperationException(
                $"{EnvironmentVariable} is not set and '{_script} start' failed ({exitCode}): {error.Trim()}. " +
                $"Run the tests through ./test.sh (it installs PostgreSQL), or set {EnvironmentVariable} to an Npgsql connection string.");
        }
        AdminConnectionString = output.Trim().Split('\n')[^1];
    }

    public async Task DisposeAsync()
    {
        if (_stateFile is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await TestServerScript.RunAsync(_script!, "stop", _stateFile);
            File.Delete(_stateFile);
        }
    }

    /// <summary>A new, empty database; returns a connection string for it.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"calico_test_{Guid.NewGuid():N}";
        try
        {
            await ExecuteAsync($"CREATE DATABASE {name}");
        }
        catch (NpgsqlException e)
        {
            var origin = _stateFile is null ? $"{EnvironmentVariable} ({new NpgsqlConnectionStringBuilder(AdminConnectionString) { Password = null }})" : "the server this fixture started";
            throw new InvalidOperationException(
                $"Cannot create a test database on {origin}: {e.Message}. Run the tests through ./test.sh, " +
                $"or set {EnvironmentVariable} to the connection string of a server where this user may create databases.", e);
        }
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    public async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        // FORCE: pooled connections of the silos that used it may still be open.
        await ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

