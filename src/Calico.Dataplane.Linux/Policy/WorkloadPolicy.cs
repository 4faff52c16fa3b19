using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Model.Desired;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace Calico.Dataplane.Linux.Policy;

/// <summary>
/// Workload policy, anti-spoofing and NAT on one host: the <see cref="PolicyCompiler"/> turns the desired state into
/// a table, the <see cref="NftablesReconciler"/> makes the kernel hold it.
/// Owns: the nftables table <c>inet calico</c> and everything in it (through the reconciler), nothing else.
/// Never touches: any other table, the ruleset as a whole, routes, links, sysctls.
/// <para>
/// A change (not a snapshot) is compiled incrementally, so one endpoint, rule or member costs one small transaction
/// whatever the host holds. A snapshot, or the first call after a failure, compiles from scratch. Calls are
/// serialised by the caller (the driver's gate).
/// </para>
/// </summary>
public sealed class WorkloadPolicy
{
    private readonly INftables _nftables;
    private readonly NftablesReconciler _reconciler;
    private readonly ILogger _logger;
    private bool _compiled;

    public WorkloadPolicy(INftables nftables, PolicySettings settings, ResiliencePipeline? retry = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(nftables);
        _nftables = nftables;
        Compiler = new PolicyCompiler(settings);
        _logger = logger ?? NullLogger.Instance;
        _reconciler = new NftablesReconciler(nftables, PolicyNames.Table, retry, _logger);
    }

    public PolicyCompiler Compiler { get; }

    /// <summary>The error of the last apply, when it failed (every endpoint's policy is then in doubt).</summary>
    public string? Failure { get; private set; }

    /// <summary>
    /// Makes the table hold what <paramref name="desired"/> compiles to. With <paramref name="changes"/> relative to the
    /// previous call (and not a snapshot), only those are compiled. Throws when the kernel refuses the table.
    /// </summary>
    public NftReconcileResult Apply(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, IReadOnlyList<DesiredChange>? changes = null, bool isSnapshot = true)
    {
        ArgumentNullException.ThrowIfNull(desired);
        try
        {
            if (isSnapshot || changes is null || !_compiled) Compiler.Reset(desired.Values.Where(i => PolicyCompiler.Concerns(i.Key.Kind)));
            else Compiler.Apply(changes.Where(c => PolicyCompiler.Concerns(c.Key.Kind)));
            _compiled = true;
            var result = _reconciler.Apply(Compiler.Table);
            Failure = null;
            return result;
        }
        catch (Exception e) when (e is NftablesException or ArgumentException or InvalidOperationException or KeyNotFoundException)
        {
            // The compiler's state may be half-way: the next call starts from scratch.
            _compiled = false;
            Failure = e.Message;
            throw;
        }
    }

    /// <summary>
    /// Checks the kernel against the last table (a generation check; a read-back and repair if someone else
    /// committed), or redoes the last failed apply from scratch.
    /// </summary>
    public NftReconcileResult Resync(IReadOnlyDictionary<DesiredKey, DesiredItem> desired, bool readKernel = false)
    {
        if (!_compiled) return Apply(desired);
        try
        {
            var result = _reconciler.Resync(readKernel);
            Failure = null;
            return result;
        }
        catch (NftablesException e)
        {
            Failure = e.Message;
            throw;
        }
    }

    /// <summary>Why this endpoint's policy is not what its groups say, or null when it is.</summary>
    public string? ProblemOf(WorkloadInterfaceItem endpoint) =>
        Failure is { } failure ? "policy not programmed: " + failure : Compiler.ProblemOf(endpoint);

    /// <summary>
    /// What applying <paramref name="desired"/> would do to our table, one nft command a line, read from the kernel;
    /// nothing is written and this instance's state is left as it was.
    /// </summary>
    public IEnumerable<string> Plan(IReadOnlyDictionary<DesiredKey, DesiredItem> desired)
    {
        var table = PolicyCompiler.Compile(desired.Values, Compiler.Settings);
        var plan = NftDiff.Plan(table, _nftables.ReadTable(PolicyNames.Table));
        return plan.Transaction.Operations.Select(o => "nft " + o);
    }

    /// <summary>Deletes our table (and only it).</summary>
    public NftReconcileResult Remove()
    {
        _compiled = false;
        return _reconciler.Remove();
    }
}
