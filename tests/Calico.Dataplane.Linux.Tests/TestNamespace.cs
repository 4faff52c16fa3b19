using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Calico.Netlink;
using Calico.Netlink.Namespaces;

namespace Calico.Dataplane.Linux.Tests;

/// <summary>
/// A network namespace of the test's own (`ip netns add cal-t-1a2b3c4d`), deleted on Dispose — and, as a last resort,
/// when the test process exits — so every kernel object a test creates lives and dies inside it. Nothing here ever
/// touches the machine's own namespace: veth pairs are created with both ends inside test namespaces.
/// Use it with `using var ns = TestNamespace.Create();` at the top of a test, so a failing test still deletes it.
/// </summary>
public sealed class TestNamespace : IDisposable
{
    private static readonly ConcurrentDictionary<string, byte> Live = new();

    static TestNamespace() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var name in Live.Keys) TryRun("ip", "netns", "del", name);
    };

    private int _disposed;

    private TestNamespace(string name) => Name = name;

    /// <summary>cal-t-&lt;8 random hex digits&gt;: unique, and recognisable as a test's if ever left behind.</summary>
    public string Name { get; }

    public static TestNamespace Create(string prefix = "cal-t")
    {
        RequireRoot();
        var name = $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        Live[name] = 0;
        try
        {
            Run("ip", "netns", "add", name);
            var ns = new TestNamespace(name);
            ns.Ip("link", "set", "lo", "up");
            return ns;
        }
        catch
        {
            TryRun("ip", "netns", "del", name);
            Live.TryRemove(name, out _);
            throw;
        }
    }

    /// <summary>Fails with a message that says what to do, rather than with EPERM somewhere deep in a test.</summary>
    public static void RequireRoot()
    {
        if (!Environment.IsPrivilegedProcess)
            throw new InvalidOperationException(
                "These tests create network namespaces, veth pairs and routes, which needs root (CAP_SYS_ADMIN and " +
                "CAP_NET_ADMIN). Run them as root, as CI does; they touch only namespaces they create themselves.");
    }

    /// <summary>Runs `ip -n NAME args...` and returns its standard output; a non-zero exit throws with its stderr.</summary>
    public string Ip(params string[] args) => Run("ip", ["-n", Name, .. args]);

    /// <summary>Runs a command inside the namespace (`ip netns exec NAME command...`).</summary>
    public string Exec(params string[] command) => Run("ip", ["netns", "exec", Name, .. command]);

    /// <summary>
    /// Creates a veth pair with <paramref name="name"/> in this namespace and <paramref name="peerName"/> in
    /// <paramref name="peerNamespace"/> (this one if null), both up.
    /// </summary>
    public void AddVethPair(string name, string peerName, TestNamespace? peerNamespace = null)
    {
        var peer = peerNamespace ?? this;
        Ip("link", "add", name, "type", "veth", "peer", "name", peerName, "netns", peer.Name);
        Ip("link", "set", name, "up");
        peer.Ip("link", "set", peerName, "up");
    }

    /// <summary>The interface index of <paramref name="interfaceName"/>, read with iproute2 (independently of our client).</summary>
    public int IndexOf(string interfaceName)
    {
        var line = Ip("-o", "link", "show", "dev", interfaceName);
        return int.Parse(line[..line.IndexOf(':')], CultureInfo.InvariantCulture);
    }

    public NetworkNamespace Open() => NetworkNamespace.Open(Name);

    /// <summary>A netlink client whose socket lives in this namespace.</summary>
    public NetlinkRouteClient OpenRouteClient(NetlinkClientOptions? options = null)
    {
        using var ns = Open();
        return NetlinkRouteClient.Open(ns, options);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        TryRun("ip", "netns", "del", Name);
        Live.TryRemove(Name, out _);
    }

    public override string ToString() => Name;

    public static string Run(string file, params string[] args)
    {
        var (exit, output, error) = Execute(file, args);
        if (exit != 0)
            throw new InvalidOperationException($"`{file} {string.Join(' ', args)}` exited with {exit}: {error.Trim()}");
        return output;
    }

    private static void TryRun(string file, params string[] args)
    {
        try { Execute(file, args); }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
    }

    private static (int Exit, string Output, string Error) Execute(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }
}
