using System.Diagnostics.Metrics;
using Calico.Model;

namespace Calico.Silo.Compute;

/// <summary>The host agent's instruments, on the project's meter.</summary>
internal static class AgentTelemetry
{
    public static readonly Counter<long> Applies =
        CalicoTelemetry.Meter.CreateCounter<long>("calico.agent.applies", description: "Desired-state updates handed to the dataplane, by outcome");

    public static readonly Counter<long> KernelChangeReconciles =
        CalicoTelemetry.Meter.CreateCounter<long>("calico.agent.kernel_change_reconciles", description: "Reconciles the host agent ran because the kernel changed under the desired state (a workload interface came, went, or went up or down)");

    private static readonly Dictionary<string, long> AppliedVersions = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, (Guid Epoch, long Latest, long Applied)> Lags = new(StringComparer.Ordinal);

    static AgentTelemetry() =>
        CalicoTelemetry.Meter.CreateObservableGauge("calico.agent.applied_version", () =>
        {
            lock (AppliedVersions)
                return AppliedVersions.Select(kv => new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("calico.host", kv.Key))).ToList();
        }, description: "The desired-state version the host's dataplane last applied");

    private static readonly ObservableGauge<long> VersionLag = CalicoTelemetry.Meter.CreateObservableGauge("calico.agent.version_lag", () =>
    {
        lock (AppliedVersions)
            return Lags.Select(kv => new Measurement<long>(Math.Max(0, kv.Value.Latest - kv.Value.Applied),
                new KeyValuePair<string, object?>("calico.host", kv.Key))).ToList();
    }, description: "How many versions the host's dataplane is behind the newest desired state it was offered");

    /// <summary>The newest version the host's grain offered (its lag is this minus the applied one).</summary>
    public static void Seen(string host, Grains.DesiredStateCursor cursor)
    {
        lock (AppliedVersions)
        {
            var (epoch, _, applied) = Lags.GetValueOrDefault(host);
            Lags[host] = (cursor.Epoch, cursor.Version, epoch == cursor.Epoch ? applied : 0);
        }
    }

    public static void Applied(string host, long version)
    {
        lock (AppliedVersions)
        {
            AppliedVersions[host] = version;
            if (Lags.TryGetValue(host, out var lag)) Lags[host] = lag with { Applied = version };
        }
        Applies.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
    }

    /// <summary>
    /// Records 0 for the agent's counters under every outcome when the agent starts, so that their series exist from
    /// the first scrape: dashboards and alerts on failures then see 0, not "no data", on a host that never failed.
    /// (Measurements count only once the meter provider listens, which it does before hosted services start.)
    /// </summary>
    public static void Started()
    {
        Applies.Add(0, new KeyValuePair<string, object?>("outcome", "ok"));
        Applies.Add(0, new KeyValuePair<string, object?>("outcome", "failed"));
        KernelChangeReconciles.Add(0);
    }

    public static void KernelChangeReconciled() => KernelChangeReconciles.Add(1);

    private static readonly Histogram<double> Convergence = CalicoTelemetry.Meter.CreateHistogram<double>("calico.agent.convergence", unit: "ms",
        description: "From a resource's write on a controller to this host's dataplane having applied what it changed here (the oldest write an apply carries; across machines, as far as their clocks agree)");

    /// <summary>An apply that carried changes written at <paramref name="writtenSince"/> (the oldest) finished at <paramref name="now"/>.</summary>
    public static void Converged(string host, DateTimeOffset writtenSince, DateTimeOffset now) =>
        Convergence.Record(Math.Max(0, (now - writtenSince).TotalMilliseconds), new KeyValuePair<string, object?>("calico.host", host));

    public static void Failed() => Applies.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
}
