using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Netlink;

/// <summary>Our qdisc and filter messages against the kernel, cross-checked with `tc` (never used by the code itself).</summary>
public sealed class TrafficControlKernelTests : IDisposable
{
    private static readonly uint Ours = TcHandle.Make(0xca1, 0);
    private readonly RoutingNamespace _ns = new();

    private NetlinkRouteClient Client => _ns.Client;

    public void Dispose() => _ns.Dispose();

    [Fact]
    public void A_root_token_bucket_is_created_read_back_changed_in_place_and_deleted()
    {
        var first = new TokenBucket(1_250_000, 100_000, 162_500);
        Client.ReplaceQdisc(Qdisc.RootTokenBucket(_ns.Veth0, Ours, first));

        var listed = Assert.Single(Client.ListQdiscs(_ns.Veth0), q => q.Parent == TcHandle.Root);
        Assert.Equal(("tbf", Ours), (listed.Kind, listed.Handle));
        Assert.Equal(first.RateBytesPerSecond, listed.TokenBucket!.RateBytesPerSecond);
        Assert.Equal(first.LimitBytes, listed.TokenBucket.LimitBytes);
        Assert.InRange(listed.TokenBucket.BurstBytes, 99_900u, 100_100u);
        var shown = _ns.Namespace.Exec("tc", "qdisc", "show", "dev", "veth0");
        Assert.Contains("qdisc tbf ca1: root", shown);
        Assert.Contains("rate 10Mbit", shown);

        var second = new TokenBucket(6_000_000_000, 4_000_000, 300_000_000);
        Client.ReplaceQdisc(Qdisc.RootTokenBucket(_ns.Veth0, Ours, second));
        var changed = Assert.Single(Client.ListQdiscs(_ns.Veth0), q => q.Parent == TcHandle.Root);
        Assert.Equal(Ours, changed.Handle);
        Assert.Equal(second.RateBytesPerSecond, changed.TokenBucket!.RateBytesPerSecond);
        Assert.Contains("rate 48Gbit", _ns.Namespace.Exec("tc", "qdisc", "show", "dev", "veth0"));

        Client.DeleteQdisc(Qdisc.RootTokenBucket(_ns.Veth0, Ours, second));
        Assert.DoesNotContain(Client.ListQdiscs(_ns.Veth0), q => q.Kind == "tbf");
        var error = Assert.Throws<NetlinkException>(() => Client.DeleteQdisc(Qdisc.RootTokenBucket(_ns.Veth0, Ours, second)));
        Assert.StartsWith("delete qdisc tbf ca1: dev veth0 root:", error.Message);
    }

    [Fact]
    public void An_ingress_qdisc_and_a_match_all_filter_redirecting_to_an_ifb_device()
    {
        Client.AddLink("ifbtest0", "ifb", up: true);
        var ifb = Client.GetLink("ifbtest0")!;
        Assert.Equal("ifb", ifb.Kind);
        Assert.True(ifb.IsUp);

        Client.AddQdisc(Qdisc.IngressQdisc(_ns.Veth0));
        Assert.Equal(Errno.EEXIST, Assert.Throws<NetlinkException>(() => Client.AddQdisc(Qdisc.IngressQdisc(_ns.Veth0))).Errno);
        Client.AddRedirectFilter(new RedirectFilter(_ns.Veth0, TcHandle.IngressQdisc, 0xca1, ifb.Index));

        var filters = Client.ListFilters(_ns.Veth0, TcHandle.IngressQdisc);
        var redirect = Assert.Single(filters, f => f.RedirectTargetIndex != 0);
        Assert.Equal(("u32", (ushort)0xca1, ifb.Index), (redirect.Kind, redirect.Priority, redirect.RedirectTargetIndex));
        var shown = _ns.Namespace.Exec("tc", "filter", "show", "dev", "veth0", "ingress");
        Assert.Contains("pref 3233 u32", shown);
        Assert.Contains("Egress Redirect to device ifbtest0", shown);

        Client.DeleteFilters(_ns.Veth0, TcHandle.IngressQdisc, 0xca1);
        Assert.Empty(Client.ListFilters(_ns.Veth0, TcHandle.IngressQdisc));
        Client.DeleteQdisc(Qdisc.IngressQdisc(_ns.Veth0));
        Assert.DoesNotContain(Client.ListQdiscs(_ns.Veth0), q => q.Kind == "ingress");
    }
}
