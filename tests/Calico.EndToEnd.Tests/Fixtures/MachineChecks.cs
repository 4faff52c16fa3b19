using Calico.Topology.Kernel;
using Calico.Topology.Probes;

namespace Calico.EndToEnd.Tests.Fixtures;

/// <summary>What the tests check about the machine itself: that a run left nothing, and that no file of the machine changed.</summary>
public static class MachineChecks
{
    public const string ResolvConf = "/etc/resolv.conf";

    private static readonly Lazy<IReadOnlyList<LeftoverRun>> Abandoned = new(() => Leftovers.RemoveAbandoned(kind: RunPrefix.TestKind));

    /// <summary>Removes what earlier test runs that were killed left behind (only runs whose process is gone), once per process.</summary>
    public static void RemoveAbandonedTestRunsOnce() => _ = Abandoned.Value;

    public static byte[]? ReadResolvConf() => File.Exists(ResolvConf) ? File.ReadAllBytes(ResolvConf) : null;

    /// <summary>Nothing named after <paramref name="prefix"/> remains, and /etc/resolv.conf is what it was.</summary>
    public static async Task AssertRemovedAsync(RunPrefix prefix, byte[]? resolvConfBefore)
    {
        // Processes that were just killed disappear once reaped: give them a moment, but no more.
        List<LeftoverRun> left;
        try
        {
            left = await Eventually.UntilAsync($"nothing of {prefix} left",
                () => Task.FromResult(Leftovers.Find().Where(r => r.Prefix == prefix).ToList()), runs => runs.Count == 0, TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            left = [.. Leftovers.Find().Where(r => r.Prefix == prefix)];
        }
        Assert.True(left.Count == 0, $"left behind: {string.Join("; ", left)}; namespaces {string.Join(", ", left.SelectMany(r => r.Namespaces))}");
        Assert.Empty(Netns.List().Where(prefix.Owns));
        Assert.Empty(EtcNetns.Names().Where(prefix.Owns));
        Assert.False(Directory.Exists(prefix.TempDirectory), $"{prefix.TempDirectory} still exists");
        var after = ReadResolvConf();
        Assert.True(resolvConfBefore is null ? after is null : after is not null && after.AsSpan().SequenceEqual(resolvConfBefore),
            $"{ResolvConf} changed during the run of {prefix}");
    }

    /// <summary>
    /// The machine's own namespace as the tests must leave it: links, addresses, routes of every table and rules
    /// (<c>ip -br link</c>, <c>ip -br addr</c>, <c>ip route show table all</c>, <c>ip rule</c>).
    /// </summary>
    public static async Task<string> MachineNamespaceAsync()
    {
        var parts = new List<string>();
        foreach (var args in new[] { new[] { "-br", "link" }, ["-br", "addr"], ["route", "show", "table", "all"], ["-6", "route", "show", "table", "all"], ["rule"], ["-6", "rule"] })
            parts.Add($"$ ip {string.Join(' ', args)}\n{await Shell.RunAsync("ip", args)}");
        return string.Join('\n', parts);
    }
}
