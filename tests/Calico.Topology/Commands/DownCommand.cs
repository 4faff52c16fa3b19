using Calico.Topology.Kernel;

namespace Calico.Topology.Commands;

/// <summary><c>topology down [--force]</c>: removes the leftovers of runs whose process is gone.</summary>
public static class DownCommand
{
    /// <summary>Runs with arguments checked by <see cref="TopologyCommandLine"/>.</summary>
    public static int Run(bool force, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (!Environment.IsPrivilegedProcess)
        {
            error.WriteLine("topology down: needs root (it deletes network namespaces)");
            return 2;
        }
        var runs = Leftovers.Find();
        if (runs.Count == 0)
        {
            output.WriteLine("down: nothing left behind");
            return 0;
        }
        foreach (var run in runs)
        {
            if (run.InUse && !force)
            {
                output.WriteLine($"down: keeping {run} (--force removes it anyway)");
                continue;
            }
            output.WriteLine($"down: removing {run}");
            Leftovers.Remove(run);
        }
        var remaining = Leftovers.Find().Where(r => force || !r.InUse).ToList();
        foreach (var run in remaining) error.WriteLine($"down: could not remove everything of {run}");
        return remaining.Count == 0 ? 0 : 1;
    }
}
