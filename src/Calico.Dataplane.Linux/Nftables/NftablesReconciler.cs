using System.Diagnostics;
using Calico.Dataplane.Linux.Kernel;
using Calico.Model;
using Calico.Nftables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace Calico.Dataplane.Linux.Nftables;

/// <summary>
/// Makes the kernel hold exactly the desired nftables table.
/// Owns: one table, <see cref="Table"/> (default <c>inet calico</c>), and everything in it: chains, rules, sets,
/// maps; whatever it finds there that is not desired (a chain, set, rule or element added by hand) it removes.
/// Never touches: any other table, of any family or name — it never lists the ruleset, never flushes it, and every
/// command it renders names its own table.
/// <para>
/// Keeps what it believes the kernel holds and applies only the difference (<see cref="NftDiff"/>), as one
/// transaction. Before each apply it reads the ruleset generation (one netlink request): unchanged since its own
/// last transaction means nothing changed. If it moved, the change notifications (<see cref="INftables.ChangesSince"/>)
/// say whether any of those transactions touched our table: if none did (another program's table), nothing changed
/// for us; if one did, or some were not seen (overflow, gap), or nobody listens, it reads its table back and repairs
/// what differs (counted as drift). A new reconciler reads the table first, so a restart adopts a matching table
/// without writing anything.
/// Transient kernel errors are retried by the resilience pipeline; a transaction refused otherwise is retried once
/// after reading the table back (the refusal may come from drift), then surfaces.
/// Calls are serialised; they block while the kernel works.
/// </para>
/// </summary>
public sealed partial class NftablesReconciler
{
    private readonly INftables _nftables;
    private readonly ResiliencePipeline _retry;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private NftTable? _believed;
    private bool _known;
    private bool _everRead;
    private uint _generation;
    private NftTable? _lastDesired;
    private readonly Dictionary<string, int> _reads = [];
    private long _othersIgnored;

    /// <summary>The table the dataplane owns unless told otherwise: one <c>inet</c> table named "calico".</summary>
    public static NftTableId DefaultTable { get; } = new(NftFamily.Inet, "calico");

