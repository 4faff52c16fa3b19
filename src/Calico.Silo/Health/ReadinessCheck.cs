using Calico.Silo.Compute;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace Calico.Silo.Health;

/// <summary>
/// Ready when the silo is an active cluster member and, on a compute node, the host's first desired state has
/// been applied; until then a load balancer or orchestrator should not count this node in.
/// </summary>
public sealed class ReadinessCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var oracle = services.GetService<ISiloStatusOracle>();
        if (oracle?.CurrentStatus != SiloStatus.Active)
            return Task.FromResult(HealthCheckResult.Unhealthy($"silo is {oracle?.CurrentStatus.ToString() ?? "not started"}"));
        var agent = services.GetService<HostAgent>();
        if (agent is not null && !agent.FirstApplied.IsCompleted)
            return Task.FromResult(HealthCheckResult.Unhealthy($"host {agent.HostName} has not applied its desired state yet"));
        var detail = agent is null ? "controller active" : $"host {agent.HostName} at {agent.Applied}";
        return Task.FromResult(HealthCheckResult.Healthy(detail));
    }
}
