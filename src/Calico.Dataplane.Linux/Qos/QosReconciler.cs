using Calico.Dataplane.Linux.Kernel;
using Calico.Netlink;
using Microsoft.Extensions.Logging;
using Polly;

namespace Calico.Dataplane.Linux.Qos;

/// <summary>
/// Owns, on workload taps (names with <c>Dataplane:WorkloadInterfacePrefix</c>) only: the root TBF with handle ca1:,
/// the ingress qdisc it added and its u32 redirect filter at priority 0xca1, and the IFB links named with
/// <c>Dataplane:QosIfbPrefix</c> (kind ifb) with their root qdisc. Never touches another interface's qdiscs or
/// filters, a root qdisc of someone else's on a tap (reported), an ingress qdisc holding others' filters, or any
/// other link. Believe, then verify: it keeps what it believes each tap and IFB holds (read at start, after a resync,
/// and for a tap whose index changed; updated by its own writes), so a steady state costs no kernel call and one
/// port's change costs that port's writes only. A restarted agent reads the kernel and writes only what differs.
/// </summary>
public sealed partial class QosReconciler(INetlink netlink, ITrafficControl tc, QosOptions options, string workloadPrefix,
    ResiliencePipeline retry, ILogger logger)
{
    private readonly Dictionary<string, TapTc> _taps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IfbTc> _ifbs = new(StringComparer.Ordinal);
    private readonly ReportedFailures<string> _reported = new(
        (name, reason) => LogFailed(logger, name, reason), name => LogRecovered(logger, name), StringComparer.Ordinal);
    private readonly HashSet<string> _stale = new(StringComparer.Ordinal);
    /// <summary>Taps whose belief matched this shaping at the last reconcile, with nothing to report: nothing to diff while both stay.</summary>
    private readonly Dictionary<string, TapShaping> _settled = new(StringComparer.Ordinal);
    private bool _known;

    /// <summary>Forget every belief: the next reconcile reads every tap and IFB back (and counts what it repairs as drift).</summary>
    public void Invalidate()
    {
        _known = false;
        _stale.Clear();
        _settled.Clear();
    }

    /// <summary>Forget the belief about these taps (and their IFBs): a link notice named them.</summary>
    public void Forget(IEnumerable<string> taps) => _stale.UnionWith(taps);

    /// <summary>The IFB that shapes what the workload on <paramref name="tap"/> sends.</summary>
    public string IfbName(string tap)
    {
        var suffix = tap.StartsWith(workloadPrefix, StringComparison.Ordinal) ? tap[workloadPrefix.Length..] : tap;
        var name = options.QosIfbPrefix + suffix;
        return name.Length <= 15 ? name : name[..15];
    }

    /// <summary>
    /// Makes every workload tap present hold what <paramref name="desired"/> says (a tap absent from it: nothing of
    /// ours), and removes IFBs of ours whose tap is gone. <paramref name="indexes"/>: the desired taps' indexes as the
    /// interfaces component found them (a tap whose index differs from the belief is read again).
    /// Returns the failures by tap name.
    /// </summary>
    public IReadOnlyDictionary<string, string> Reconcile(IReadOnlyDictionary<string, TapShaping> desired,
        IReadOnlyDictionary<string, int> indexes, bool drift)
    {
        if (!_known) ReadAll();
        foreach (var tap in _stale) ReadTap(tap);
        _stale.Clear();
        foreach (var (tap, index) in indexes)
            if (!_taps.TryGetValue(tap, out var known) || known.Index != index) ReadTap(tap);

        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        var written = 0;
        foreach (var tap in _taps.Keys.ToList())
        {
            var shaping = desired.GetValueOrDefault(tap) ?? TapShaping.None;
            if (_settled.TryGetValue(tap, out var settled) && settled == shaping) continue;
            _settled.Remove(tap);
            var ifbName = IfbName(tap);
            var ops = TcDiff.Operations(tap, shaping, _taps[tap], ifbName, _ifbs.GetValueOrDefault(ifbName), out var failure);
            var (count, writeFailure) = Execute(tap, ops);
            written += count;
            if (writeFailure is not null) failure = failure is null ? writeFailure : $"{failure}; {writeFailure}";
            if (failure is null)
            {
                _reported.Recovered(tap);
                _settled[tap] = shaping;
            }
            else
            {
                failures[tap] = failure;
                _reported.Failed(tap, failure);
            }
        }
        // IFBs whose tap is gone: the link went with the workload, the IFB has nothing left to shape.
        var wanted = _taps.Keys.Select(IfbName).ToHashSet(StringComparer.Ordinal);
        foreach (var ifb in _ifbs.Keys.Where(name => !wanted.Contains(name)).ToList())
            written += Execute(ifb, [new TcOperation(TcOperationKind.DeleteIfb, ifb)]).Written;
        foreach (var tap in _reported.Failing.Where(t => !_taps.ContainsKey(t))) _reported.Recovered(tap);
        DataplaneTelemetry.Count("qos", "write", written, drift);
        return failures;
    }

    /// <summary>What <see cref="Reconcile"/> would write, read from the kernel afresh; writes nothing.</summary>
    public IReadOnlyList<TcOperation> Plan(IReadOnlyDictionary<string, TapShaping> desired)
    {
        var (taps, ifbs) = ReadKernel();
        var ops = new List<TcOperation>();
        foreach (var (tap, state) in taps)
        {
            var ifbName = IfbName(tap);
            ops.AddRange(TcDiff.Operations(tap, desired.GetValueOrDefault(tap) ?? TapShaping.None, state, ifbName,
                ifbs.GetValueOrDefault(ifbName), out _));
        }
        var wanted = taps.Keys.Select(IfbName).ToHashSet(StringComparer.Ordinal);
        foreach (var ifb in ifbs.Keys.Where(name => !wanted.Contains(name)))
            ops.Add(new TcOperation(TcOperationKind.DeleteIfb, ifb));
        return ops;
    }

    /// <summary>
    /// Runs the operations in order, updating the belief with each. The first failure stops them and marks the tap to be
    /// read again at the next reconcile (what the kernel holds after a failed write is not known).
    /// </summary>
    private (int Written, string? Failure) Execute(string tap, List<TcOperation> ops)
    {
        var done = 0;
        foreach (var op in ops)
        {
            try
            {
                retry.Execute(() => Write(op));
                done++;
            }
            catch (NetlinkException e)
            {
                DataplaneTelemetry.Failures.Add(1, DataplaneTelemetry.Kind("qos"));
                // (An IFB left over is no tap: its belief stays, and its removal is tried again next time.)
                if (_taps.ContainsKey(tap)) _stale.Add(tap);
                return (done, $"QoS: {e.Message}");
            }
        }
        return (done, null);
    }

    private void Write(TcOperation op)
    {
        switch (op.Kind)
        {
            case TcOperationKind.AddIfb:
                tc.AddLink(op.Device, "ifb", up: true);
                var link = netlink.GetLink(op.Device) ?? throw new NetlinkException($"get link {op.Device}", Errno.ENODEV, "created but not found");
                _ifbs[op.Device] = new IfbTc(op.Device, link.Index, link.IsUp, null);
                break;
            case TcOperationKind.SetIfbUp:
                netlink.SetLinkUp(_ifbs[op.Device].Index);
                _ifbs[op.Device] = _ifbs[op.Device] with { Up = true };
                break;
            case TcOperationKind.SetBucket when _ifbs.TryGetValue(op.Device, out var ifb):
                var ifbRoot = Qdisc.RootTokenBucket(ifb.Index, TcDiff.Handle, op.Bucket!);
                tc.ReplaceQdisc(ifbRoot);
                _ifbs[op.Device] = ifb with { Root = ifbRoot };
                break;
            case TcOperationKind.SetBucket:
                var tapRoot = Qdisc.RootTokenBucket(_taps[op.Device].Index, TcDiff.Handle, op.Bucket!);
                tc.ReplaceQdisc(tapRoot);
                _taps[op.Device] = _taps[op.Device] with { Root = tapRoot };
                break;
            case TcOperationKind.AddIngress:
                tc.AddQdisc(Qdisc.IngressQdisc(_taps[op.Device].Index));
                _taps[op.Device] = _taps[op.Device] with { HasIngress = true };
                break;
            case TcOperationKind.AddRedirect:
                var tap = _taps[op.Device];
                var target = _ifbs[op.Target!].Index;
                tc.AddRedirectFilter(new RedirectFilter(tap.Index, TcHandle.IngressQdisc, TcDiff.Priority, target));
                _taps[op.Device] = tap with { Redirect = new TcFilter(tap.Index, TcHandle.IngressQdisc, TcDiff.Priority, "u32", 0, target) };
                break;
            case TcOperationKind.DeleteRedirect:
                tc.DeleteFilters(_taps[op.Device].Index, TcHandle.IngressQdisc, TcDiff.Priority);
                _taps[op.Device] = _taps[op.Device] with { Redirect = null };
                break;
            case TcOperationKind.DeleteIngress:
                tc.DeleteQdisc(Qdisc.IngressQdisc(_taps[op.Device].Index));
                _taps[op.Device] = _taps[op.Device] with { HasIngress = false };
                break;
            case TcOperationKind.DeleteBucket:
                tc.DeleteQdisc(new Qdisc(_taps[op.Device].Index, TcDiff.Handle, TcHandle.Root, "tbf"));
                _taps[op.Device] = _taps[op.Device] with { Root = null };
                break;
            case TcOperationKind.DeleteIfb:
                netlink.DeleteLink(_ifbs[op.Device].Index);
                _ifbs.Remove(op.Device);
                break;
        }
    }

    private void ReadAll()
    {
        _settled.Clear();
        var (taps, ifbs) = ReadKernel();
        _taps.Clear();
        _ifbs.Clear();
        foreach (var (name, state) in taps) _taps[name] = state;
        foreach (var (name, state) in ifbs) _ifbs[name] = state;
        _known = true;
    }

    /// <summary>Every workload tap's and IFB's state: one link listing, one qdisc dump, one filter dump per tap with an ingress qdisc.</summary>
    private (Dictionary<string, TapTc> Taps, Dictionary<string, IfbTc> Ifbs) ReadKernel()
    {
        var links = retry.Execute(netlink.ListLinks);
        var qdiscs = retry.Execute(() => tc.ListQdiscs()).ToLookup(q => q.InterfaceIndex);
        var taps = new Dictionary<string, TapTc>(StringComparer.Ordinal);
        var ifbs = new Dictionary<string, IfbTc>(StringComparer.Ordinal);
        foreach (var link in links)
        {
            if (IsOurIfb(link)) ifbs[link.Name] = new IfbTc(link.Name, link.Index, link.IsUp, qdiscs[link.Index].FirstOrDefault(q => q.Parent == TcHandle.Root));
            else if (link.Name.StartsWith(workloadPrefix, StringComparison.Ordinal)) taps[link.Name] = TapState(link.Index, qdiscs[link.Index]);
        }
        return (taps, ifbs);
    }

    /// <summary>One tap (gone: forgotten) and its IFB, read with dumps filtered to them.</summary>
    private void ReadTap(string name)
    {
        _taps.Remove(name);
        _settled.Remove(name);
        var ifbName = IfbName(name);
        _ifbs.Remove(ifbName);
        if (retry.Execute(() => netlink.GetLink(name)) is { } link) _taps[name] = TapState(link.Index, retry.Execute(() => tc.ListQdiscs(link.Index)));
        if (retry.Execute(() => netlink.GetLink(ifbName)) is { } ifb && IsOurIfb(ifb))
            _ifbs[ifbName] = new IfbTc(ifbName, ifb.Index, ifb.IsUp, retry.Execute(() => tc.ListQdiscs(ifb.Index)).FirstOrDefault(q => q.Parent == TcHandle.Root));
    }

    private TapTc TapState(int index, IEnumerable<Qdisc> qdiscs)
    {
        var list = qdiscs.ToList();
        var root = list.FirstOrDefault(q => q.Parent == TcHandle.Root);
        var hasIngress = list.Any(q => q.Parent == TcHandle.Ingress);
        var filters = hasIngress ? retry.Execute(() => tc.ListFilters(index, TcHandle.IngressQdisc)) : [];
        var redirect = filters.FirstOrDefault(f => f is { Priority: TcDiff.Priority, Kind: "u32", RedirectTargetIndex: not 0 });
        return new TapTc(index, root, hasIngress, redirect, filters.Any(f => f.Priority != TcDiff.Priority));
    }

    private bool IsOurIfb(Link link) => link.Kind == "ifb" && link.Name.StartsWith(options.QosIfbPrefix, StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "QoS on {Interface} is not (fully) applied: {Reason}")]
    private static partial void LogFailed(ILogger logger, string @interface, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "QoS on {Interface} is applied again")]
    private static partial void LogRecovered(ILogger logger, string @interface);
}
