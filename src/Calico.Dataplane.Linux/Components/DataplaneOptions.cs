using Calico.Dataplane.Linux.Kernel;
using Microsoft.Extensions.Options;

namespace Calico.Dataplane.Linux.Components;

/// <summary>
/// Settings of the dataplane as a whole (section "Dataplane"): where it programs, how often it resyncs, how kernel
/// calls are retried, which interfaces are workloads'. Each component's own settings are in its options class
/// (<c>InterfaceOptions</c>, <c>PolicyOptions</c>, <c>RouteOptions</c>, <c>DhcpOptions</c>), read from the same
/// section so that every <c>Dataplane:</c> key keeps its name.
/// </summary>
public sealed class DataplaneOptions
{
    public const string Section = "Dataplane";

    /// <summary>
    /// The network namespace to program, by name (/var/run/netns/NAME); empty: the namespace the silo runs in.
    /// Tests and demos point this at a namespace of their own.
    /// </summary>
    public string? NetworkNamespace { get; set; }

    /// <summary>How often routes, interfaces and neighbours are read back and drift repaired.</summary>
    public TimeSpan RouteResyncInterval { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Whether to listen to the kernel's link notifications, so that a workload interface that appears, disappears or
    /// goes up or down is reconciled at once (a port bound before its tap exists turns ACTIVE as the tap appears).
    /// Off: such changes wait for the next apply or resync. One-shot commands turn it off.
    /// </summary>
    public bool WatchLinks { get; set; } = true;

    /// <summary>How many times a transient kernel error (EBUSY, ENOBUFS, an interrupted dump; netlink and nftables alike) is retried.</summary>
    public int TransientRetries { get; set; } = TransientRetry.DefaultRetries;

    /// <summary>The first pause before retrying a transient error; it doubles each time, with jitter, up to 2 seconds.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TransientRetry.DefaultBaseDelay;

    /// <summary>
    /// How often a live migration's target reads its tap while the tap has carrier but its VM has not sent a frame yet
    /// (the kernel sends no notice when a counter moves): the longest the target takes to see the VM arrive. One
    /// RTM_GETLINK per waiting tap each time, only during a migration.
    /// </summary>
    public TimeSpan ArrivalPollInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Interfaces whose names start with this are workloads' (policed, watched); every other interface is the host's.</summary>
    public string WorkloadInterfacePrefix { get; set; } = "tap";

    /// <summary>The retry pipeline these settings ask for, its pauses on <paramref name="time"/>.</summary>
    public Polly.ResiliencePipeline Retry(TimeProvider? time = null) => TransientRetry.Create(TransientRetries, RetryBaseDelay, time);
}

public sealed class DataplaneOptionsValidator : IValidateOptions<DataplaneOptions>
{
    public ValidateOptionsResult Validate(string? name, DataplaneOptions o)
    {
        var errors = new List<string>();
        if (o.RouteResyncInterval <= TimeSpan.Zero) errors.Add("Dataplane:RouteResyncInterval must be positive.");
        if (o.ArrivalPollInterval <= TimeSpan.Zero || o.ArrivalPollInterval > TimeSpan.FromSeconds(1))
            errors.Add($"Dataplane:ArrivalPollInterval {o.ArrivalPollInterval} must be above 0 and at most 1 second, e.g. 00:00:00.010.");
        if (o.TransientRetries < 0) errors.Add("Dataplane:TransientRetries must be 0 or more.");
        if (o.RetryBaseDelay < TimeSpan.Zero) errors.Add($"Dataplane:RetryBaseDelay {o.RetryBaseDelay} must be 0 or more, e.g. 00:00:00.020.");
        if (o.NetworkNamespace is { Length: > 0 } ns && (ns.Contains('/') || ns is "." or ".."))
            errors.Add($"Dataplane:NetworkNamespace '{ns}' must be a plain name under /var/run/netns.");
        var prefix = o.WorkloadInterfacePrefix;
        if (string.IsNullOrEmpty(prefix) || prefix.Length > 14 || !prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            errors.Add($"Dataplane:WorkloadInterfacePrefix '{prefix}' must be 1-14 letters, digits, '-', '_' or '.', e.g. tap.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
