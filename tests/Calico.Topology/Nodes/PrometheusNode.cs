using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Calico.Topology.Kernel;

namespace Calico.Topology.Nodes;

/// <summary>
/// A Prometheus (Debian's package) scraping the topology: a namespace {prefix}prom on the fabric at
/// <see cref="Address"/>, running a throwaway server made by scripts/prometheus-test-server.sh with the caller's
/// configuration and storage inside the run's temporary directory, listening on the namespace's own loopback (so
/// only this harness reaches it, through sockets made in that namespace). It runs in that namespace, so it is
/// stopped with the run even if <see cref="StopAsync"/> is never reached (and by <c>topology down</c>).
/// </summary>
public sealed class PrometheusNode : IDisposable
{
    public static readonly IPAddress Address = IPAddress.Parse("172.18.203.3");

    private readonly string _stateFile;
    private readonly HttpClient _http;

    private PrometheusNode(Netns ns, string stateFile, Uri url)
    {
        Namespace = ns;
        _stateFile = stateFile;
        Url = url;
        _http = NamespacedHttp.CreateClient(ns, TimeSpan.FromSeconds(30));
    }

    public Netns Namespace { get; }

    /// <summary>http://127.0.0.1:PORT, on the loopback of <see cref="Namespace"/>.</summary>
    public Uri Url { get; }

    /// <summary>prometheus-test-server.sh, copied beside this assembly from scripts/.</summary>
    public static string Script => Path.Combine(AppContext.BaseDirectory, "prometheus-test-server.sh");

    /// <summary>
    /// Writes <paramref name="configuration"/> (prometheus.yaml) and <paramref name="files"/> (name → text, e.g. the
    /// rule files it names) into a directory of the run, and starts Prometheus on them.
    /// </summary>
    internal static async Task<PrometheusNode> StartAsync(Netns ns, string runDirectory, string configuration, IReadOnlyDictionary<string, string> files)
    {
        if (!File.Exists(Script)) throw new TopologyException($"{Script} not found: build tests/Calico.Topology (it copies scripts/prometheus-test-server.sh)");
        var configDirectory = Path.Combine(runDirectory, "prometheus-config");
        Directory.CreateDirectory(configDirectory);
        var config = Path.Combine(configDirectory, "prometheus.yaml");
        await File.WriteAllTextAsync(config, configuration);
        foreach (var (name, text) in files) await File.WriteAllTextAsync(Path.Combine(configDirectory, name), text);
        var stateFile = Path.Combine(runDirectory, "prometheus.env");
        var output = await ns.ExecAsync("env", $"PROM_PARENT_DIR={runDirectory}", "bash", Script, "start", config, stateFile);
        return new PrometheusNode(ns, stateFile, new Uri(output.Trim().Split('\n')[^1]));
    }

    /// <summary>GET /api/v1/query: the result of an instant query (a JSON array of series), or the error Prometheus gave.</summary>
    public async Task<JsonArray> QueryAsync(string promQl, CancellationToken cancellationToken = default)
    {
        var data = await GetDataAsync("api/v1/query?query=" + Uri.EscapeDataString(promQl), cancellationToken);
        return data["resultType"]?.GetValue<string>() == "vector" || data["resultType"]?.GetValue<string>() == "matrix"
            ? data["result"]!.AsArray()
            : [data["result"]?.DeepClone()];
    }

    /// <summary>GET /api/v1/rules: every rule group as Prometheus loaded and last evaluated it.</summary>
    public async Task<JsonArray> RuleGroupsAsync(CancellationToken cancellationToken = default) =>
        (await GetDataAsync("api/v1/rules", cancellationToken))["groups"]!.AsArray();

    /// <summary>GET /api/v1/targets: the active scrape targets with their health.</summary>
    public async Task<JsonArray> TargetsAsync(CancellationToken cancellationToken = default) =>
        (await GetDataAsync("api/v1/targets?state=active", cancellationToken))["activeTargets"]!.AsArray();

    private async Task<JsonNode> GetDataAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(new Uri(Url, pathAndQuery), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var body = JsonNode.Parse(text);
        if (!response.IsSuccessStatusCode || body?["status"]?.GetValue<string>() != "success")
            throw new PrometheusQueryException($"GET {pathAndQuery}: {(int)response.StatusCode} {body?["errorType"]} {body?["error"] ?? text}");
        return body["data"]!;
    }

    /// <summary>The value of one series of an instant vector ("NaN", "+Inf" and numbers as Prometheus writes them).</summary>
    public static double ValueOf(JsonNode series) => series["value"]![1]!.GetValue<string>() switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        var text => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    internal async Task StopAsync()
    {
        _http.Dispose();
        await Namespace.TryExecAsync(TimeSpan.FromSeconds(30), "bash", Script, "stop", _stateFile);
    }

    public void Dispose() => _http.Dispose();
}

public sealed class PrometheusQueryException(string message) : Exception(message);
