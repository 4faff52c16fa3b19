using System.Net;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;
using Calico.Netlink;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>
/// Element-only transactions written as our own nfnetlink batch give exactly what libnftables gives: the same
/// elements, the same refusals, the same all-or-nothing commit, one generation step.
/// </summary>
public sealed class NativeElementsKernelTests : IDisposable
{
    private static readonly NftTableId Calico = NftablesReconciler.DefaultTable;
    private static readonly NftSetType V4 = new(NftDataType.Ipv4Address);
    private static readonly NftSetType V6 = new(NftDataType.Ipv6Address);
    private static readonly NftSetType Names = new(NftDataType.InterfaceName);
    private static readonly NftSetType Dispatch = new(NftDataType.InterfaceName, NftDataType.Verdict);

    private readonly NftNamespace _native = new();
    private readonly NftNamespace _nft = new();
    private readonly NftablesKernel _viaNft;

    public NativeElementsKernelTests()
    {
        _viaNft = new NftablesKernel(_nft.Kernel.Context, useNativeElements: false);
        var setup = new NftTransaction()
            .Add(new NftAddTable(Calico))
            .Add(new NftAddSet(Calico, "v4", V4))
            .Add(new NftAddSet(Calico, "v6", V6))
            .Add(new NftAddSet(Calico, "names", Names))
            .Add(new NftAddSet(Calico, "dispatch", Dispatch))
            .Add(new NftAddChain(Calico, "cali-a", null))
            .Add(new NftAddChain(Calico, "cali-b", null));
        _native.Kernel.Apply(setup);
        _viaNft.Apply(setup);
    }

    public void Dispose()
    {
        _native.Dispose();
        _nft.Dispose();
    }

    private void ApplyBoth(NftTransaction transaction)
    {
        var before = _native.Kernel.Context.NativeBatches;
        _native.Kernel.Apply(transaction);
        _viaNft.Apply(transaction);
        Assert.Equal(before + 1, _native.Kernel.Context.NativeBatches);
        Assert.Equal(_viaNft.ReadTable(Calico), _native.Kernel.ReadTable(Calico));
    }

    [Fact]
    public void Every_key_and_verdict_type_reads_back_as_libnftables_wrote_it()
    {
        ApplyBoth(new NftTransaction()
            .Add(new NftAddElements(Calico, "v4", [Element("10.65.0.1"), Element("192.0.2.255")]) { SetType = V4 })
            .Add(new NftAddElements(Calico, "v6", [Element("fd00::1"), Element("::ffff:1.2.3.4")]) { SetType = V6 })
            .Add(new NftAddElements(Calico, "names", [new NftElement(new NftInterfaceName("tap0123456789a")), new NftElement(new NftInterfaceName("e"))]) { SetType = Names })
            .Add(new NftAddElements(Calico, "dispatch",
            [
                Verdict("tap1", NftVerdict.Jump("cali-a")), Verdict("tap2", NftVerdict.Goto("cali-b")), Verdict("tap3", NftVerdict.Accept),
                Verdict("tap4", NftVerdict.Drop), Verdict("tap5", NftVerdict.Return), Verdict("tap6", NftVerdict.Continue),
            ]) { SetType = Dispatch }));

        ApplyBoth(new NftTransaction()
            .Add(new NftDeleteElements(Calico, "v4", [new NftAddress(IPAddress.Parse("10.65.0.1"))]) { SetType = V4 })
            .Add(new NftDeleteElements(Calico, "dispatch", [new NftInterfaceName("tap1")]) { SetType = Dispatch })
            .Add(new NftAddElements(Calico, "dispatch", [Verdict("tap1", NftVerdict.Drop)]) { SetType = Dispatch }));

        var table = _native.Kernel.ReadTable(Calico)!;
        Assert.Equal(NftVerdict.Drop, table.Sets["dispatch"].Elements.Single(e => e.Key == new NftInterfaceName("tap1")).Value);
        Assert.Contains("\"tap0123456789a\"", _native.Nft("list", "set", "inet", "calico", "names"));
    }

