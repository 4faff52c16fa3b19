using System.Diagnostics.Metrics;
using Calico.Model;

namespace Calico.Dataplane.Linux.Kernel;

/// <summary>The dataplane's instruments, on the project's meter.</summary>
public static class DataplaneTelemetry
{
    /// <summary>The kind nftables' operations, drift repairs and retries are counted under.</summary>
    public const string NftablesKind = "nft";

    public static readonly Counter<long> Operations = CalicoTelemetry.Meter.CreateCounter<long>(
        "calico.dataplane.operations", description: "Kernel objects written, by kind (route, neighbour, sysctl, link, nft) and operation");

    public static readonly Counter<long> DriftRepairs = CalicoTelemetry.Meter.CreateCounter<long>(
        "calico.dataplane.drift_repairs", description: "Kernel objects found different from what was applied, and put back, by kind");

    public static readonly Counter<long> Retries = CalicoTelemetry.Meter.CreateCounter<long>(
        "calico.dataplane.retries", description: "Transient kernel errors retried, by kind");

    public static readonly Counter<long> Failures = CalicoTelemetry.Meter.CreateCounter<long>(
        "calico.dataplane.failures", description: "Objects that could not be programmed, by kind");

    public static readonly Histogram<double> ApplyDuration = CalicoTelemetry.Meter.CreateHistogram<double>(
        "calico.dataplane.apply.duration", unit: "ms", description: "Time to apply one desired-state update to the kernel");

    public static readonly Histogram<double> ResyncDuration = CalicoTelemetry.Meter.CreateHistogram<double>(
        "calico.dataplane.resync.duration", unit: "ms", description: "Time to read the kernel back and repair drift");

    public static readonly Counter<long> WorkloadLinkEvents = CalicoTelemetry.Meter.CreateCounter<long>(
        "calico.dataplane.workload_link_events", description: "Kernel notices about workload interfaces, by kind (appeared, removed, renamed, up, down; lost: notices dropped, a resync follows)");

    public static readonly Histogram<double> LinkReconcileDuration = CalicoTelemetry.Meter.CreateHistogram<double>(
        "calico.dataplane.link_reconcile.duration", unit: "ms", description: "Time to reconcile the workload interfaces a link notice named, and their local routes");

    public static KeyValuePair<string, object?> Kind(string kind) => new("kind", kind);

    /// <summary>Counts <paramref name="count"/> operations of a component's kind, also as drift repairs during a resync.</summary>
    public static void Count(string kind, string operation, int count, bool drift)
    {
        if (count == 0) return;
        Operations.Add(count, Kind(kind), Operation(operation));
        if (drift) DriftRepairs.Add(count, Kind(kind));
    }

    /// <summary>
    /// Records 0 for the counters of trouble (failures, retries, drift repairs) under the kinds that count them, so
    /// that their series exist from a dataplane's start: dashboards and alerts then read 0 on a healthy host, not
    /// "no data".
    /// </summary>
    public static void RecordZeros()
    {
        foreach (var kind in (string[])["route", "interface", "dhcp"]) Failures.Add(0, Kind(kind));
        foreach (var kind in (string[])["call", "batch", NftablesKind]) Retries.Add(0, Kind(kind));
        foreach (var kind in (string[])["route", NftablesKind, "dhcp"]) DriftRepairs.Add(0, Kind(kind));
    }

    public static KeyValuePair<string, object?> Operation(string operation) => new("operation", operation);
}
