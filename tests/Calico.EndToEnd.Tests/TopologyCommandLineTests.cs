using Calico.Topology.Commands;

namespace Calico.EndToEnd.Tests;

/// <summary>
/// scripts/topology.sh's program refuses a wrong command line with the reason, the usage line and exit code 2 before
/// it builds anything (these inputs never reach a namespace), and answers help with exit code 0.
/// </summary>
public sealed class TopologyCommandLineTests
{
    private static async Task<(int Exit, string Output, string Error)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await TopologyCommandLine.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("up --racks 3", "topology up: --racks must be 1 or 2 (usage: topology up [--hosts N] [--vms-per-host M] [--racks 1|2])")]
    [InlineData("up --hosts 0", "topology up: --hosts must be 1..17 (usage: topology up [--hosts N] [--vms-per-host M] [--racks 1|2])")]
    [InlineData("up --hosts 18", "topology up: --hosts must be 1..17")]
    [InlineData("up --hosts 4 --vms-per-host 51", "topology up: --vms-per-host must be 0 or more, and at most 200 VMs in all")]
    [InlineData("up --hosts many", "topology up: Cannot parse argument 'many' for option '--hosts'")]
    [InlineData("up --frobnicate", "topology up: unknown argument '--frobnicate' (usage: topology up [--hosts N] [--vms-per-host M] [--racks 1|2])")]
    [InlineData("down --now", "topology down: unknown argument '--now' (usage: topology down [--force])")]
    [InlineData("sideways", "usage: topology up [--hosts N] [--vms-per-host M]")]
    [InlineData("", "usage: topology up [--hosts N] [--vms-per-host M]")]
    public async Task A_bad_command_line_gets_the_reason_and_exit_code_2(string args, string message)
    {
        var (exit, output, error) = await Run(args.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(2, exit);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Theory]
    [InlineData("help", "topology down [--force]")]
    [InlineData("--help", "topology down [--force]")]
    [InlineData("up --help", "--vms-per-host <M>")]
    [InlineData("down --help", "--force")]
    public async Task Help_goes_to_stdout_with_exit_code_0(string args, string text)
    {
        var (exit, output, error) = await Run(args.Split(' '));

        Assert.Equal(0, exit);
        Assert.Contains(text, output, StringComparison.Ordinal);
        Assert.Equal("", error);
    }
}
