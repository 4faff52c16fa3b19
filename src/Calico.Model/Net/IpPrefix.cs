using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Calico.Model.Net;

/// <summary>
/// An IPv4 or IPv6 prefix (address and length), e.g. 10.65.0.0/24 or 10.65.0.3/32.
/// The address is kept as given; <see cref="IsCanonical"/> says whether host bits are zero.
/// </summary>
[GenerateSerializer, Immutable]
public readonly record struct IpPrefix
{
    [Id(0)] public IPAddress Address { get; }

    [Id(1)] public int Length { get; }

    public IpPrefix(IPAddress address, int length)
    {
        ArgumentNullException.ThrowIfNull(address);
        var max = MaxLength(address);
        if (length < 0 || length > max)
            throw new ArgumentOutOfRangeException(nameof(length), $"prefix length {length} is outside 0..{max}");
        Address = address;
        Length = length;
    }

    public static IpPrefix Host(IPAddress address) => new(address, MaxLength(address));

    public AddressFamily Family => Address.AddressFamily;

    public int Version => Family == AddressFamily.InterNetworkV6 ? 6 : 4;

    public bool IsHost => Length == MaxLength(Address);

    /// <summary>The prefix with its host bits cleared.</summary>
    public IpPrefix Network => new(Mask(Address, Length), Length);

    public bool IsCanonical => Network.Address.Equals(Address);

    /// <summary>The prefix as the BCL's <see cref="IPNetwork"/> (host bits cleared), as the kernel libraries take it.</summary>
    public IPNetwork ToNetwork() => new(Mask(Address, Length), Length);

    public bool Contains(IPAddress address)
    {
        if (address.AddressFamily != Family) return false;
        return Mask(address, Length).Equals(Network.Address);
    }

    public bool Contains(IpPrefix other) => other.Family == Family && other.Length >= Length && Contains(other.Address);

    public bool Overlaps(IpPrefix other) => Contains(other) || other.Contains(this);

    /// <summary>The last address of the prefix (the IPv4 broadcast address).</summary>
    public IPAddress LastAddress
    {
        get
        {
            var bytes = Network.Address.GetAddressBytes();
            for (var bit = Length; bit < bytes.Length * 8; bit++)
                bytes[bit / 8] |= (byte)(0x80 >> (bit % 8));
            return new IPAddress(bytes);
        }
    }

    public static int MaxLength(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;

    public static IpPrefix Parse(string text) =>
        TryParse(text, out var prefix, out var error) ? prefix : throw new FormatException(error);

    /// <summary>Parses "a.b.c.d/n", "x::/n" or a bare address (a host prefix).</summary>
    public static bool TryParse(string? text, out IpPrefix prefix, [NotNullWhen(false)] out string? error)
    {
        prefix = default;
        if (string.IsNullOrWhiteSpace(text)) { error = "is empty"; return false; }
        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address) ||
            (address.AddressFamily != AddressFamily.InterNetwork && address.AddressFamily != AddressFamily.InterNetworkV6) ||
            addressText.Contains('%') || (addressText.Contains(':') != (address.AddressFamily == AddressFamily.InterNetworkV6)) ||
            (address.AddressFamily == AddressFamily.InterNetwork && addressText.Count(c => c == '.') != 3))
        {
            error = $"'{text}' is not an IP address or prefix";
            return false;
        }
        var length = MaxLength(address);
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, null, out length) ||
                           length > MaxLength(address)))
        {
            error = $"'{text}' has an invalid prefix length (0..{MaxLength(address)})";
            return false;
        }
        prefix = new IpPrefix(address, length);
        error = null;
        return true;
    }

    public static IPAddress Mask(IPAddress address, int length)
    {
        var bytes = address.GetAddressBytes();
        for (var bit = length; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }

    public override string ToString() => $"{Address}/{Length}";
}
