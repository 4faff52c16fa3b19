using System.Collections.Concurrent;

namespace Calico.Topology.Kernel;

/// <summary>
/// Everything one run has created, so that all of it can be removed: on Dispose, when a start fails half way, and —
/// as a last resort — when the process exits (SIGTERM, Ctrl-C, an unhandled exception) without having disposed.
/// A run that dies by SIGKILL leaves its <see cref="RunOwner"/> file behind, from which <see cref="Leftovers"/> (the
/// <c>down</c> command) knows that nobody owns the run any more.
/// The ledger is written before the thing it records is created, so a crash in between leaves nothing unrecorded.
/// </summary>
public sealed class RunLedger
{
    private static readonly ConcurrentDictionary<RunLedger, byte> Live = new();

    static RunLedger() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var ledger in Live.Keys) ledger.RemoveEverything();
    };

    private readonly Lock _gate = new();
    private readonly List<string> _namespaces = [];
    private readonly HashSet<int> _processes = [];
    private int _removed;

    private RunLedger(RunPrefix prefix) => Prefix = prefix;

    public RunPrefix Prefix { get; }

    public string TempDirectory => Prefix.TempDirectory;

    /// <summary>Creates the run's temporary directory with its owner file, and registers the exit hook.</summary>
    public static RunLedger Open(RunPrefix prefix)
    {
        var ledger = new RunLedger(prefix);
        Live[ledger] = 0;
        Directory.CreateDirectory(prefix.TempDirectory);
        RunOwner.Current.WriteTo(prefix.TempDirectory);
        return ledger;
    }

    public void RecordNamespace(string name)
    {
        if (!Prefix.Owns(name)) throw new ArgumentException($"namespace {name} does not carry the run prefix {Prefix}", nameof(name));
        lock (_gate) _namespaces.Add(name);
    }

    public void ForgetNamespace(string name)
    {
        lock (_gate) _namespaces.Remove(name);
    }

    public void RecordProcess(int pid)
    {
        lock (_gate) _processes.Add(pid);
    }

    public void ForgetProcess(int pid)
    {
        lock (_gate) _processes.Remove(pid);
    }

    /// <summary>
    /// Kills the run's processes (and anything else still running in its namespaces), deletes its namespaces (newest
    /// first: VMs, then hosts, then the fabric), their /etc/netns directories and the temporary directory.
    /// Synchronous and idempotent, so that the process-exit hook can call it.
    /// </summary>
    public void RemoveEverything()
    {
        if (Interlocked.Exchange(ref _removed, 1) != 0) return;
        List<string> namespaces;
        List<int> processes;
        lock (_gate)
        {
            namespaces = [.. _namespaces];
            processes = [.. _processes];
        }
        foreach (var pid in processes) Shell.Signal(pid, Shell.SIGKILL);
        namespaces.Reverse();
        RemoveNamespaces(namespaces);
        DeleteDirectory(TempDirectory);
        Live.TryRemove(this, out _);
    }

    /// <summary>Kills whatever runs in the namespaces, deletes them and their /etc/netns directories.</summary>
    public static void RemoveNamespaces(IReadOnlyList<string> namespaces)
    {
        foreach (var name in namespaces)
            foreach (var pid in Netns.PidsIn(name)) Shell.Signal(pid, Shell.SIGKILL);
        foreach (var name in namespaces)
        {
            Shell.TryRun("ip", "netns", "del", name);
            EtcNetns.Remove(name);
        }
    }

    public static void DeleteDirectory(string path)
    {
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            try
            {
                if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A process that was just killed may still be closing a file in it.
                Thread.Sleep(200);
            }
        }
    }
}