    [Fact]
    public void A_refused_batch_applies_nothing_and_names_the_refused_operation()
    {
        ApplyBoth(new NftTransaction().Add(new NftAddElements(Calico, "dispatch", [Verdict("tap1", NftVerdict.Accept)]) { SetType = Dispatch }));
        var generation = _native.Kernel.GetGeneration();
        var before = _native.Kernel.ReadTable(Calico);

        (NftTransaction Transaction, int Errno)[] refusals =
        [
            (new NftTransaction()
                .Add(new NftAddElements(Calico, "v4", [Element("10.0.0.1")]) { SetType = V4 })
                .Add(new NftAddElements(Calico, "dispatch", [Verdict("tap1", NftVerdict.Drop)]) { SetType = Dispatch }), Errno.EEXIST),
            (new NftTransaction()
                .Add(new NftAddElements(Calico, "v4", [Element("10.0.0.1")]) { SetType = V4 })
                .Add(new NftDeleteElements(Calico, "v4", [new NftAddress(IPAddress.Parse("10.9.9.9"))]) { SetType = V4 }), Errno.ENOENT),
            (new NftTransaction().Add(new NftAddElements(Calico, "dispatch", [Verdict("tap9", NftVerdict.Jump("nosuch"))]) { SetType = Dispatch }), Errno.ENOENT),
            (new NftTransaction().Add(new NftAddElements(Calico, "nosuch", [Element("10.0.0.1")]) { SetType = V4 }), Errno.ENOENT),
        ];

        foreach (var (transaction, errno) in refusals)
        {
            var ex = Assert.Throws<NftablesException>(() => _native.Kernel.Apply(transaction));
            Assert.True(errno == ex.Errno, $"expected {Errno.Name(errno)}, got {ex.ErrnoName}: {ex.Message}");
            Assert.Contains("element inet calico", ex.ErrorText);
            var viaNft = Assert.Throws<NftablesException>(() => _viaNft.Apply(transaction));
            Assert.Equal(ex.Errno, viaNft.Errno);
        }

        Assert.Equal(generation, _native.Kernel.GetGeneration());
        Assert.Equal(before, _native.Kernel.ReadTable(Calico));
    }

    [Fact]
    public void A_committed_batch_moves_the_generation_by_one()
    {
        var generation = _native.Kernel.GetGeneration();

        _native.Kernel.Apply(new NftTransaction()
            .Add(new NftAddElements(Calico, "v4", [Element("10.0.0.1")]) { SetType = V4 })
            .Add(new NftAddElements(Calico, "v6", [Element("fd00::9")]) { SetType = V6 }));

        Assert.Equal(generation + 1, _native.Kernel.GetGeneration());
    }

    [Fact]
    public void Interval_sets_and_unknown_declarations_go_through_libnftables()
    {
        var interval = new NftSetType(NftDataType.Ipv4Address, interval: true);
        _native.Kernel.Apply(new NftTransaction().Add(new NftAddSet(Calico, "prefixes", interval)));
        var before = _native.Kernel.Context.NativeBatches;

        _native.Kernel.Apply(new NftTransaction().Add(new NftAddElements(Calico, "prefixes", [Element("10.0.0.1")]) { SetType = interval }));
        _native.Kernel.Apply(new NftTransaction().Add(new NftAddElements(Calico, "v4", [Element("10.0.0.2")])));

        Assert.Equal(before, _native.Kernel.Context.NativeBatches);
        Assert.Single(_native.Kernel.ReadTable(Calico)!.Sets["prefixes"].Elements);
    }

    private static NftElement Element(string address) => new(new NftAddress(IPAddress.Parse(address)));

    private static NftElement Verdict(string name, NftVerdict verdict) => new(new NftInterfaceName(name), verdict);
}
