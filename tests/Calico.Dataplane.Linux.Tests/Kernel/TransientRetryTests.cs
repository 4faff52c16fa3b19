using Calico.Dataplane.Linux.Components;
using Calico.Dataplane.Linux.Driver;
using Calico.Dataplane.Linux.Kernel;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Dataplane.Linux.Tests.Reconcilers;
using Calico.Model.Desired;
using Calico.Model.Resources;
using Calico.Netlink;
using Microsoft.Extensions.Logging.Abstractions;
using static Calico.Dataplane.Linux.Tests.Policy.PolicySamples;

namespace Calico.Dataplane.Linux.Tests.Kernel;

/// <summary>
/// Dataplane:TransientRetries and Dataplane:RetryBaseDelay govern every kernel retry, nftables included: the driver
/// hands its one pipeline to workload policy, on the driver's clock (a fake one here, so no test sleeps).
/// </summary>
public sealed class TransientRetryTests
{
    private const string Tap = "tap12345678-9a";

    private static (LinuxDataplane Dataplane, FakeNftables Nftables, StepClock Clock) Driver(int retries, TimeSpan baseDelay)
    {
        var kernel = new FakeKernel();
        kernel.AddLink(Tap, up: true);
        var nftables = new FakeNftables();
        var clock = new StepClock();
        var options = new DataplaneOptions { TransientRetries = retries, RetryBaseDelay = baseDelay };
        var dataplane = Desired.On(kernel, options, options.Retry(clock), nftables: nftables);
        return (dataplane, nftables, clock);
    }

    private static Dictionary<DesiredKey, DesiredItem> State() =>
        Desired.State(Endpoint(Tap, "fa:16:3e:00:00:03", ["10.65.0.3"], ["web"]), Group("web", Ingress("http", 6, 80, 80)));

    /// <summary>Runs an apply, moving the fake clock past each pause it takes; returns the apply's result.</summary>
    private static async Task<DataplaneResult> ApplyThroughPausesAsync(LinuxDataplane dataplane, StepClock clock)
    {
        var apply = dataplane.ApplyAsync(State());
        while (await clock.PassNextPauseAsync(apply)) { }
        return await apply;
    }

    [Fact]
    public async Task Transient_nftables_refusals_are_retried_with_the_configured_base_delay()
    {
        var baseDelay = TimeSpan.FromMilliseconds(250);
        var (dataplane, nftables, clock) = Driver(retries: 3, baseDelay);
        using var _ = dataplane;
        nftables.FailNext(Errno.EBUSY, count: 3);

        var result = await ApplyThroughPausesAsync(dataplane, clock);

        Assert.Equal(EndpointStatusKind.Active, result.Endpoints["port-" + Tap].Status);
        Assert.NotNull(nftables.ReadTable(NftablesReconciler.DefaultTable));
        // Three pauses, exponential with jitter from the base delay: Polly's jittered backoff makes the three add up to
        // between 2.8 and 5.8 base delays (the default 20 ms would give at most 0.12 s, the system clock none here).
        Assert.Equal(3, clock.Pauses.Count);
        var total = clock.Pauses.Aggregate(TimeSpan.Zero, (sum, pause) => sum + pause);
        Assert.InRange(total, baseDelay * 2.8, baseDelay * 5.8);
        Assert.All(clock.Pauses, pause => Assert.InRange(pause, TimeSpan.Zero, TransientRetry.MaxDelay));
    }

    [Fact]
    public async Task Past_the_configured_retries_the_refusal_surfaces_as_a_policy_error()
    {
        var (dataplane, nftables, clock) = Driver(retries: 2, TimeSpan.FromMilliseconds(20));
        using var _ = dataplane;
        nftables.FailNext(Errno.EBUSY, count: 10);

        var result = await ApplyThroughPausesAsync(dataplane, clock);

        var status = result.Endpoints["port-" + Tap];
        Assert.Equal(EndpointStatusKind.Error, status.Status);
        Assert.StartsWith("policy: ", status.Message);
        Assert.Equal(2, clock.Pauses.Count);
        Assert.Null(nftables.ReadTable(NftablesReconciler.DefaultTable));
    }

    [Fact]
    public async Task No_retries_configured_means_one_attempt_and_no_pause()
    {
        var (dataplane, nftables, clock) = Driver(retries: 0, TimeSpan.FromMilliseconds(20));
        using var _ = dataplane;
        nftables.FailNext(Errno.EBUSY);

        var result = await ApplyThroughPausesAsync(dataplane, clock);

        Assert.Equal(EndpointStatusKind.Error, result.Endpoints["port-" + Tap].Status);
        Assert.Empty(clock.Pauses);
    }

    [Fact]
    public void The_options_validator_refuses_a_negative_retry_delay()
    {
        var result = new DataplaneOptionsValidator().Validate(null, new DataplaneOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(-1) });

        Assert.True(result.Failed);
        Assert.Contains("Dataplane:RetryBaseDelay", result.FailureMessage);
    }
}
