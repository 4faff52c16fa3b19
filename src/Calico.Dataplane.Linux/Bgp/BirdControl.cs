using System.ComponentModel;
using System.Diagnostics;

namespace Calico.Dataplane.Linux.Bgp;

/// <summary>
/// Speaks to our BIRD through its control socket with birdc, and to no other BIRD: the socket is always ours
/// (<see cref="BirdFiles.Socket"/>), never BIRD's default. A unix socket is a file, so birdc needs no namespace.
/// </summary>
public sealed class BirdControl(string birdc, string socket)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// `birdc -s SOCKET configure`: BIRD re-reads its file and reconfigures in place, keeping every session the change
    /// does not concern. Throws <see cref="BirdControlException"/> with BIRD's words when it refuses the file (it then
    /// goes on with the configuration it had).
    /// </summary>
    public void Configure()
    {
        var output = Run("configure");
        if (output.Contains("Reconfigured", StringComparison.Ordinal) || output.Contains("Reconfiguration in progress", StringComparison.Ordinal)
            || output.Contains("Reconfiguration already in progress", StringComparison.Ordinal))
            return;
        throw new BirdControlException($"BIRD refused its new configuration: {Flatten(output)}");
    }

    /// <summary>The output of one birdc command (`show protocols`, ...), for plans, status and tests.</summary>
    public string Run(params string[] command)
    {
        var start = new ProcessStartInfo(birdc)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("-s");
        start.ArgumentList.Add(socket);
        foreach (var word in command) start.ArgumentList.Add(word);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new BirdControlException($"{birdc} did not start");
        }
        catch (Win32Exception e)
        {
            throw new BirdControlException($"cannot run {birdc}: {e.Message} (install the bird2 package, or set Dataplane:BirdcPath)");
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill();
                throw new BirdControlException($"birdc {string.Join(' ', command)} did not answer within {Timeout.TotalSeconds} s on {socket}");
            }
            var text = stdout.Result + stderr.Result;
            if (process.ExitCode != 0) throw new BirdControlException($"birdc {string.Join(' ', command)} on {socket} failed: {Flatten(text)}");
            return text;
        }
    }

    private static string Flatten(string output) =>
        string.Join(" | ", output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("BIRD ", StringComparison.Ordinal) || l.Contains("error", StringComparison.OrdinalIgnoreCase)));
}

public sealed class BirdControlException(string message) : Exception(message);
