using System.Text.Json.Nodes;
using Xunit;

namespace Calico.Testing;

/// <summary>
/// The Keystone the authentication tests use. The test command (test.sh) starts one with
/// scripts/keystone-test-server.sh and passes it in CALICO_TEST_KEYSTONE_URL and CALICO_TEST_KEYSTONE_PASSWORD;
/// without them this fixture starts its own through the same script (about 45 s) and stops it (deleting its
/// directory) when the tests are done. When neither works the tests fail, saying how to fix it: they are never skipped.
/// Its users, all with <see cref="Password"/> in domain Default: admin (project admin), neutron (admin and service
/// in project service), demo-member and demo-reader (project demo), other-member (project other).
/// </summary>
public sealed class KeystoneServer : IAsyncLifetime
{
    public const string UrlVariable = "CALICO_TEST_KEYSTONE_URL";
    public const string PasswordVariable = "CALICO_TEST_KEYSTONE_PASSWORD";

    /// <summary>Keystone is served by uwsgi's http-socket, which cannot keep a connection alive: one per request.</summary>
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(60), DefaultRequestHeaders = { ConnectionClose = true } };

    private string? _script;
    private string? _stateFile;

    /// <summary>The identity v3 URL, e.g. http://127.0.0.1:20629/v3.</summary>
    public string Url { get; private set; } = "";

    public string Password { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } url)
        {
            Url = url;
            Password = Environment.GetEnvironmentVariable(PasswordVariable) is { Length: > 0 } password ? password
                : throw new InvalidOperationException($"{UrlVariable} is set but {PasswordVariable} is not: set both from the file 'scripts/keystone-test-server.sh start FILE' wrote.");
            return;
        }
        _script = TestServerScript.Find("keystone-test-server.sh") ?? throw new InvalidOperationException(
            $"{UrlVariable} is not set and scripts/keystone-test-server.sh was not found above {AppContext.BaseDirectory}: " +
            "run the tests through ./test.sh, or start a server with the script and set the variables from its file.");
        _stateFile = Path.Combine(Path.GetTempPath(), $"calico-tests-keystone-{Guid.NewGuid():N}.env");
        var (exitCode, _, error) = await TestServerScript.RunAsync(_script, "start", _stateFile);
        if (exitCode != 0)
        {
            File.Delete(_stateFile);
            _stateFile = null;
            throw new InvalidOperationException(
                $"{UrlVariable} is not set and '{_script} start' failed ({exitCode}): {error.Trim()}. " +
                "Run the tests through ./test.sh (it installs keystone, uwsgi and uwsgi-plugin-python3), or set the variables.");
        }
        // Shell assignments of plain words (the script quotes with %q; its URL and password need none).
        var values = File.ReadAllLines(_stateFile).Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        Url = values[UrlVariable];
        Password = values[PasswordVariable];
    }

    public async Task DisposeAsync()
    {
        if (_stateFile is not null)
        {
            await TestServerScript.RunAsync(_script!, "stop", _stateFile);
            File.Delete(_stateFile);
        }
    }

    /// <summary>A project-scoped token for <paramref name="user"/> (password method), as any OpenStack client gets one.</summary>
    public async Task<string> TokenAsync(string user, string project)
    {
        using var response = await Http.PostAsync(Url + "/auth/tokens?nocatalog", Json(new JsonObject
        {
            ["auth"] = new JsonObject
            {
                ["identity"] = new JsonObject
                {
                    ["methods"] = new JsonArray("password"),
                    ["password"] = new JsonObject
                    {
                        ["user"] = new JsonObject { ["name"] = user, ["domain"] = new JsonObject { ["name"] = "Default" }, ["password"] = Password },
                    },
                },
                ["scope"] = new JsonObject { ["project"] = new JsonObject { ["name"] = project, ["domain"] = new JsonObject { ["name"] = "Default" } } },
            },
        }));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"Keystone at {Url} gave {user} no token for project {project}: {(int)response.StatusCode} {text}");
        return response.Headers.GetValues("X-Subject-Token").Single();
    }

    /// <summary>The name of the user a token was issued to (Keystone's validation, as an admin asks it).</summary>
    public async Task<string> UserOfTokenAsync(string token) =>
        (string)(await AdminAsync(HttpMethod.Get, "/auth/tokens?nocatalog", headers: ("X-Subject-Token", token)))!["token"]!["user"]!["name"]!;

    /// <summary>A project's id, by name.</summary>
    public async Task<string> ProjectIdAsync(string name) =>
        (string)(await AdminAsync(HttpMethod.Get, $"/projects?name={name}"))!["projects"]![0]!["id"]!;

    /// <summary>
    /// Puts <paramref name="url"/> in the catalog as the public endpoint of the network service, in a region of its
    /// own (so that several test servers can share one Keystone); clients choose it with --os-region-name. Keystone's
    /// own identity endpoint goes in the region too, for CLI commands that look projects up (quota list).
    /// Returns the region, for <see cref="UnregisterAsync"/>.
    /// </summary>
    public async Task<string> RegisterNetworkEndpointAsync(string url)
    {
        var region = $"calico-test-{Guid.NewGuid():N}"[..24];
        await AdminAsync(HttpMethod.Post, "/regions", new JsonObject { ["region"] = new JsonObject { ["id"] = region } });
        var service = (string)(await AdminAsync(HttpMethod.Get, "/services?type=network"))!["services"]![0]!["id"]!;
        await AdminAsync(HttpMethod.Post, "/endpoints", new JsonObject
        {
            ["endpoint"] = new JsonObject { ["service_id"] = service, ["interface"] = "public", ["url"] = url, ["region_id"] = region },
        });
        var identity = (string)(await AdminAsync(HttpMethod.Get, "/services?type=identity"))!["services"]![0]!["id"]!;
        await AdminAsync(HttpMethod.Post, "/endpoints", new JsonObject
        {
            ["endpoint"] = new JsonObject { ["service_id"] = identity, ["interface"] = "public", ["url"] = Url, ["region_id"] = region },
        });
        return region;
    }

    /// <summary>Removes a region's endpoints and the region.</summary>
    public async Task UnregisterAsync(string region)
    {
        foreach (var endpoint in (await AdminAsync(HttpMethod.Get, $"/endpoints?region_id={region}"))!["endpoints"]!.AsArray())
            await AdminAsync(HttpMethod.Delete, $"/endpoints/{endpoint!["id"]}");
        await AdminAsync(HttpMethod.Delete, $"/regions/{region}");
    }

    /// <summary>A body with its length: uwsgi's http-socket reads no chunked body (Keystone would see none).</summary>
    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    private async Task<JsonNode?> AdminAsync(HttpMethod method, string path, JsonNode? body = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, Url + path);
        request.Headers.Add("X-Auth-Token", await TokenAsync("admin", "admin"));
        foreach (var (name, value) in headers) request.Headers.Add(name, value);
        if (body is not null) request.Content = Json(body);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {Url}{path} answered {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }
}
