using System.Collections.Concurrent;
using System.Diagnostics;
using Calico.Model;
using Calico.Model.Desired;
using Calico.Silo.Hosting;

namespace Calico.Grains.Tests;

/// <summary>A host's apply span links back to the resource change that caused it.</summary>
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
}
