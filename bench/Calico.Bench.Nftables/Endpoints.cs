using System.Net;
using Calico.Dataplane.Linux.Nftables;
using Calico.Nftables;

namespace Calico.Bench.Nftables;

/// <summary>
/// The policy dataplane's shape: static base chains dispatching by interface name through two verdict maps, and per
/// endpoint a from-workload chain, a to-workload chain and a set of its addresses.
/// </summary>
internal static class Endpoints
{
    private const string FromWorkloads = "cali-from-wl";
    private const string ToWorkloads = "cali-to-wl";

    public static NftTable Base()
    {
        var dispatch = new NftChain("filter-forward", new NftBaseChain(NftChainType.Filter, NftHook.Forward, 0),
            new NftRule(new NftConnectionStateMatch(NftConnectionStates.Established | NftConnectionStates.Related), new NftVerdictStatement(NftVerdict.Accept)),
            new NftRule(new NftVerdictMapStatement(NftSelector.InputInterfaceName, FromWorkloads)),
            new NftRule(new NftVerdictMapStatement(NftSelector.OutputInterfaceName, ToWorkloads)),
            new NftRule(NftValueMatch.InterfaceName(NftSelector.InputInterfaceName, "tap*"), new NftVerdictStatement(NftVerdict.Drop)));
        return new NftTable(NftablesReconciler.DefaultTable)
            .WithSet(NftSet.VerdictMap(FromWorkloads, NftDataType.InterfaceName, []))
            .WithSet(NftSet.VerdictMap(ToWorkloads, NftDataType.InterfaceName, []))
            .WithChain(dispatch);
    }

    public static string Interface(int endpoint) => $"tap{endpoint:x11}";

    public static IPAddress Address(int endpoint) => new([10, 65, (byte)(endpoint >> 8), (byte)endpoint]);

    public static string AddressSet(int endpoint) => $"cali-ep-{Interface(endpoint)}";

    public static NftTable WithEndpoint(this NftTable table, int endpoint)
    {
        var tap = Interface(endpoint);
        var from = new NftChain($"cali-fw-{tap}", null,
            new NftRule(new NftSetMatch(NftSelector.Ipv4Source, AddressSet(endpoint), negate: true), new NftVerdictStatement(NftVerdict.Drop)),
            new NftRule(new NftPortMatch(17, NftPortField.Destination, [67]), new NftVerdictStatement(NftVerdict.Accept)),
            new NftRule(new NftVerdictStatement(NftVerdict.Accept)));
        var to = new NftChain($"cali-tw-{tap}", null,
            new NftRule(new NftPortMatch(6, NftPortField.Destination, [22, 8080]), new NftVerdictStatement(NftVerdict.Accept)),
            new NftRule(new NftValueMatch(NftSelector.Ipv4Source, NftAddress.Parse("10.65.0.0/16")), new NftVerdictStatement(NftVerdict.Accept)),
            new NftRule(new NftVerdictStatement(NftVerdict.Drop)));
        var key = new NftInterfaceName(tap);
        return table
            .WithSet(NftSet.Addresses(AddressSet(endpoint), NftDataType.Ipv4Address, [new NftAddress(Address(endpoint))]))
            .WithChain(from)
            .WithChain(to)
            .WithElement(FromWorkloads, new NftElement(key, NftVerdict.Jump(from.Name)))
            .WithElement(ToWorkloads, new NftElement(key, NftVerdict.Jump(to.Name)));
    }

    public static NftTable With(this NftTable table, int count) => Enumerable.Range(1, count).Aggregate(table, (t, e) => t.WithEndpoint(e));
}
