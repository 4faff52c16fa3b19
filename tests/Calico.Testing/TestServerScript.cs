using System.Diagnostics;

namespace Calico.Testing;

/// <summary>
/// The scripts under scripts/ that start and stop throwaway servers for the tests (postgres-test-server.sh,
/// keystone-test-server.sh): found above the test assembly, run with bash, their output collected.
/// </summary>
public static class TestServerScript
{
    /// <summary>scripts/<paramref name="name"/> in the first directory above the test assembly that has it; null if none does.</summary>
    public static string? Find(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "scripts", name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
