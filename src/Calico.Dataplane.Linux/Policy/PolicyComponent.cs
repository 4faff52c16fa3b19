using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Microsoft.Extensions.Logging;

namespace Calico.Dataplane.Linux.Policy;

/// <summary>
/// Workload policy as a dataplane component (<see cref="WorkloadPolicy"/> owns table inet calico); there only when
/// the kernel has nftables for us (Dataplane:PolicyEnabled). A refused table concerns every endpoint: it is logged and
/// shows in their statuses, and the next apply or resync compiles from scratch and tries again; the other components
/// program regardless.
/// </summary>
public sealed partial class PolicyComponent(WorkloadPolicy policy, ILogger logger) : IDataplaneComponent
{
    public static DataplaneComponentRegistration Registration { get; } = new("policy", c =>
        c.Kernel.Nftables is not { } nftables || !c.Features.Get<PolicyOptions>().PolicyEnabled ? null
            : new PolicyComponent(new WorkloadPolicy(nftables, PolicySettings.From(c.Features.Get<PolicyOptions>(), c.Options), c.Retry,
                c.Loggers.CreateLogger<WorkloadPolicy>()), c.Loggers.CreateLogger<PolicyComponent>()))
    {
        Options = FeatureOptionsBinding.For<PolicyOptions, PolicyOptionsValidator>(DataplaneOptions.Section),
    };

    private static readonly IReadOnlySet<DesiredKind> Kinds = Enum.GetValues<DesiredKind>().Where(PolicyCompiler.Concerns).ToHashSet();

    public string Name => "policy";

    public int StatusPrecedence => 2;

    public IReadOnlySet<DesiredKind> Consumes => Kinds;

    public void Apply(DataplanePass pass)
    {
        try
        {
            if (pass.Drift) policy.Resync(pass.Desired);
            else policy.Apply(pass.Desired, pass.Changes, pass.IsSnapshot);
        }
        catch (Exception e) when (e is NftablesException or ArgumentException or InvalidOperationException or KeyNotFoundException)
        {
            LogPolicyFailed(logger, e.Message);
        }
    }

    /// <summary>Nothing: the table's belief is checked by the resync's generation check (and read back when it moved).</summary>
    public void Invalidate()
    {
    }

    /// <summary>Nothing: nftables matches interface names, so links coming and going change nothing here.</summary>
    public void ReconcileLinks(LinkChangePass pass)
    {
    }

    public IEnumerable<string> Plan(PlanPass pass) => policy.Plan(pass.Desired);

    public void ReportStatuses(EndpointStatuses statuses)
    {
        foreach (var item in statuses.Endpoints)
            if (policy.ProblemOf(item) is { } problem) statuses.Fail(item.EndpointId, EndpointStatusKind.Error, "policy: " + problem);
    }

    public void Dispose()
    {
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workload policy (nftables table inet calico) not programmed: {Reason}")]
    private static partial void LogPolicyFailed(ILogger logger, string reason);
}
