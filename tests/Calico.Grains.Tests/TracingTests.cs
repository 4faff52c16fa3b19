using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Calico.Model;
using Calico.Model.Desired;
using Calico.Silo.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Calico.Grains.Tests;

/// <summary>A host's apply span links back to the resource change that caused it, so one API call is one trace.</summary>
public sealed class TracingTests
{
    [Fact]
    public async Task The_apply_span_on_a_host_links_to_the_calculator_span_of_the_change()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == CalicoTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        await using var cluster = await CalicoTestCluster.StartAsync(2, c => c.Roles["Silo_1"] = (SiloRoles.Compute, "h44", "172.18.203.44"));
        await Eventually.TrueAsync(() => cluster.Agent("h44").Applied is not null, "h44 applied its first state");
        await cluster.Grains.GetGrain<IEndpointGrain>("p-traced").CreateAsync(Samples.Endpoint("p-traced", "h44", "10.65.0.77"));
        await Eventually.TrueAsync(() => cluster.Dataplane("h44").State.ContainsKey(new DesiredKey(DesiredKind.Route, "10.65.0.77/32")), "the route arrived");

        await Eventually.TrueAsync(() =>
        {
            var causes = spans.Where(s => s.OperationName == "calculator.apply" && (string?)s.GetTagItem("calico.resource.key") == "p-traced")
                .Select(s => s.Context.SpanId).ToHashSet();
            return causes.Count > 0 && spans.Any(s => s.OperationName == "agent.apply" && s.Links.Any(l => causes.Contains(l.Context.SpanId)));
        }, "an agent.apply span links to the calculator.apply span of p-traced");
    }

    [Fact]
    public async Task One_call_is_one_trace_that_every_host_it_changed_links_to()
    {
        var spans = new ConcurrentBag<Activity>();
        using var source = new ActivitySource("Calico.Tests.Api");
        using var listener = new ActivityListener
        {
            // Orleans' grain-call sources too, as the silo's tracer provider listens to them: they carry the context.
            ShouldListenTo = s => s.Name is CalicoTelemetry.Name or "Microsoft.Orleans.Runtime" or "Microsoft.Orleans.Application" || s.Name == source.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        var converged = new ConcurrentBag<(string? Host, double Milliseconds)>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (i, l) => { if (i.Name == "calico.agent.convergence") l.EnableMeasurementEvents(i); },
        };
        meters.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            converged.Add(((string?)tags.ToArray().FirstOrDefault(t => t.Key == "calico.host").Value, value)));
        meters.Start();

        await using var cluster = await CalicoTestCluster.StartAsync(3, c =>
        {
            c.Roles["Silo_1"] = (SiloRoles.Compute, "ta", "172.18.203.44");
            c.Roles["Silo_2"] = (SiloRoles.Compute, "tb", "172.18.203.45");
        });
        await Eventually.TrueAsync(() => cluster.Agent("ta").Applied is not null && cluster.Agent("tb").Applied is not null, "both hosts applied their first state");
        // Every call from the controller silo, as the API makes them (the test cluster's client may not know the
        // resource grain types yet when its gateway is a compute silo, which hosts none).
        var controller = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainFactory>();
        // tb's port is in sg-web, whose rule admits sg-db's members: a port joining sg-db on ta changes both hosts.
        await controller.GetGrain<ISecurityGroupGrain>("sg-db").CreateAsync(Samples.Group("sg-db"));
        await controller.GetGrain<ISecurityGroupGrain>("sg-web").CreateAsync(Samples.Group("sg-web",
            Samples.TcpRule("r-db", 5432) with { RemoteGroupId = "sg-db" }));
        await controller.GetGrain<IEndpointGrain>("p-web").CreateAsync(Samples.Endpoint("p-web", "tb", "10.65.0.20", "sg-web"));
        await Eventually.TrueAsync(() => cluster.Dataplane("tb").State.ContainsKey(new DesiredKey(DesiredKind.Route, "10.65.0.20/32")), "p-web arrived on tb");

        // As the API does: a request's span on the controller silo, and the grain call made within it.
        ActivityTraceId trace;
        using (var call = source.StartActivity("POST /v2.0/ports", ActivityKind.Server))
        {
            trace = call!.TraceId;
            await controller.GetGrain<IEndpointGrain>("p-db").CreateAsync(Samples.Endpoint("p-db", "ta", "10.65.0.30", "sg-db"));
        }

        // The calculator's span of the change is in the call's trace, and each host's apply of it links to it.
        await Eventually.TrueAsync(() =>
        {
            var calculated = spans.Where(s => s.OperationName == "calculator.apply" && (string?)s.GetTagItem("calico.resource.key") == "p-db").ToList();
            if (calculated.Count == 0 || calculated.Any(s => s.TraceId != trace)) return false;
            var ids = calculated.Select(s => s.SpanId).ToHashSet();
            var hosts = spans.Where(s => s.OperationName == "agent.apply" && s.Links.Any(l => ids.Contains(l.Context.SpanId)))
                .Select(s => (string?)s.GetTagItem("calico.host")).ToHashSet();
            return hosts.SetEquals(["ta", "tb"]);
        }, "the calculator span of p-db is in the call's trace, and both hosts' apply spans link to it");
        Assert.Equal(trace, spans.Single(s => s.OperationName == "POST /v2.0/ports").TraceId);

        // Each host also counted the time from the write to its apply (calico.agent.convergence, per host).
        await Eventually.TrueAsync(() => converged.Any(m => m.Host == "ta") && converged.Any(m => m.Host == "tb"),
            "both hosts recorded their convergence time");
        Assert.All(converged.Where(m => m.Host is "ta" or "tb"), m => Assert.InRange(m.Milliseconds, 0, 120_000));
    }
}
