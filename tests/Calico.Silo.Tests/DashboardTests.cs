using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Calico.Model;

namespace Calico.Silo.Tests;

/// <summary>
/// The dashboards under observability/grafana/dashboards/ and the rules of observability/alerts.yaml query only
/// metrics the code emits, under the names Prometheus gives them (dots to underscores, the unit "ms" as
/// _milliseconds and "s" as _seconds, _total on counters, _bucket/_sum/_count on histograms): a renamed instrument fails here rather than
/// on an operator's screen. That each query returns data from a real cluster is PrometheusTests' job
/// (tests/Calico.EndToEnd.Tests); that each dashboard is one Grafana accepts, <see cref="DashboardSchemaTests"/>'.
/// </summary>
public sealed partial class DashboardTests
{
    private static string Observability => Path.Combine(Calico.Testing.Repository.Root(), "observability");

    private static List<string> DashboardFiles() =>
        [.. Directory.GetFiles(Path.Combine(Observability, "grafana", "dashboards"), "*.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    public static TheoryData<string> Dashboards() => [.. DashboardFiles()];

    private static JsonDocument Dashboard(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Observability, "grafana", "dashboards", name)));

    [Fact]
    public void The_cluster_overview_host_ipam_api_and_bgp_dashboards_exist()
    {
        Assert.Equal(["calico-api.json", "calico-bgp.json", "calico-host.json", "calico-ipam.json", "calico.json"], DashboardFiles());
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void Every_metric_a_dashboard_queries_is_one_the_code_emits(string name)
    {
        var emitted = PrometheusNames(CalicoInstruments());
        using var dashboard = Dashboard(name);
        var queried = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .SelectMany(CalicoMetrics)
            .ToHashSet(StringComparer.Ordinal);

        Assert.Empty(queried.Where(metric => !emitted.Contains(metric)).Order());
    }

    [Fact]
    public void Every_metric_an_alert_rule_uses_is_one_the_code_emits()
    {
        var emitted = PrometheusNames(CalicoInstruments());
        var used = ExpressionLine().Matches(File.ReadAllText(Path.Combine(Observability, "alerts.yaml")))
            .SelectMany(m => CalicoMetrics(m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);

        Assert.NotEmpty(used);
        Assert.Empty(used.Where(metric => !emitted.Contains(metric)).Order());
    }

    /// <summary>The data source is the variable ${datasource} (of type prometheus) in every panel and every query variable.</summary>
    [Theory]
    [MemberData(nameof(Dashboards))]
    public void Every_dashboard_takes_its_prometheus_from_the_datasource_variable(string name)
    {
        using var dashboard = Dashboard(name);
        var variables = dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray().ToList();
        var source = Assert.Single(variables, v => v.GetProperty("type").GetString() == "datasource");
        Assert.Equal("datasource", source.GetProperty("name").GetString());
        Assert.Equal("prometheus", source.GetProperty("query").GetString());
        var users = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Concat(variables.Where(v => v.GetProperty("type").GetString() == "query"))
            .ToList();
        Assert.All(users, user =>
        {
            var ds = user.GetProperty("datasource");
            Assert.Equal("prometheus", ds.GetProperty("type").GetString());
            Assert.Equal("${datasource}", ds.GetProperty("uid").GetString());
        });
    }

    private static IEnumerable<string> CalicoMetrics(string expression) =>
        MetricName().Matches(Labels().Replace(expression, "")).Select(m => m.Value);

    /// <summary>The instruments of meter "Calico", once every *Telemetry class of the product has been initialised.</summary>
    private static List<Instrument> CalicoInstruments()
    {
        var found = new List<Instrument>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name == CalicoTelemetry.Name) lock (found) found.Add(instrument);
        };
        listener.Start();
        var assemblies = new[]
        {
            typeof(CalicoTelemetry).Assembly, typeof(Calico.Grains.Ipam.SubnetIpamGrain).Assembly,
            typeof(Calico.Dataplane.Linux.Driver.LinuxDataplane).Assembly, typeof(Calico.Silo.Compute.HostAgent).Assembly,
        };
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()).Where(t => t.Name.EndsWith("Telemetry", StringComparison.Ordinal)))
            RuntimeHelpers.RunClassConstructor(type.TypeHandle);
        return found;
    }

    private static HashSet<string> PrometheusNames(IEnumerable<Instrument> instruments)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var instrument in instruments)
        {
            var name = instrument.Name.Replace('.', '_') + instrument.Unit switch { "ms" => "_milliseconds", "s" => "_seconds", _ => "" };
            var type = instrument.GetType().GetGenericTypeDefinition();
            if (type == typeof(Counter<>) || type == typeof(ObservableCounter<>)) names.Add(name + "_total");
            else if (type == typeof(Histogram<>)) names.UnionWith([name + "_bucket", name + "_sum", name + "_count"]);
            else names.Add(name);
        }
        return names;
    }


    [GeneratedRegex(@"^\s*expr:\s*(.+)$", RegexOptions.Multiline)]
    private static partial Regex ExpressionLine();

    [GeneratedRegex(@"\bcalico_[a-z0-9_]+")]
    private static partial Regex MetricName();

    /// <summary>Label lists and matchers (<c>by (calico_host)</c>, <c>{outcome="failed"}</c>): they name labels, not metrics.</summary>
    [GeneratedRegex(@"\b(by|without)\s*\([^)]*\)|\{[^}]*\}")]
    private static partial Regex Labels();
}
