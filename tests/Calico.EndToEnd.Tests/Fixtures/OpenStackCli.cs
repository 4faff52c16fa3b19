using Calico.Topology;
using Calico.Topology.Kernel;

namespace Calico.EndToEnd.Tests.Fixtures;

/// <summary>
/// Debian's openstack CLI (python3-openstackclient), unchanged, run inside the controller's namespace against the
/// topology's API without authentication. Its HOME is the run's temporary directory, so its caches go with the run.
/// Never skips: without the binary the test fails and says how to install it.
/// </summary>
public sealed class OpenStackCli(NamespaceTopology topology)
{
    public async Task<string> RunAsync(params string[] args)
    {
        if (!File.Exists("/usr/bin/openstack") && !File.Exists("/usr/local/bin/openstack"))
            Assert.Fail("The openstack CLI is not installed: run 'apt-get install -y python3-openstackclient' (test.sh installs it).");
        var command = topology.Controller.OpenStackCommand.Concat(args).ToList();
        var home = Path.Combine(topology.TempDirectory, "openstack-home");
        Directory.CreateDirectory(home);
        var result = await Shell.TryRunAsync(command[0], command.Skip(1), TimeSpan.FromSeconds(90),
            environment: new Dictionary<string, string> { ["HOME"] = home });
        Assert.True(result.Succeeded, $"{Shell.Describe(command[0], command.Skip(1))} exited with {result.ExitCode}:\n{result.Error}\n{result.Output}");
        return result.Output;
    }

    /// <summary>Runs a command with <c>-f json</c> and parses its output.</summary>
    public async Task<JsonNode> JsonAsync(params string[] args) => JsonNode.Parse(await RunAsync([.. args, "-f", "json"]))!;
}
