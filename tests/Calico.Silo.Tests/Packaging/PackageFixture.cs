using System.Diagnostics;
using Calico.Testing;

namespace Calico.Silo.Tests.Packaging;

/// <summary>
/// The Debian package, installed into a throwaway root with `dpkg -x` and its control files beside it (`dpkg-deb -e`).
/// The package is the one ./test.sh built before the run (CALICO_TEST_PACKAGE, so the suite publishes once), else
/// this fixture builds it with scripts/package.sh (a self-contained publish of both executables: a few minutes).
/// Everything lives in one temporary directory, removed at the end; nothing is written into the checkout.
/// </summary>
public sealed class PackageFixture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("calico-package-test-").FullName;

    /// <summary>The .deb file.</summary>
    public string Package { get; private set; } = "";

    /// <summary>The root the package was unpacked into (its /usr, /etc below it).</summary>
    public string Root => Path.Combine(_dir, "root");

    /// <summary>The control area: control, conffiles, postinst, prerm, postrm.</summary>
    public string Control => Path.Combine(_dir, "DEBIAN");

    /// <summary>A directory for a test's own files, removed with the rest.</summary>
    public string Scratch(string name) => Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;

    public async Task InitializeAsync()
    {
        Package = Environment.GetEnvironmentVariable("CALICO_TEST_PACKAGE") is { Length: > 0 } built ? built : await BuildAsync();
        if (!File.Exists(Package)) throw new FileNotFoundException($"CALICO_TEST_PACKAGE names {Package}, which does not exist");
        Run("dpkg", "-x", Package, Root);
        Run("dpkg-deb", "-e", Package, Control);
    }

    private async Task<string> BuildAsync()
    {
        var script = TestServerScript.Find("package.sh") ?? throw new FileNotFoundException("scripts/package.sh not found above the test assembly");
        var (exit, output, error) = await TestServerScript.RunAsync(script, "--output", Path.Combine(_dir, "build"));
        if (exit != 0) throw new InvalidOperationException($"scripts/package.sh exited with {exit}:\n{error}\n{output}");
        // Its last line is the package's path.
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Runs a program to its end; a non-zero exit throws with its output. Returns its standard output.</summary>
    public static string Run(string file, params string[] args)
    {
        var (exit, output, error) = TryRun(file, args);
        if (exit != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {exit}:\n{error}\n{output}");
        return output;
    }

    public static (int ExitCode, string Output, string Error) TryRun(string file, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error);
    }
}
