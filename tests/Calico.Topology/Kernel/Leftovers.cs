using System.Globalization;

namespace Calico.Topology.Kernel;

/// <summary>What remains of one run on this machine, found by its name prefix.</summary>
public sealed record LeftoverRun(
    RunPrefix Prefix,
    IReadOnlyList<string> Namespaces,
    IReadOnlyList<string> EtcNetnsDirectories,
    string? TempDirectory,
    IReadOnlyList<int> Processes,
    RunOwner? Owner)
{
    /// <summary>The process that created the run still runs: its topology is in use, not left over.</summary>
    public bool InUse => Owner?.IsAlive == true;

    public bool IsEmpty => Namespaces.Count == 0 && EtcNetnsDirectories.Count == 0 && TempDirectory is null && Processes.Count == 0;

    public override string ToString() =>
        $"{Prefix.Value} ({Namespaces.Count} namespaces, {Processes.Count} processes, {EtcNetnsDirectories.Count} /etc/netns directories" +
        $"{(TempDirectory is null ? "" : ", " + TempDirectory)}){(InUse ? $" in use by process {Owner!.ProcessId}" : "")}";
}

/// <summary>
/// Finds and removes what runs left behind (the <c>down</c> command): namespaces, /etc/netns directories, temporary
/// directories and processes whose names carry a run prefix (cal-e2e-XXXXXX-, cal-topo-XXXXXX-, cal-bench-XXXXXX-). A run whose owner
/// process still runs is skipped unless forced, so that <c>down</c> never pulls a topology from under a live test.
/// Nothing without a run prefix is ever touched.
/// </summary>
public static class Leftovers
{
    public static IReadOnlyList<LeftoverRun> Find()
    {
        var namespaces = Group(Netns.List());
        var etc = Group(EtcNetns.Names());
        var temp = Group(Directory.EnumerateDirectories(Path.GetTempPath(), "cal-*").Select(d => Path.GetFileName(d)!));
        var processes = ProcessesByRun();
        var prefixes = namespaces.Keys.Concat(etc.Keys).Concat(temp.Keys).Concat(processes.Keys).Distinct();
        return
        [
            .. prefixes.Select(p =>
            {
                var runNamespaces = namespaces.GetValueOrDefault(p, []);
                var pids = processes.GetValueOrDefault(p, []).Concat(runNamespaces.SelectMany(Netns.PidsIn))
                    .Where(pid => pid != Environment.ProcessId).Distinct().Order().ToList();
                var tempDirectory = temp.ContainsKey(p) ? p.TempDirectory : null;
                return new LeftoverRun(p, runNamespaces, etc.GetValueOrDefault(p, []), tempDirectory, pids,
                    tempDirectory is null ? null : RunOwner.ReadFrom(tempDirectory));
            }).OrderBy(r => r.Prefix.Value, StringComparer.Ordinal),
        ];
    }

    /// <summary>Removes one run's leftovers: kills its processes, deletes its namespaces, /etc/netns directories and temporary directory.</summary>
    public static void Remove(LeftoverRun run)
    {
        foreach (var pid in run.Processes) Shell.Signal(pid, Shell.SIGKILL);
        WaitGone(run.Processes, TimeSpan.FromSeconds(10));
        RunLedger.RemoveNamespaces([.. run.Namespaces.OrderByDescending(NamespaceOrder)]);
        foreach (var name in run.EtcNetnsDirectories) EtcNetns.Remove(name);
        if (run.TempDirectory is not null) RunLedger.DeleteDirectory(run.TempDirectory);
    }

    /// <summary>Removes every run whose owner is gone (or every run, with <paramref name="force"/>); returns what it found.</summary>
    public static IReadOnlyList<LeftoverRun> RemoveAbandoned(bool force = false, string? kind = null)
    {
        var runs = Find().Where(r => kind is null || r.Prefix.Kind == kind).ToList();
        foreach (var run in runs.Where(r => force || !r.InUse)) Remove(run);
        return runs;
    }

    /// <summary>VMs before hosts before the controller before the fabric: the reverse of creation.</summary>
    private static int NamespaceOrder(string name) =>
        name.EndsWith("-fabric", StringComparison.Ordinal) ? 0 : name.EndsWith("-ctl", StringComparison.Ordinal) ? 1 : name.Contains("-h", StringComparison.Ordinal) ? 2 : 3;

    private static Dictionary<RunPrefix, List<string>> Group(IEnumerable<string> names)
    {
        var groups = new Dictionary<RunPrefix, List<string>>();
        foreach (var name in names)
        {
            if (!RunPrefix.TryFind(name, out var prefix) || !prefix.Owns(name)) continue;
            if (!groups.TryGetValue(prefix, out var list)) groups[prefix] = list = [];
            list.Add(name);
        }
        return groups;
    }

    /// <summary>Processes whose command line names a run (a silo's data directory is inside the run's temp directory).</summary>
    private static Dictionary<RunPrefix, List<int>> ProcessesByRun()
    {
        var result = new Dictionary<RunPrefix, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId) continue;
            string commandLine;
            try { commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            if (!RunPrefix.TryFind(commandLine, out var prefix)) continue;
            // Only a path inside the run's temp directory or a namespace name of it counts, not any mention.
            if (!commandLine.Contains(prefix.TempDirectory, StringComparison.Ordinal) && !commandLine.Contains(prefix.Value, StringComparison.Ordinal)) continue;
            if (!result.TryGetValue(prefix, out var list)) result[prefix] = list = [];
            list.Add(pid);
        }
        return result;
    }

    private static void WaitGone(IReadOnlyList<int> pids, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (pids.Any(p => Directory.Exists($"/proc/{p}")) && DateTime.UtcNow < deadline) Thread.Sleep(50);
    }
}
