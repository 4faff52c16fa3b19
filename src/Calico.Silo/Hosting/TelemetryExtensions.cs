using Calico.Model;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Calico.Silo.Hosting;

public static class TelemetryExtensions
{
    /// <summary>The path every silo serves its metrics on in Prometheus' text format (default /metrics), or null when turned off.</summary>
    /// <summary>Points kept per metric stream of a meter other than Calico's (Orleans, Polly, ASP.NET Core, the runtime).</summary>
    public const int OtherMetersCardinality = 256;

    public static string? PrometheusPath(IConfiguration configuration) =>
        configuration["Telemetry:PrometheusPath"] is { } path ? (path.Length == 0 ? null : path) : "/metrics";

    /// <summary>
    /// Builds the meter provider now (the hosting package would at its own hosted service's start, after services
    /// registered before it have started): measurements recorded while services start, such as the zeros that make
    /// failure counters visible before any failure, are otherwise lost.
    /// </summary>
    public static void StartListening(IServiceProvider services) => services.GetService<MeterProvider>();

    /// <summary>
    /// Metrics and traces of Calico, Orleans (meter Microsoft.Orleans; grain-call activities), Polly, ASP.NET Core
    /// and the runtime. Served for Prometheus to scrape (<see cref="PrometheusPath"/>), and exported over OTLP when an
    /// endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or Telemetry:OtlpEndpoint).
    /// </summary>
    /// <summary>
    /// <c>Telemetry:TraceSampleRatio</c>: the share of new traces recorded (0..1; a trace begun elsewhere follows its
    /// parent's decision). Null when not set or not a number in range (<see cref="StartupChecks"/> refuses that).
    /// </summary>
    public static double? TraceSampleRatio(IConfiguration configuration) =>
        configuration["Telemetry:TraceSampleRatio"] is { Length: > 0 } text
        && double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var ratio)
        && ratio is >= 0 and <= 1 ? ratio : null;

    public static IServiceCollection AddCalicoTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceInstance)
    {
        var endpoint = configuration["Telemetry:OtlpEndpoint"] ?? configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("calico-silo", serviceInstanceId: serviceInstance))
            .WithMetrics(m =>
            {
                m.AddMeter(CalicoTelemetry.Name, "Microsoft.Orleans", "Polly")
                    .AddRuntimeInstrumentation()
                    .AddAspNetCoreInstrumentation()
                    // OpenTelemetry sizes each metric stream's point table for its cardinality limit (2,000 by
                    // default) up front; other meters' tags (grain types, routes, policies) take a few hundred at
                    // most, so they get a smaller table. Calico's own keep the default (per-host and per-subnet gauges).
                    .AddView(i => i.Meter.Name == CalicoTelemetry.Name ? null : new MetricStreamConfiguration { CardinalityLimit = OtherMetersCardinality });
                if (endpoint is { Length: > 0 }) m.AddOtlpExporter(o => o.Endpoint = new Uri(endpoint));
                if (PrometheusPath(configuration) is not null) m.AddPrometheusExporter();
            });
        // Traces only where they go somewhere. A tracer provider listening without an exporter still makes Orleans
        // build and tag an activity for every grain call (the calculator's pushes are one call per host told): about
        // a fifth of what the controller allocated while ports were created at 100 hosts (bench/README.md "Scale").
        if (endpoint is { Length: > 0 })
            services.AddOpenTelemetry().WithTracing(t => t
                .AddSource(CalicoTelemetry.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                .AddAspNetCoreInstrumentation()
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(TraceSampleRatio(configuration) ?? 1.0)))
                .AddOtlpExporter(o => o.Endpoint = new Uri(endpoint)));
        return services;
    }
}
