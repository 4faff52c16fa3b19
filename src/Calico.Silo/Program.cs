using System.Net;
using Calico.Api.Hosting;
using Calico.Datastore;
using Calico.Silo.Health;
using Calico.Silo.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Orleans.Configuration;

// `calico-silo dataplane plan|apply --file F`: the dataplane's reconcilers once, against a file, no cluster.
if (args is ["dataplane", .. var rest]) return await Calico.Dataplane.Linux.Commands.DataplaneFileCommand.RunAsync(rest, Console.Out, Console.Error);

if (args is ["version"] || args.Contains("--version"))
{
    Console.WriteLine($"calico-silo {StartupChecks.Version}");
    return 0;
}

// One executable, three shapes: an all-in-one node (default), a controller, or a compute node.
// Configuration: appsettings.json < environment (CALICO_ prefix, '__' for ':') < command line.
// appsettings.json is read from beside the executable, whatever the working directory; relative paths in the
// configuration (Datastore:DataDirectory) are relative to the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddEnvironmentVariables("CALICO_");
builder.Configuration.AddCommandLine(args, CommandLineSwitches.Mappings);

var settings = builder.Configuration.GetSection(CalicoSiloOptions.Section).Get<CalicoSiloOptions>() ?? new CalicoSiloOptions();
var invalid = new CalicoSiloOptionsValidator().Validate(null, settings);
if (invalid.Failed)
{
    Console.Error.WriteLine($"calico-silo: {invalid.FailureMessage}");
    return 2;
}
var roles = settings.ParsedRoles;
// Settings that cannot work stop the silo here, before it joins a cluster or serves anything.
if (StartupChecks.Find(settings, builder.Configuration) is [_, ..] problems)
{
    foreach (var problem in problems) Console.Error.WriteLine($"calico-silo: {problem}");
    return 2;
}

builder.UseOrleans(silo =>
{
    silo.Configure<ClusterOptions>(o =>
    {
        o.ClusterId = settings.ClusterId;
        o.ServiceId = settings.ServiceId;
    });
    silo.Configure<SiloOptions>(o => o.SiloName = settings.EffectiveName);
    var advertised = IPAddress.Parse(settings.AdvertisedAddress);
    silo.ConfigureEndpoints(advertised, settings.SiloPort, settings.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(advertised));
    if (settings.Clustering == "postgres")
        silo.UseCalicoPostgresClustering(builder.Configuration.GetSection(CalicoDatastoreOptions.Section));
    else
        silo.UseDevelopmentClustering(settings.PrimarySiloEndpoint is { Length: > 0 } primary
            ? IPEndPoint.Parse(primary)
            : new IPEndPoint(advertised, settings.SiloPort));
    // Grain state lives where the control-plane grains do: a compute-only silo hosts none, so it opens no store
    // (with postgres clustering it still reaches the database, for membership only).
    if (roles.HasFlag(SiloRoles.Controller)) silo.AddCalicoDatastore(builder.Configuration.GetSection(CalicoDatastoreOptions.Section));
    silo.AddCalico(builder.Configuration, roles);
});

builder.Services.AddCalicoTelemetry(builder.Configuration, settings.EffectiveName);
// The Neutron-compatible API is served by controller silos only (section "Api").
if (roles.HasFlag(SiloRoles.Controller)) builder.Services.AddCalicoApi(builder.Configuration);
builder.Services.AddHealthChecks().AddCheck<ReadinessCheck>("ready", tags: ["ready"]);
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
    builder.WebHost.UseUrls(StartupChecks.DefaultUrl);

var app = builder.Build();
// The meter provider listens from here on, before any hosted service starts: what they record at start counts.
TelemetryExtensions.StartListening(app.Services);
// /healthz: the process serves requests. /readyz: a cluster member that has applied its first desired state.
app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
// Prometheus scrapes every silo here (Telemetry:PrometheusPath; empty turns it off).
if (TelemetryExtensions.PrometheusPath(builder.Configuration) is { } metricsPath) app.MapPrometheusScrapingEndpoint(metricsPath);
if (roles.HasFlag(SiloRoles.Controller)) app.MapCalicoApi();
try
{
    await app.RunAsync();
}
catch (Exception e) when (e is Microsoft.Extensions.Options.OptionsValidationException or IOException)
{
    // A setting found wrong while starting (options validated on start, an address taken in between): its message, no trace.
    Console.Error.WriteLine($"calico-silo: {e.Message}");
    return 2;
}
return 0;
