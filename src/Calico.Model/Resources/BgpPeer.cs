using System.Net;
using System.Net.Sockets;
using System.Text;
using Calico.Model.Collections;
using Calico.Model.Validation;

namespace Calico.Model.Resources;

/// <summary>
/// A BGP peer that operators configure (a top-of-rack router, an external route reflector), keyed by its address:
/// one peer per address, so two peers can never disagree about the same neighbour. With neither
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
        else
        {
            // BIRD's sessions are IPv4 only so far (the hosts peer on their IPv4 addresses).
            if (Address.AddressFamily != AddressFamily.InterNetwork) v.Add("address", $"{Address} is not an IPv4 address (IPv6 peers are not supported yet)");
            else if (IPAddress.IsLoopback(Address) || Address.Equals(IPAddress.Any) || Address.Equals(IPAddress.Broadcast)
                     || Address.GetAddressBytes()[0] >= 224)
                v.Add("address", $"{Address} cannot be a BGP neighbour (loopback, unspecified, broadcast or multicast)");
        }
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
