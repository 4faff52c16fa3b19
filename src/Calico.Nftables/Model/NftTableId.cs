namespace Calico.Nftables;

/// <summary>The address families a table can belong to. <c>inet</c> sees IPv4 and IPv6 traffic in one table.</summary>
public enum NftFamily { Inet = 1, Ip = 2, Ip6 = 3 }

/// <summary>Netfilter hooks a base chain can attach to.</summary>
public enum NftHook { Prerouting = 1, Input = 2, Forward = 3, Output = 4, Postrouting = 5 }

public enum NftChainType { Filter = 1, Nat = 2, Route = 3 }

public enum NftPolicy { Accept = 1, Drop = 2 }

/// <summary>A table as nft names it: family and name ("inet calico").</summary>
public readonly record struct NftTableId
{
    public NftTableId(NftFamily family, string name)
    {
        if (!Enum.IsDefined(family)) throw new ArgumentOutOfRangeException(nameof(family), family, "not an nftables family");
        Family = family;
        Name = NftSyntax.Identifier(name, "table name");
    }

    public NftFamily Family { get; }

    public string Name { get; }

    public override string ToString() => $"{NftSyntax.Keyword(Family)} {Name}";
}

internal static class NftFamilyCodes
{
    /// <summary>The family as netfilter numbers it on the wire (nfgenmsg.nfgen_family): NFPROTO_INET 1, NFPROTO_IPV4 2, NFPROTO_IPV6 10.</summary>
    public static byte ProtocolFamily(this NftFamily family) => family switch
    {
        NftFamily.Inet => 1,
        NftFamily.Ip => 2,
        NftFamily.Ip6 => 10,
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };
}
