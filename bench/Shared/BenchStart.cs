/// <summary>What a benchmark that builds network namespaces checks before it starts.</summary>
internal static class BenchStart
{
    /// <summary>
    /// Exit code 2, having said why, when the arguments were refused (<paramref name="problem"/>) or the process is not
    /// root; null when the run may go on.
    /// </summary>
    public static int? Refusal(string name, string? problem, string usage)
    {
        if (problem is not null)
        {
            Console.Error.WriteLine($"{name}: {problem}");
            Console.Error.WriteLine($"usage: {usage}");
            return 2;
        }
        if (!Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine("Run as root: the benchmark creates network namespaces (it touches nothing outside them).");
            return 2;
        }
        return null;
    }
}

/// <summary>How a benchmark that builds network namespaces runs and ends.</summary>
internal static class BenchRun
{
    /// <summary>
    /// Runs <paramref name="run"/> until it ends, fails (exit 1) or is stopped by Ctrl-C or SIGTERM (exit 130), then
    /// says whether any namespace <paramref name="owns"/> names is left.
    /// </summary>
    public static async Task<int> RunAsync(string name, Func<CancellationToken, Task> run, Func<string, bool> owns)
    {
        using var stop = new Calico.Topology.Kernel.StopSignals();
        try
        {
            await run(stop.Token);
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsStopRequested)
        {
            Console.Error.WriteLine($"{name}: interrupted");
            return 130;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"{name}: failed: {e}");
            return 1;
        }
        finally
        {
            var all = Calico.Topology.Kernel.Netns.List();
            var left = all.Where(owns).ToList();
            Console.WriteLine(left.Count == 0
                ? $"cleanup: every namespace of the run is removed ({all.Count} named namespaces on the machine)"
                : $"cleanup: FAILED, still there: {string.Join(' ', left)} (scripts/topology.sh down removes them)");
        }
    }
}
