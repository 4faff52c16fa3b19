using System.Diagnostics;
using System.Diagnostics.Metrics;
using Calico.Model;

namespace Calico.Grains;

/// <summary>The control plane's instruments, on the project's one Meter and ActivitySource.</summary>
internal static class Telemetry
{
    public static ActivitySource Source => CalicoTelemetry.Source;

    private static Meter Meter => CalicoTelemetry.Meter;

    public static readonly Counter<long> ResourceChanges =
        Meter.CreateCounter<long>("calico.calculator.resource_changes", description: "Resource changes processed by the desired-state calculator");

    public static readonly Counter<long> HostPushes =
        Meter.CreateCounter<long>("calico.calculator.host_pushes", description: "Desired-state pushes to host grains");

    public static readonly Counter<long> WatchResponses =
        Meter.CreateCounter<long>("calico.desired_state.watch_responses", description: "Answers to compute-silo watches, by kind (snapshot, changes, empty)");

    public static readonly Counter<long> HostResyncs =
        Meter.CreateCounter<long>("calico.desired_state.host_resyncs", description: "Times a host grain fetched its whole state from the calculator");

    public static readonly Counter<long> IpamRequests =
        Meter.CreateCounter<long>("calico.ipam.requests", description: "IPAM allocations and releases answered, by operation and outcome");

    public static readonly Counter<long> IpamBatches =
        Meter.CreateCounter<long>("calico.ipam.batches", description: "Rounds of IPAM writes (each stores every block its requests changed)");

    public static readonly Counter<long> IpamBlockWrites =
        Meter.CreateCounter<long>("calico.ipam.block_writes", description: "IP block rows written, by outcome");
}
