using System.Diagnostics.Metrics;
using Calico.Model;

namespace Calico.Silo.Compute;

/// <summary>The host agent's instruments, on the project's meter.</summary>
internal static class AgentTelemetry
{
    public static readonly Counter<long> Applies =
        CalicoTelemetry.Meter.CreateCounter<long>("calico.agent.applies", description: "Desired-state updates handed to the dataplane, by outcome");

    private static readonly Dictionary<string, long> AppliedVersions = new(StringComparer.Ordinal);

    static AgentTelemetry() =>
        CalicoTelemetry.Meter.CreateObservableGauge("calico.agent.applied_version", () =>
        {
            lock (AppliedVersions)
                return AppliedVersions.Select(kv => new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("calico.host", kv.Key))).ToList();
        }, description: "The desired-state version the host's dataplane last applied");

    public static void Applied(string host, long version)
    {
        lock (AppliedVersions) AppliedVersions[host] = version;
        Applies.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
    }

    public static void Failed() => Applies.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
}
