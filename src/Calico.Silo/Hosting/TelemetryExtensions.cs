using Calico.Model;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Calico.Silo.Hosting;

public static class TelemetryExtensions
{
    /// <summary>
    /// Metrics and traces of Calico, Orleans (meter Microsoft.Orleans; grain-call activities), Polly, ASP.NET Core
    /// and the runtime. Exported over OTLP when an endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or
    /// Telemetry:OtlpEndpoint); otherwise collected in process only.
    /// </summary>
    public static IServiceCollection AddCalicoTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceInstance)
    {
        var endpoint = configuration["Telemetry:OtlpEndpoint"] ?? configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("calico-silo", serviceInstanceId: serviceInstance))
            .WithMetrics(m =>
            {
                m.AddMeter(CalicoTelemetry.Name, "Microsoft.Orleans", "Polly")
                    .AddRuntimeInstrumentation()
                    .AddAspNetCoreInstrumentation();
                if (endpoint is { Length: > 0 }) m.AddOtlpExporter(o => o.Endpoint = new Uri(endpoint));
            })
            .WithTracing(t =>
            {
                t.AddSource(CalicoTelemetry.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                    .AddAspNetCoreInstrumentation();
                if (endpoint is { Length: > 0 }) t.AddOtlpExporter(o => o.Endpoint = new Uri(endpoint));
            });
        return services;
    }
}
