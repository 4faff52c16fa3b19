using System.Net;
using System.Net.Sockets;
using System.Text;
using Calico.Model.Collections;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>
/// A BGP peer that operators configure (a top-of-rack router, an external route reflector), keyed by its address
/// (IPv4, or IPv6: a session over IPv6 carrying the IPv6 routes, from hosts that have an IPv6 address): one peer per
/// address, so two peers can never disagree about the same neighbour. With neither
/// <see cref="Host"/> nor <see cref="HostLabel"/> it is a global peer (every host peers with it); with one of them,
/// only the hosts it selects do. A peer whose AS differs from a host's is an eBGP peer of that host, reached directly
/// (on a shared segment) unless <see cref="Multihop"/> asks otherwise.
/// <see cref="Password"/> (TCP MD5) goes into BIRD's file and nowhere else: printing the record shows only whether
/// it is set.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record BgpPeer(
    [property: Id(0)] IPAddress Address,
    [property: Id(1)] uint AsNumber,
    [property: Id(2)] string? Password = null,
    [property: Id(3)] string? Host = null,
    [property: Id(4)] string? HostLabel = null,
    [property: Id(5)] bool Multihop = false) : IValidatable
{
    /// <summary>The key it is stored under: the address in its canonical text.</summary>
    public string Key => Address.ToString();

    public bool IsGlobal => Host is null && HostLabel is null;

    /// <summary>Whether the host (by name, and by its labels if registered) peers with this one.</summary>
    public bool Selects(string hostName, ValueMap labels)
    {
        if (Host is not null) return Host == hostName;
        if (HostLabel is null) return true;
        var (key, value) = SplitLabel(HostLabel);
        return labels.TryGetValue(key, out var actual) && actual == value;
    }

    /// <summary>"rack=r1" into its key and value.</summary>
    public static (string Key, string Value) SplitLabel(string label)
    {
        var at = label.IndexOf('=');
        return at < 0 ? (label, "") : (label[..at], label[(at + 1)..]);
    }

    /// <summary>The hosts it applies to, in words (for listings and errors).</summary>
    public string Scope => Host is not null ? $"host {Host}" : HostLabel is not null ? $"hosts labelled {HostLabel}" : "every host";

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        if (Address is null) v.Add("address", "is required");
        else if (NeighbourProblem(Address) is { } problem) v.Add("address", problem);
        if (AsNumber is 0) v.Add("as_number", "must be 1..4294967295");
        if (Password is not null)
        {
            // It is written inside a quoted string of BIRD's file: nothing may end the string or the line.
            if (Password.Length is 0 or > 80) v.Add("password", "must be 1..80 characters");
            else if (Password.Any(c => c is '"' or '\\' || char.IsControl(c)))
                v.Add("password", "may not contain quotes, backslashes or control characters");
        }
        if (Host is not null && HostLabel is not null) v.Add("host_label", "give a host or a host label, not both");
        if (Host is not null) HostSpec.ValidateName(Host, v, "host");
        if (HostLabel is not null)
        {
            var (key, value) = SplitLabel(HostLabel);
            if (!HostLabel.Contains('=') || key.Length is 0 or > 63 || value.Length > 63)
                v.Add("host_label", $"'{HostLabel}' is not key=value (for example rack=r1)");
        }
        return v.Errors;
    }

    /// <summary>
    /// Why BIRD cannot hold a session to <paramref name="address"/>, or null when it can: IPv4 or IPv6, but not
    /// loopback, unspecified, broadcast or multicast; for IPv6 not link-local either (a session to a link-local
    /// neighbour needs an interface, which a peer of many hosts has none of) nor IPv4-mapped (give the IPv4 address).
    /// </summary>
    public static string? NeighbourProblem(IPAddress address)
    {
        if (address.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            return $"{address} is not an IPv4 or IPv6 address";
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)
            || address.Equals(IPAddress.Broadcast) || address.IsIPv6Multicast
            || (address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] >= 224))
            return $"{address} cannot be a BGP neighbour (loopback, unspecified, broadcast or multicast)";
        if (address.IsIPv6LinkLocal) return $"{address} is link-local: a BGP neighbour needs a global or unique local IPv6 address";
        if (address.IsIPv4MappedToIPv6) return $"{address} is an IPv4-mapped IPv6 address: give the IPv4 address {address.MapToIPv4()}";
        return null;
    }

    // Never the password itself: records print in logs.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Address = {Address}, AsNumber = {AsNumber}, Password = {(Password is null ? "unset" : "set")}, ");
        builder.Append($"Host = {Host}, HostLabel = {HostLabel}, Multihop = {Multihop}");
        return true;
    }
}

/// <summary>
/// The cluster's BGP settings, one record (key <see cref="DefaultKey"/>), changed at run time: the AS number of hosts
/// that register none (else <c>Routing:AsNumber</c>), and whether hosts peer in a full node-to-node mesh (off: they
/// peer only with the operators' peers and route reflectors, for example top-of-rack routers).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record BgpConfiguration(
    [property: Id(0)] bool NodeToNodeMesh = true,
    [property: Id(1)] uint? AsNumber = null) : IValidatable
{
    public const string DefaultKey = "default";

    public IReadOnlyList<ValidationError> Validate()
    {
        var v = new Validator();
        if (AsNumber is 0) v.Add("as_number", "must be 1..4294967295");
        return v.Errors;
    }
}