    public NftablesReconciler(INftables nftables, NftTableId? table = null, ResiliencePipeline? retry = null, ILogger? logger = null)
    {
        _nftables = nftables ?? throw new ArgumentNullException(nameof(nftables));
        Table = table ?? DefaultTable;
        _retry = retry ?? TransientRetry.Default;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The one table this reconciler owns.</summary>
    public NftTable? Believed { get { lock (_gate) return _known ? _believed : null; } }

    public NftTableId Table { get; }

    /// <summary>How many times this reconciler read its table back, by reason (see <see cref="NftablesTelemetry.TableReads"/>).</summary>
    public IReadOnlyDictionary<string, int> Reads { get { lock (_gate) return new Dictionary<string, int>(_reads); } }

    /// <summary>Transactions of others, on other tables, that the change notifications let this reconciler skip without a read.</summary>
    public long OthersIgnored { get { lock (_gate) return _othersIgnored; } }

    /// <summary>Makes our table hold exactly <paramref name="desired"/>; returns what it did.</summary>
    public NftReconcileResult Apply(NftTable desired) => Apply(desired, forceRead: false);

    /// <summary>
    /// Checks the last desired table against the kernel and repairs drift: cheap when the generation shows that
    /// nothing changed, unless <paramref name="readKernel"/> asks for a full read (a periodic safety net).
    /// Before the first <see cref="Apply(NftTable)"/> there is nothing desired yet, and nothing is done.
    /// </summary>
    public NftReconcileResult Resync(bool readKernel = false)
    {
        NftTable? desired;
        lock (_gate) desired = _lastDesired;
        return desired is null ? NftReconcileResult.Nothing : Apply(desired, readKernel);
    }

    /// <summary>Forgets what it believes: the next call reads the table back.</summary>
    public void Invalidate()
    {
        lock (_gate) _known = false;
    }

    /// <summary>Deletes our table (and only it), e.g. when the node leaves Calico. Nothing else is touched.</summary>
    public NftReconcileResult Remove()
    {
        lock (_gate)
        {
            var read = Refresh(forcedBy: null);
            _lastDesired = null;
            if (_believed is null) return new NftReconcileResult(null, read, 0);
            var plan = new NftPlan(new NftTransaction().Add(new NftDeleteTable(Table)));
            Commit(plan, null);
            return new NftReconcileResult(plan, read, 0);
        }
    }

    private NftReconcileResult Apply(NftTable desired, bool forceRead)
    {
        ArgumentNullException.ThrowIfNull(desired);
        if (desired.Id != Table)
            throw new ArgumentException($"this reconciler owns table {Table} and never writes another (asked for {desired.Id})", nameof(desired));
        using var activity = CalicoTelemetry.Source.StartActivity("nftables.apply");
        lock (_gate)
        {
            var hadBelief = _everRead;
            var read = Refresh(forceRead ? "forced" : null);
            var plan = NftDiff.Plan(desired, _believed);
            if (plan.IsEmpty)
            {
                // The kernel holds the desired content: remember the desired objects, so that the next diff can skip
                // unchanged ones by reference.
                _believed = desired;
                _lastDesired = desired;
                return new NftReconcileResult(plan, read, 0);
            }
            var drift = read && hadBelief;
            if (drift) LogDrift(Table, plan.ToString());
            else if (read) LogAdopting(Table, plan.ToString());
            try
            {
                Commit(plan, desired);
            }
            catch (NftablesException e) when (!e.IsTransient)
            {
                // Refused: perhaps by something changed under us since the generation check. Read and try once more.
                LogRetryAfterRead(Table, e.Message);
                Refresh(forcedBy: "failure");
                plan = NftDiff.Plan(desired, _believed);
                drift = true;
                if (!plan.IsEmpty) Commit(plan, desired);
                else { _believed = desired; _lastDesired = desired; }
            }
            var repaired = drift ? plan.ObjectsChanged : 0;
            if (repaired > 0) DataplaneTelemetry.DriftRepairs.Add(repaired, DataplaneTelemetry.Kind(NftablesTelemetry.Kind));
            return new NftReconcileResult(plan, read, repaired);
        }
    }

    /// <summary>
    /// Makes <see cref="_believed"/> trustworthy: a generation check when it is confirmed, else (or when
    /// <paramref name="forcedBy"/> names a reason) a read of the table. Returns whether it read the table.
    /// </summary>
    private bool Refresh(string? forcedBy)
    {
        var reason = !_everRead ? "start" : forcedBy ?? (_known ? null : "unconfirmed");
        if (reason is null)
        {
            var generation = _nftables.GetGeneration();
            if (generation == _generation) return false;
            var changes = _nftables.ChangesSince(Table, _generation, generation);
            if (changes is { Untouched: true } untouched)
            {
                // Only other tables changed: what we believe still holds at the new generation.
                LogOthersCommitted(Table, untouched.OtherCommits, generation);
                IgnoreOthers(untouched.OtherCommits);
                _generation = generation;
                return false;
            }
            LogGenerationMoved(Table, _generation, generation, changes?.ToString() ?? "no notifications");
            // "generation": nobody listens to notifications; "changed": a transaction touched our table; else why
            // the notifications cannot tell (overflow, gap).
            reason = changes is null ? "generation" : changes.Value.Incomplete ?? "changed";
        }
        NftablesTelemetry.TableReads.Add(1, NftablesTelemetry.Reason(reason));
        _reads[reason] = _reads.GetValueOrDefault(reason) + 1;
        for (var attempt = 1; ; attempt++)
        {
            var before = _nftables.GetGeneration();
            var table = _retry.Execute(() => _nftables.ReadTable(Table));
            var after = _nftables.GetGeneration();
            // A commit while we listed may have been half seen: read again (a few times), else keep it unconfirmed.
            // Commits of others that did not touch our table do not matter.
            var consistent = before == after || _nftables.ChangesSince(Table, before, after) is { Untouched: true };
            if (consistent || attempt == 3)
            {
                _believed = table;
                _generation = consistent ? after : before;
                _known = consistent;
                _everRead = true;
                return true;
            }
        }
    }

    private void IgnoreOthers(int transactions)
    {
        _othersIgnored += transactions;
        NftablesTelemetry.OthersIgnored.Add(transactions);
    }

    private void Commit(NftPlan plan, NftTable? desired)
    {
        var before = _generation;
        var started = Stopwatch.GetTimestamp();
        try
        {
            _retry.Execute(() => _nftables.Apply(plan.Transaction));
        }
        catch
        {
            _known = false;
            throw;
        }
        finally
        {
            NftablesTelemetry.TransactionDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        var after = _nftables.GetGeneration();
        _believed = desired;
        _lastDesired = desired;
        // Our own commit moves the generation by one (none if it changed nothing). A larger move means others
        // committed around us: if the notifications show that exactly one of those transactions touched our table
        // (ours) we still know what it holds; otherwise keep our belief but confirm it by reading on the next call.
        _generation = after;
        _known = after == before || after == NftChangeLog.Next(before);
        if (!_known && _nftables.ChangesSince(Table, before, after) is { Complete: true, TableCommits: 1 } changes)
        {
            _known = true;
            IgnoreOthers(changes.OtherCommits);
        }
        foreach (var operation in plan.Transaction.Operations)
        {
            var objects = operation switch
            {
                NftAddElements add => add.Elements.Count,
                NftDeleteElements delete => delete.Keys.Count,
                _ => 1,
            };
            DataplaneTelemetry.Operations.Add(objects, DataplaneTelemetry.Kind(NftablesTelemetry.Kind), DataplaneTelemetry.Operation(operation.Kind));
        }
        LogApplied(Table, plan.ToString(), Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "nftables table {Table}: {Plan} in {Milliseconds:F2} ms")]
    private partial void LogApplied(NftTableId table, string plan, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nftables table {Table} drifted from what was applied; repairing: {Plan}")]
    private partial void LogDrift(NftTableId table, string plan);

    [LoggerMessage(Level = LogLevel.Information, Message = "nftables table {Table} found at start differs from the desired one: {Plan}")]
    private partial void LogAdopting(NftTableId table, string plan);

    [LoggerMessage(Level = LogLevel.Debug, Message = "nftables table {Table}: ruleset generation moved from {Old} to {New} ({Changes}); reading the table back")]
    private partial void LogGenerationMoved(NftTableId table, uint old, uint @new, string changes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "nftables table {Table}: {Count} transaction(s) of others up to generation {Generation}, none touching our table")]
    private partial void LogOthersCommitted(NftTableId table, int count, uint generation);

    [LoggerMessage(Level = LogLevel.Warning, Message = "nftables table {Table}: transaction refused ({Error}); reading the table back and trying once more")]
    private partial void LogRetryAfterRead(NftTableId table, string error);
}

/// <summary>What one reconciliation did: the plan it committed (null when nothing was there to change), whether it read the table.</summary>
public sealed record NftReconcileResult(NftPlan? Plan, bool ReadKernel, int DriftRepairs)
{
    public static NftReconcileResult Nothing { get; } = new(null, false, 0);

    public int Operations => Plan?.Transaction.Count ?? 0;
}
