using System.Net;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;

namespace Calico.Dataplane.Linux.Tests.Nftables;

/// <summary>
/// A table shaped like the policy dataplane: static base chains that dispatch by interface name through two verdict
/// maps, and per endpoint a from-workload and a to-workload chain plus a set of its addresses (anti-spoofing).
/// </summary>
internal static class SampleTables
{
    public const string FromWorkloads = "cali-from-wl";
    public const string ToWorkloads = "cali-to-wl";

    public static NftTable Empty(NftTableId? id = null)
    {
        var table = new NftTable(id ?? NftablesReconciler.DefaultTable);
        var dispatch = new NftChain("filter-forward", new NftBaseChain(NftChainType.Filter, NftHook.Forward, 0),
            new NftRule(new NftConnectionStateMatch(NftConnectionStates.Established | NftConnectionStates.Related), new NftVerdictStatement(NftVerdict.Accept)),
            new NftRule(new NftVerdictMapStatement(NftSelector.InputInterfaceName, FromWorkloads)),
            new NftRule(new NftVerdictMapStatement(NftSelector.OutputInterfaceName, ToWorkloads)),
            new NftRule([NftValueMatch.InterfaceName(NftSelector.InputInterfaceName, "tap*"), new NftCounter(), new NftVerdictStatement(NftVerdict.Drop)], "unknown workload"));
        return table
            .WithSet(NftSet.VerdictMap(FromWorkloads, NftDataType.InterfaceName, []))
            .WithSet(NftSet.VerdictMap(ToWorkloads, NftDataType.InterfaceName, []))
            .WithChain(dispatch);
    }

    public static string Interface(int endpoint) => $"tap{endpoint:x11}";

    public static IPAddress Address(int endpoint) => new([10, 65, (byte)(endpoint >> 8), (byte)endpoint]);

    /// <summary>Adds endpoint <paramref name="endpoint"/>: two chains, one set, one element in each map.</summary>
    public static NftTable WithEndpoint(this NftTable table, int endpoint)
    {
        var tap = Interface(endpoint);
        var addresses = $"cali-ep-{tap}";
        var from = new NftChain($"cali-fw-{tap}", null,
            new NftRule(new NftSetMatch(NftSelector.Ipv4Source, addresses, negate: true), new NftVerdictStatement(NftVerdict.Drop)),
            new NftRule(new NftPortMatch(17, NftPortField.Destination, [67]), new NftVerdictStatement(NftVerdict.Accept)),
            new NftRule(new NftVerdictStatement(NftVerdict.Accept)));
        var to = new NftChain($"cali-tw-{tap}", null,
            new NftRule(new NftPortMatch(6, NftPortField.Destination, [22, new NftPortRange(8000, 8080)]), new NftVerdictStatement(NftVerdict.Accept)),
            new NftRule(new NftValueMatch(NftSelector.Ipv4Source, NftAddress.Parse("10.65.0.0/16")), new NftVerdictStatement(NftVerdict.Accept)),
            new NftRule(new NftVerdictStatement(NftVerdict.Drop)));
        var key = new NftInterfaceName(tap);
        return table
            .WithSet(NftSet.Addresses(addresses, NftDataType.Ipv4Address, [new NftAddress(Address(endpoint))]))
            .WithChain(from)
            .WithChain(to)
            .WithElement(FromWorkloads, new NftElement(key, NftVerdict.Jump(from.Name)))
            .WithElement(ToWorkloads, new NftElement(key, NftVerdict.Jump(to.Name)));
    }

    public static NftTable WithoutEndpoint(this NftTable table, int endpoint)
    {
        var tap = Interface(endpoint);
        var key = new NftInterfaceName(tap);
        return table
            .WithoutElement(FromWorkloads, key)
            .WithoutElement(ToWorkloads, key)
            .WithoutChain($"cali-fw-{tap}")
            .WithoutChain($"cali-tw-{tap}")
            .WithoutSet($"cali-ep-{tap}");
    }

    public static NftTable WithEndpoints(this NftTable table, IEnumerable<int> endpoints) =>
        endpoints.Aggregate(table, (t, e) => t.WithEndpoint(e));

    /// <summary>Whether the kernel (as read back) holds exactly <paramref name="desired"/>: same chains, hashes, sets, elements.</summary>
    public static void AssertHolds(NftTable desired, NftTable? kernel)
    {
        Assert.NotNull(kernel);
        Assert.Equal(desired.Chains.Keys, kernel.Chains.Keys);
        foreach (var (name, chain) in desired.Chains)
        {
            Assert.Equal(chain.Base, kernel.Chains[name].Base);
            Assert.Equal(chain.RuleHashes, kernel.Chains[name].RuleHashes);
        }
        Assert.Equal(desired.Sets.Keys, kernel.Sets.Keys);
        foreach (var (name, set) in desired.Sets)
        {
            Assert.Equal(set.Type, kernel.Sets[name].Type);
            Assert.Equal(set.Elements, kernel.Sets[name].Elements);
        }
    }
}
