using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Calico.Model;

namespace Calico.Silo.Tests;

/// <summary>
/// observability/grafana/calico.json queries only metrics the code emits, under the names the OpenTelemetry
/// Collector's Prometheus exporter gives them (dots to underscores, the unit "ms" as _milliseconds, _total on
/// counters, _bucket/_sum/_count on histograms): a renamed instrument fails here rather than on an operator's screen.
/// </summary>
public sealed partial class DashboardTests
{
    [Fact]
    public void Every_metric_the_dashboard_queries_is_one_the_code_emits()
    {
        var emitted = PrometheusNames(CalicoInstruments());
        var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Calico.Testing.Repository.Root(), "observability", "grafana", "calico.json")));
        var queried = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .SelectMany(t => MetricName().Matches(Labels().Replace(t.GetProperty("expr").GetString()!, "")).Select(m => m.Value))
            .ToHashSet(StringComparer.Ordinal);

        Assert.NotEmpty(queried);
        Assert.Empty(queried.Where(name => !emitted.Contains(name)).Order());
    }

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
            var name = instrument.Name.Replace('.', '_') + (instrument.Unit == "ms" ? "_milliseconds" : "");
            var type = instrument.GetType().GetGenericTypeDefinition();
            if (type == typeof(Counter<>) || type == typeof(ObservableCounter<>)) names.Add(name + "_total");
            else if (type == typeof(Histogram<>)) names.UnionWith([name + "_bucket", name + "_sum", name + "_count"]);
            else names.Add(name);
        }
        return names;
    }


    [GeneratedRegex(@"\bcalico_[a-z0-9_]+")]
    private static partial Regex MetricName();

    /// <summary>Label lists and matchers (<c>by (calico_host)</c>, <c>{outcome="failed"}</c>): they name labels, not metrics.</summary>
    [GeneratedRegex(@"\b(by|without)\s*\([^)]*\)|\{[^}]*\}")]
    private static partial Regex Labels();
}
