using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Calico.Netlink.Namespaces;

/// <summary>One value under /proc/sys, named by its path below it: ("net/ipv4/conf/tap1/proxy_arp", "1").</summary>
public sealed record SysctlSetting(string Key, string Value)
{
    public string Path => "/proc/sys/" + Key;

    public override string ToString() => $"{Key.Replace('/', '.')}={Value}";
}

/// <summary>
/// Reads and writes /proc/sys/net values of one network namespace. The net sysctls resolve in the namespace of the
/// thread that opens them, so for another namespace all values of one call are written from one dedicated thread
/// inside it (<see cref="NetworkNamespace.Run{T}"/>); without a namespace, from the calling thread's own.
/// The factory methods name the per-interface values Calico sets on workload interfaces.
/// </summary>
public sealed class Sysctls(NetworkNamespace? networkNamespace = null)
{
    public string Read(string key) => InNamespace(() => ReadValue(Validate(key)));

    public void Write(string key, string value) => Apply([new SysctlSetting(key, value)]);

    /// <summary>
    /// Writes every setting whose current value differs, in order, and returns the ones it changed (for logging drift).
    /// The first failure throws an <see cref="IOException"/> naming the setting; settings before it stay written.
    /// </summary>
    public IReadOnlyList<SysctlSetting> Apply(IEnumerable<SysctlSetting> settings)
    {
        var list = settings.ToList();
        foreach (var setting in list) Validate(setting.Key);
        return InNamespace(() =>
        {
            var changed = new List<SysctlSetting>();
            foreach (var setting in list)
            {
                try
                {
                    if (ReadValue(setting.Key) == setting.Value) continue;
                    WriteValue(setting);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new IOException($"set sysctl {setting}{Where}: {e.Message}", e);
                }
                changed.Add(setting);
            }
            return changed;
        });
    }

    public static SysctlSetting IPv4ProxyArp(string interfaceName, bool enabled) => Conf4(interfaceName, "proxy_arp", enabled);

    /// <summary>Delay before answering a proxied ARP request, in 1/100 s; Calico sets 0 (answer at once).</summary>
    public static SysctlSetting IPv4NeighbourProxyDelay(string interfaceName, int centiseconds) =>
        new($"net/ipv4/neigh/{Interface(interfaceName)}/proxy_delay", centiseconds.ToString(CultureInfo.InvariantCulture));

    public static SysctlSetting IPv4Forwarding(string interfaceName, bool enabled) => Conf4(interfaceName, "forwarding", enabled);

    /// <summary>Lets 127.0.0.0/8 be routed from this interface (needed for DNAT to a local metadata proxy).</summary>
    public static SysctlSetting IPv4RouteLocalnet(string interfaceName, bool enabled) => Conf4(interfaceName, "route_localnet", enabled);

    /// <summary>Reverse path filtering: 0 off, 1 strict, 2 loose.</summary>
    public static SysctlSetting IPv4ReversePathFilter(string interfaceName, int mode)
    {
        RequireMode(mode);
        return new($"net/ipv4/conf/{Interface(interfaceName)}/rp_filter", mode.ToString(CultureInfo.InvariantCulture));
    }

    public static SysctlSetting IPv6Forwarding(string interfaceName, bool enabled) => Conf6(interfaceName, "forwarding", enabled);

    /// <summary>Whether the interface accepts router advertisements: 0 never, 1 unless forwarding, 2 even when forwarding.</summary>
    public static SysctlSetting IPv6AcceptRouterAdvertisements(string interfaceName, int mode)
    {
        RequireMode(mode);
        return new($"net/ipv6/conf/{Interface(interfaceName)}/accept_ra", mode.ToString(CultureInfo.InvariantCulture));
    }

    public static SysctlSetting IPv6ProxyNdp(string interfaceName, bool enabled) => Conf6(interfaceName, "proxy_ndp", enabled);

    /// <summary>Whether routes through the interface are skipped while it has no carrier (IPv4).</summary>
    public static SysctlSetting IPv4IgnoreRoutesWithLinkdown(string interfaceName, bool enabled) => Conf4(interfaceName, "ignore_routes_with_linkdown", enabled);

    /// <summary>Whether routes through the interface are skipped while it has no carrier (IPv6).</summary>
    public static SysctlSetting IPv6IgnoreRoutesWithLinkdown(string interfaceName, bool enabled) => Conf6(interfaceName, "ignore_routes_with_linkdown", enabled);

    private static SysctlSetting Conf4(string interfaceName, string name, bool enabled) =>
        new($"net/ipv4/conf/{Interface(interfaceName)}/{name}", enabled ? "1" : "0");

    private static SysctlSetting Conf6(string interfaceName, string name, bool enabled) =>
        new($"net/ipv6/conf/{Interface(interfaceName)}/{name}", enabled ? "1" : "0");

    private static void RequireMode(int mode, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(mode))] string? name = null)
    {
        if (mode is < 0 or > 2) throw new ArgumentOutOfRangeException(name, mode, "must be 0, 1 or 2");
    }

    /// <summary>An interface name as the kernel allows it (1-15 bytes, no '/'), so it cannot escape its directory.</summary>
    private static string Interface(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length > 15 || name.Contains('/') || name is "." or ".." || name.Any(char.IsWhiteSpace))
            throw new ArgumentException($"'{name}' is not an interface name", nameof(name));
        return name;
    }

    private static string Validate(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (!key.StartsWith("net/", StringComparison.Ordinal) || key.Split('/').Any(part => part is "" or "." or ".."))
            throw new ArgumentException($"'{key}' is not a key under /proc/sys/net", nameof(key));
        return key;
    }

    private T InNamespace<T>(Func<T> action) => networkNamespace is null ? action() : networkNamespace.Run(action);

    // procfs files report length 0, so read up to a small fixed size rather than by the file's length.
    private static string ReadValue(string key)
    {
        using var handle = File.OpenHandle("/proc/sys/" + key, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Span<byte> buffer = stackalloc byte[256];
        var length = RandomAccess.Read(handle, buffer, 0);
        return Encoding.ASCII.GetString(buffer[..length]).TrimEnd('\n');
    }

    private static void WriteValue(SysctlSetting setting)
    {
        using SafeFileHandle handle = File.OpenHandle(setting.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        RandomAccess.Write(handle, Encoding.ASCII.GetBytes(setting.Value + "\n"), 0);
    }

    private string Where => networkNamespace is null ? "" : $" in {networkNamespace}";
}
