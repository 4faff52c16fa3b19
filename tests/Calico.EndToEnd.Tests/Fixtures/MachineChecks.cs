using Calico.Topology.Kernel;
using Calico.Topology.Probes;

namespace Calico.EndToEnd.Tests.Fixtures;

/// <summary>/etc/resolv.conf's bytes (null: no such file) and whether /var/lib/calico exists.</summary>
public sealed record MachineFiles(byte[]? ResolvConf, bool CalicoStateExists);

/// <summary>What the tests check about the machine itself: that a run left nothing, and that no file of the machine changed.</summary>
public static class MachineChecks
{
    public const string ResolvConf = "/etc/resolv.conf";

    private static readonly Lazy<IReadOnlyList<LeftoverRun>> Abandoned = new(() => Leftovers.RemoveAbandoned(kind: RunPrefix.TestKind));

    /// <summary>Removes what earlier test runs that were killed left behind (only runs whose process is gone), once per process.</summary>
    public static void RemoveAbandonedTestRunsOnce() => _ = Abandoned.Value;

    /// <summary>Where a compute silo keeps dnsmasq's files by default; the topology points its silos elsewhere.</summary>
    public const string CalicoStateDirectory = "/var/lib/calico";

    /// <summary>The files of the machine a run could change by mistake, as they are before it.</summary>
    public static MachineFiles TakeSnapshot() =>
        new(File.Exists(ResolvConf) ? File.ReadAllBytes(ResolvConf) : null, Directory.Exists(CalicoStateDirectory));

    /// <summary>
    /// Nothing named after <paramref name="prefix"/> remains (namespaces, /etc/netns directories, the temporary
    /// directory, processes), /etc/resolv.conf is byte for byte what it was, and no /var/lib/calico appeared.
    /// </summary>
    public static async Task AssertRemovedAsync(RunPrefix prefix, MachineFiles before)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(before);
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
        Assert.DoesNotContain(Netns.List(), prefix.Owns);
        Assert.DoesNotContain(EtcNetns.Names(), prefix.Owns);
        Assert.False(Directory.Exists(prefix.TempDirectory), $"{prefix.TempDirectory} still exists");
        var after = TakeSnapshot();
        Assert.True(before.ResolvConf is null ? after.ResolvConf is null : after.ResolvConf is not null && after.ResolvConf.AsSpan().SequenceEqual(before.ResolvConf),
            $"{ResolvConf} changed during the run of {prefix}");
        Assert.True(before.CalicoStateExists || !after.CalicoStateExists, $"{CalicoStateDirectory} appeared during the run of {prefix}");
        if (after.CalicoStateExists)
            Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(CalicoStateDirectory, "*", SearchOption.AllDirectories), e => e.Contains(prefix.Value, StringComparison.Ordinal));
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
