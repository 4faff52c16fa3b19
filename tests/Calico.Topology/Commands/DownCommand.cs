using Calico.Topology.Kernel;

namespace Calico.Topology.Commands;

/// <summary><c>topology down [--force]</c>: removes the leftovers of runs whose process is gone.</summary>
public static class DownCommand
{
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var force = false;
        foreach (var arg in args)
        {
            if (arg == "--force") force = true;
            else
            {
                error.WriteLine($"topology down: unknown argument '{arg}' (usage: topology down [--force])");
                return 2;
            }
        }
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
