using System.Net;
using System.Net.Sockets;
using Calico.Dataplane.Linux.Kernel;
using Calico.Netlink;
using Polly;

namespace Calico.Dataplane.Linux.Dhcp;

/// <summary>
/// The ns-dhcp interface: it holds each served subnet's gateway address, so that dnsmasq (which serves a range only
/// on a network its interface has an address in) finds the subnet, and the host answers for the gateway.
/// <para>
/// A veth pair, because this kernel has no dummy links: ns-dhcp is up, its peer ns-dhcp-peer stays down in the same
/// namespace. With the peer down ns-dhcp has no carrier, so nothing is ever sent out of it (no ARP, no IPv6 DAD or
/// router solicitations, no link-local address of the kernel's), and no second namespace is involved. While an IPv6
/// subnet is served it holds fe80::1 too (<see cref="DhcpConfiguration.LinkLocal"/>), without DAD: dnsmasq sends no
/// router advertisement for an interface without a link-local address (checked with dnsmasq 2.90). The addresses carry
/// IFA_F_NOPREFIXROUTE: the host must not believe the whole subnet is on ns-dhcp, the /32 routes to the taps stay
/// in charge. Local addresses work without carrier, so workloads still reach their gateway.
/// </para>
/// Owns: the links ns-dhcp and ns-dhcp-peer and every address on ns-dhcp. Never touches other links or their addresses.
/// </summary>
internal sealed class DhcpInterface(INetlink netlink, ResiliencePipeline retry)
{
    public const string Name = DhcpConfiguration.InterfaceName;
    public const string PeerName = "ns-dhcp-peer";

    /// <summary>What the last <see cref="Ensure"/> did, to count it.</summary>
    public int Writes { get; private set; }

    /// <summary>
    /// Makes ns-dhcp exist, be up with its peer down, and hold exactly <paramref name="addresses"/> (subnet id →
    /// gateway/prefix length). Returns the subnets whose address could not be added; a failure of the link itself throws.
    /// </summary>
    public Dictionary<string, string> Ensure(IReadOnlyDictionary<string, (IPAddress Address, int PrefixLength)> addresses)
    {
        Writes = 0;
        var link = retry.Execute(() => netlink.GetLink(Name));
        if (link is null)
        {
            retry.Execute(() => netlink.AddVethPair(Name, PeerName));
            Writes++;
            link = retry.Execute(() => netlink.GetLink(Name))
                ?? throw new NetlinkException($"get link {Name} after creating it", Errno.ENODEV);
        }
        if (!link.IsUp)
        {
            retry.Execute(() => netlink.SetLinkUp(link.Index));
            Writes++;
        }
        // Only the veth peer of our ns-dhcp is ours to keep down; a same-named link elsewhere is not.
        if (retry.Execute(() => netlink.GetLink(PeerName)) is { IsUp: true } peer && peer.Index == link.ParentIndex)
        {
            retry.Execute(() => netlink.SetLinkDown(peer.Index));
            Writes++;
        }

        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        var wanted = addresses.ToDictionary(kv => kv.Key, kv => Desired(link.Index, kv.Value.Address, kv.Value.PrefixLength));
        var present = retry.Execute(() => netlink.ListAddresses(AddressFamily.Unspecified, link.Index));
        foreach (var stale in present.Where(p => !IsKernelLinkLocal(p) && !wanted.Values.Any(w => Matches(p, w))))
        {
            try
            {
                retry.Execute(() => netlink.DeleteAddress(stale));
                Writes++;
            }
            catch (NetlinkException e) when (e.IsNotFound)
            {
            }
        }
        foreach (var (subnetId, address) in wanted)
        {
            if (present.Any(p => Matches(p, address))) continue;
            try
            {
                retry.Execute(() => netlink.ReplaceAddress(address));
                Writes++;
            }
            catch (NetlinkException e)
            {
                failures[subnetId] = e.Message;
            }
        }
        return failures;
    }

    /// <summary>Deletes ns-dhcp (and with it its peer) if it exists; true if it did.</summary>
    public bool Remove()
    {
        if (retry.Execute(() => netlink.GetLink(Name)) is not { } link) return false;
        try
        {
            retry.Execute(() => netlink.DeleteLink(link.Index));
        }
        catch (NetlinkException e) when (e.IsNotFound)
        {
            return false;
        }
        return true;
    }

    /// <summary>What <see cref="Ensure"/> (or, with no addresses, <see cref="Remove"/>) would change; changes nothing.</summary>
    public List<string> Plan(IReadOnlyDictionary<string, (IPAddress Address, int PrefixLength)>? addresses)
    {
        var plan = new List<string>();
        var link = netlink.GetLink(Name);
        if (addresses is null)
        {
            if (link is not null) plan.Add($"remove link {Name} (no DHCP subnet left)");
            return plan;
        }
        if (link is null) plan.Add($"add    link {Name} (veth; peer {PeerName} kept down)");
        else if (!link.IsUp) plan.Add($"change link {Name} up");
        var present = link is null ? [] : netlink.ListAddresses(AddressFamily.Unspecified, link.Index);
        var wanted = addresses.Values.Select(a => Desired(link?.Index ?? 0, a.Address, a.PrefixLength)).ToList();
        plan.AddRange(present.Where(p => !IsKernelLinkLocal(p) && !wanted.Any(w => Matches(p, w)))
            .Select(p => $"remove address {p.Local}/{p.PrefixLength} dev {Name}"));
        plan.AddRange(wanted.Where(w => !present.Any(p => Matches(p, w)))
            .Select(w => $"add    address {w.Local}/{w.PrefixLength} dev {Name} noprefixroute"));
        return plan;
    }

    private static Address Desired(int index, IPAddress address, int prefixLength) =>
        new(index, address, prefixLength, Flags: AddressFlags.NoPrefixRoute |
            (address.AddressFamily == AddressFamily.InterNetworkV6 ? AddressFlags.NoDad : AddressFlags.None));

    /// <summary>Same address, and without a prefix route (an address added by hand with one is put right).</summary>
    private static bool Matches(Address present, Address wanted) =>
        present.Local.Equals(wanted.Local) && present.PrefixLength == wanted.PrefixLength &&
        (present.Flags & AddressFlags.NoPrefixRoute) != 0;

    /// <summary>A link-local address other than ours (<see cref="DhcpConfiguration.LinkLocal"/>): the kernel's, left alone.</summary>
    private static bool IsKernelLinkLocal(Address address) => address.Local.IsIPv6LinkLocal && !address.Local.Equals(DhcpConfiguration.LinkLocal);
}
