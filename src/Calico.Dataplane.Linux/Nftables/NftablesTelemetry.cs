using System.Diagnostics.Metrics;
using Calico.Dataplane.Linux.Kernel;
using Calico.Model;

namespace Calico.Dataplane.Linux.Nftables;

/// <summary>
/// nftables-specific instruments on the project's meter. Operations, drift repairs and retries go to the dataplane's
/// shared counters (<see cref="DataplaneTelemetry"/>) with kind "nft", like routes and links.
/// </summary>
public static class NftablesTelemetry
{
    public const string Kind = DataplaneTelemetry.NftablesKind;

    public static readonly Histogram<double> TransactionDuration = CalicoTelemetry.Meter.CreateHistogram<double>(
        "calico.nftables.transaction.duration", unit: "ms", description: "Time to commit one nftables transaction, retries included");

    public static readonly Counter<long> TableReads = CalicoTelemetry.Meter.CreateCounter<long>(
        "calico.nftables.table_reads", description: "Times our table was read back from the kernel, by reason (start, generation, changed, overflow, gap, unconfirmed, forced, failure)");

    public static readonly Counter<long> OthersIgnored = CalicoTelemetry.Meter.CreateCounter<long>(
        "calico.nftables.others_ignored", description: "Transactions of others in the namespace that change notifications showed did not touch our table, so it was not read back");

    public static KeyValuePair<string, object?> Reason(string reason) => new("reason", reason);
}
