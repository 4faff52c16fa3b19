using System.Diagnostics;
using System.Security.Cryptography;

namespace Calico.Bench.Netlink;

/// <summary>
/// A namespace of the benchmark's own (cal-b-&lt;hex&gt;) with veth0 (172.18.0.1/24, fd00:18::1/64) and its peer veth1,
/// both up, so 172.18.0.2, 172.18.0.3 and fd00:18::2 are valid gateways. Deleted on Dispose; the machine's own namespace is never touched.
/// </summary>
internal sealed class BenchNamespace : IDisposable
{
    private static readonly List<string> Live = [];

    static BenchNamespace()
    {
        // Last resort if the run is interrupted: Ctrl+C or an unhandled exception still deletes what was created.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteAll();
        Console.CancelKeyPress += (_, _) => DeleteAll();
    }

    public BenchNamespace()
    {
        Name = $"cal-b-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        lock (Live) Live.Add(Name);
        Run("ip", "netns", "add", Name);
        Ip("link", "set", "lo", "up");
        Ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1");
        Ip("link", "set", "veth0", "up");
        Ip("link", "set", "veth1", "up");
        Ip("address", "add", "172.18.0.1/24", "dev", "veth0");
        Ip("-6", "address", "add", "fd00:18::1/64", "dev", "veth0", "nodad");
        var line = Ip("-o", "link", "show", "dev", "veth0");
        Veth0 = int.Parse(line[..line.IndexOf(':')], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>An IPv6 gateway on veth0's segment (fd00:18::1/64, no DAD).</summary>
    public static readonly System.Net.IPAddress Gateway6 = System.Net.IPAddress.Parse("fd00:18::2");

    public string Name { get; }

    public int Veth0 { get; }

    public string Ip(params string[] args) => Run("ip", ["-n", Name, .. args]);

    public void Dispose()
    {
        Run("ip", "netns", "del", Name);
        lock (Live) Live.Remove(Name);
    }

    public static string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"`{file} {string.Join(' ', args)}` exited with {process.ExitCode}: {error.Result}");
        return output;
    }

    private static void DeleteAll()
    {
        string[] names;
        lock (Live) names = [.. Live];
        foreach (var name in names)
        {
            try { Run("ip", "netns", "del", name); } catch (InvalidOperationException) { }
        }
    }
}
