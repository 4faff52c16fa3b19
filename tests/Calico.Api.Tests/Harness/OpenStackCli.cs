using System.Diagnostics;
using System.Text;

namespace Calico.Api.Tests.Harness;

/// <summary>
/// Runs Debian's openstack CLI (python3-openstackclient) against a test server. The CLI tests never skip: without
/// the binary they fail and say how to install it.
/// </summary>
public sealed class OpenStackCli(string endpoint, params string[] auth)
{
    /// <summary>No authentication (the CLI still sends a placeholder token, which a no-auth server ignores).</summary>
    public static OpenStackCli NoAuth(string endpoint) => new(endpoint, "--os-auth-type", "none", "--os-endpoint", endpoint);

    /// <summary>A fixed token and endpoint (keystoneauth's admin_token plugin; no Keystone involved).</summary>
    public static OpenStackCli Token(string endpoint, string token) =>
        new(endpoint, "--os-auth-type", "admin_token", "--os-endpoint", endpoint, "--os-token", token);

    /// <summary>
    /// A user's password through Keystone (<paramref name="authUrl"/>), the API found in Keystone's catalog (the
    /// network service's public endpoint in <paramref name="region"/>), as a cloud's users run the CLI.
    /// </summary>
    public static OpenStackCli Password(string authUrl, string region, string user, string password, string project) =>
        new(authUrl, "--os-auth-type", "password", "--os-auth-url", authUrl, "--os-identity-api-version", "3",
            "--os-username", user, "--os-password", password, "--os-user-domain-name", "Default",
            "--os-project-name", project, "--os-project-domain-name", "Default", "--os-region-name", region, "--os-interface", "public");

    public static string Binary { get; } = Locate();

    private static string Locate()
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "openstack")).FirstOrDefault(File.Exists);
        return found ?? "";
    }

    /// <summary>Runs a command and returns its output; fails the test (with stderr) when it exits non-zero.</summary>
    public async Task<string> RunAsync(params string[] args)
    {
        var (exit, output, error) = await TryAsync(args);
        Assert.True(exit == 0, $"openstack {string.Join(' ', args)} exited with {exit}:\n{error}\n{output}");
        return output;
    }

    /// <summary>Runs a command with <c>-f json</c> and parses its output.</summary>
    public async Task<JsonNode> JsonAsync(params string[] args) => JsonNode.Parse(await RunAsync([.. args, "-f", "json"]))!;

    public async Task<(int Exit, string Output, string Error)> TryAsync(params string[] args)
    {
        if (Binary.Length == 0)
            Assert.Fail("The openstack CLI is not installed: run 'apt-get install -y python3-openstackclient' (test.sh installs it).");
        var info = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in auth.Concat(args)) info.ArgumentList.Add(a);
        // Only the arguments choose the cloud: no clouds.yaml or OS_* variables of the machine.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("OS_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(key);
        info.Environment["HOME"] = Path.GetTempPath();
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"openstack {string.Join(' ', args)} against {endpoint} did not finish in 90 s");
        }
        return (process.ExitCode, await output, await error);
    }
}
