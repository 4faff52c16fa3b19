using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Calico.Netlink.Namespaces;

namespace Calico.Bench.Nftables;

/// <summary>
/// A network namespace of the benchmark's own (cal-b-1a2b3c4d, or another prefix), deleted on Dispose, on Ctrl-C and at process exit,
/// so the benchmark never programs the machine's own namespace and never leaves one behind.
/// </summary>
internal sealed class BenchNamespace : IDisposable
{
    private static readonly ConcurrentDictionary<string, byte> Live = new();

    static BenchNamespace()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteAll();
        Console.CancelKeyPress += (_, _) => DeleteAll();
    }

    private BenchNamespace(string name) => Name = name;

    public string Name { get; }

    public static BenchNamespace Create(string prefix = "cal-b")
    {
        var name = $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        Live[name] = 0;
        Run("ip", "netns", "add", name);
        return new BenchNamespace(name);
    }

    public NetworkNamespace Open() => NetworkNamespace.Open(Name);

    /// <summary>`ip netns exec NAME nft -f FILE`: a process per change, as a shell-driven agent would do it.</summary>
    public void NftFile(string path) => Run("ip", "netns", "exec", Name, "nft", "-f", path);

    public string Nft(params string[] args) => Run("ip", ["netns", "exec", Name, "nft", .. args]);

    public void Dispose()
    {
        if (Live.TryRemove(Name, out _)) TryRun("ip", "netns", "del", Name);
    }

    private static void DeleteAll()
    {
        foreach (var name in Live.Keys)
        {
            if (Live.TryRemove(name, out _)) TryRun("ip", "netns", "del", name);
        }
    }

    public static string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"`{file} {string.Join(' ', args)}` exited with {process.ExitCode}: {error.Result.Trim()}");
        return output;
    }

    private static void TryRun(string file, params string[] args)
    {
        try { Run(file, args); }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
    }
}
