using System.Collections.Concurrent;
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

    // Subnet id -> what its active IPAM grain last reported (see SubnetAddressUse).
    private static readonly ConcurrentDictionary<string, (string Cidr, double Capacity, long Allocated)> SubnetAddresses = new(StringComparer.Ordinal);

    private static readonly ObservableGauge<double> IpamCapacity = Meter.CreateObservableGauge("calico.ipam.addresses.capacity",
        () => SubnetAddresses.Select(kv => new Measurement<double>(kv.Value.Capacity, SubnetTags(kv.Key, kv.Value.Cidr))),
        description: "Addresses automatic allocation may hand out in a subnet (its allocation pools, less the gateway), while its IPAM grain is active");

    private static readonly ObservableGauge<long> IpamAllocated = Meter.CreateObservableGauge("calico.ipam.addresses.allocated",
        () => SubnetAddresses.Select(kv => new Measurement<long>(kv.Value.Allocated, SubnetTags(kv.Key, kv.Value.Cidr))),
        description: "Addresses of a subnet's allocation pools that are allocated, while its IPAM grain is active");

    /// <summary>What a subnet's IPAM grain holds now: the gauges above report it until <see cref="SubnetAddressesGone"/>.</summary>
    public static void SubnetAddressUse(string subnet, string cidr, double capacity, long allocated) =>
        SubnetAddresses[subnet] = (cidr, capacity, allocated);

    public static void SubnetAddressesGone(string subnet) => SubnetAddresses.TryRemove(subnet, out _);

    private static KeyValuePair<string, object?>[] SubnetTags(string subnet, string cidr) => [new("subnet", subnet), new("cidr", cidr)];

    // Host name -> when the controller last heard from its compute silo (Unix seconds), kept after the host's grain
    // goes idle (a silent host's grain is collected; the gauge must keep saying when it last reported).
    private static readonly ConcurrentDictionary<string, double> HostReports = new(StringComparer.Ordinal);

    private static readonly ObservableGauge<double> HostLastReport = Meter.CreateObservableGauge("calico.host.last_report.timestamp",
        () => HostReports.Select(kv => new Measurement<double>(kv.Value, new KeyValuePair<string, object?>("calico.host", kv.Key))),
        unit: "s", description: "When this controller last received a report from the host's compute silo (Unix time); hosts it has heard from since it started");

    public static void HostReported(string host, DateTimeOffset at) => HostReports[host] = at.ToUnixTimeMilliseconds() / 1000.0;

    public static void HostDeleted(string host) => HostReports.TryRemove(host, out _);
}
