using Calico.Netlink;

namespace Calico.Dataplane.Linux.Qos;

/// <summary>What the kernel holds on one workload tap that concerns QoS: its root qdisc, its ingress qdisc and filters.</summary>
/// <param name="Redirect">Our redirect filter (u32 at <see cref="TcDiff.Priority"/>), if there is one.</param>
/// <param name="OtherIngressFilters">Filters under the ingress qdisc that are not ours: then the qdisc is never removed.</param>
public sealed record TapTc(int Index, Qdisc? Root, bool HasIngress, TcFilter? Redirect, bool OtherIngressFilters);

/// <summary>One of our IFB devices: its state and root qdisc.</summary>
public sealed record IfbTc(string Name, int Index, bool Up, Qdisc? Root);

public enum TcOperationKind { AddIfb, SetIfbUp, SetBucket, AddIngress, AddRedirect, DeleteRedirect, DeleteIngress, DeleteBucket, DeleteIfb }

/// <summary>One tc write; <paramref name="Device"/> is a tap or one of our IFBs, <paramref name="Target"/> the IFB a redirect sends to.</summary>
/// <param name="InPlace">A <see cref="TcOperationKind.SetBucket"/> that changes our TBF's parameters rather than creating it.</param>
public sealed record TcOperation(TcOperationKind Kind, string Device, TokenBucket? Bucket = null, string? Target = null, bool InPlace = false)
{
    public override string ToString() => Kind switch
    {
        TcOperationKind.AddIfb => $"add    link {Device} type ifb up",
        TcOperationKind.SetIfbUp => $"change link {Device} up",
        TcOperationKind.SetBucket => $"{(InPlace ? "change" : "add   ")} qdisc {Bucket} root handle {TcHandle.Format(TcDiff.Handle)} dev {Device}",
        TcOperationKind.AddIngress => $"add    qdisc ingress dev {Device}",
        TcOperationKind.AddRedirect => $"add    filter dev {Device} ingress prio {TcDiff.Priority} u32 match all action mirred egress redirect dev {Target}",
        TcOperationKind.DeleteRedirect => $"remove filter dev {Device} ingress prio {TcDiff.Priority}",
        TcOperationKind.DeleteIngress => $"remove qdisc ingress dev {Device}",
        TcOperationKind.DeleteBucket => $"remove qdisc tbf root handle {TcHandle.Format(TcDiff.Handle)} dev {Device}",
        _ => $"remove link {Device} type ifb",
    };
}

/// <summary>
/// The writes that take one tap (and its IFB) from what the kernel holds to what its QoS needs: a pure function,
/// ordered so every step is valid and traffic is never redirected to an IFB that does not shape yet (IFB, its TBF,
/// ingress qdisc, redirect; removal the other way round). A TBF of ours is changed in place. Never touched: a root
/// qdisc that is not ours nor the kernel's default (reported instead), and an ingress qdisc that does not hold our
/// filter or holds others' too (an empty one left by a failed removal stays: it does nothing).
/// </summary>
public static class TcDiff
{
    /// <summary>ca1: — the handle of our TBFs; a root qdisc with another non-zero handle is someone else's.</summary>
    public static readonly uint Handle = TcHandle.Make(0xca1, 0);

    /// <summary>The priority of our redirect filter under a tap's ingress qdisc.</summary>
    public const ushort Priority = 0xca1;

    public static bool IsOurs(Qdisc? qdisc) => qdisc is { Kind: "tbf", Handle: var h } && h == Handle;

    /// <summary>Equal up to the kernel's rounding of the burst (it keeps a time, in 64 ns ticks, not bytes).</summary>
    public static bool Matches(TokenBucket? actual, TokenBucket desired) =>
        actual is not null && actual.RateBytesPerSecond == desired.RateBytesPerSecond && actual.LimitBytes == desired.LimitBytes
        && Math.Abs((long)actual.BurstBytes - desired.BurstBytes) <= desired.BurstBytes / 100 + 64;

    /// <param name="tap">Null: the tap is not there (its qdiscs went with it); only its IFB may be left to remove.</param>
    /// <param name="failure">Why part of the QoS cannot be applied (a foreign root qdisc); the rest is still planned.</param>
    public static List<TcOperation> Operations(string tapName, TapShaping desired, TapTc? tap, string ifbName, IfbTc? ifb,
        out string? failure)
    {
        failure = null;
        var ops = new List<TcOperation>();
        if (tap is not null)
        {
            var root = tap.Root;
            if (desired.ToWorkload is { } to)
            {
                if (root is { Handle: not 0 } && !IsOurs(root))
                    failure = $"QoS: the root qdisc {root.Kind} {TcHandle.Format(root.Handle)} of {tapName} is not ours; the limit towards the workload is not applied";
                else if (!IsOurs(root) || !Matches(root!.TokenBucket, to))
                    ops.Add(new TcOperation(TcOperationKind.SetBucket, tapName, to, InPlace: IsOurs(root)));
            }
            else if (IsOurs(root)) ops.Add(new TcOperation(TcOperationKind.DeleteBucket, tapName));
        }

        if (desired.FromWorkload is { } from && tap is not null)
        {
            if (ifb is null) ops.Add(new TcOperation(TcOperationKind.AddIfb, ifbName));
            else if (!ifb.Up) ops.Add(new TcOperation(TcOperationKind.SetIfbUp, ifbName));
            if (!IsOurs(ifb?.Root) || !Matches(ifb!.Root!.TokenBucket, from))
                ops.Add(new TcOperation(TcOperationKind.SetBucket, ifbName, from, InPlace: IsOurs(ifb?.Root)));
            if (!tap.HasIngress) ops.Add(new TcOperation(TcOperationKind.AddIngress, tapName));
            if (ifb is null || tap.Redirect?.RedirectTargetIndex != ifb.Index)
            {
                if (tap.Redirect is not null) ops.Add(new TcOperation(TcOperationKind.DeleteRedirect, tapName));
                ops.Add(new TcOperation(TcOperationKind.AddRedirect, tapName, Target: ifbName));
            }
        }
        else
        {
            if (tap?.Redirect is not null) ops.Add(new TcOperation(TcOperationKind.DeleteRedirect, tapName));
            if (tap is { HasIngress: true, Redirect: not null, OtherIngressFilters: false }) ops.Add(new TcOperation(TcOperationKind.DeleteIngress, tapName));
            if (ifb is not null) ops.Add(new TcOperation(TcOperationKind.DeleteIfb, ifbName));
        }
        return ops;
    }
}
