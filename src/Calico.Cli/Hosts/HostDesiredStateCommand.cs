using System.CommandLine;
using Calico.Cli.CommandLine;
using Calico.Grains;
using Calico.Model.Desired;

namespace Calico.Cli.Hosts;

/// <summary>
/// <c>calicoctl host desired-state --host NAME</c>: the host's complete desired state as the calculator holds it, in
/// the file format of <c>calico-silo dataplane plan|apply --file</c> (<see cref="DesiredStateJson"/>), so that an
/// operator (or the soak) can ask a host's own reconcilers whether its kernel holds it. With <c>--resync</c> every
/// calculator shard first re-reads the store, so what is printed is recomputed from what is stored rather than from
/// the notifications the calculator was sent. Every shard is asked (a host's items are on the one shard that serves
/// it), so the command needs to know how many there are: <c>--shards</c>, the cluster's <c>Calculator:Shards</c>.
/// BGP peers' passwords are hidden unless <c>--show-passwords</c> is given.
/// </summary>
public sealed class HostDesiredStateCommand : ICliCommand
{
    private static readonly Option<string> Host = CliOptions.Text("--host", "name", "the host, as ports name it in binding:host_id (required)");
    private static readonly Option<int?> Shards = new("--shards")
    {
        Description = "the cluster's Calculator:Shards (default 1)",
        HelpName = "n",
        Validators = { r => { if (r.GetValueOrDefault<int?>() is < 1) r.AddError("--shards must be at least 1"); } },
    };
    private static readonly Option<bool> Resync = CliOptions.Flag("--resync", "recompute from the store first (every shard re-reads it)");
    private static readonly Option<bool> ShowPasswords = CliOptions.Flag("--show-passwords",
        "print BGP peers' passwords as they are (hidden by default; needed for a file that dataplane plan compares exactly)");

    /// <summary>What a hidden password is printed as.</summary>
    public const string HiddenPassword = "(hidden: --show-passwords prints it)";

    public IReadOnlyList<string> Path { get; } = ["host", "desired-state"];

    public string Summary => "Print a host's desired state as a dataplane file (for calico-silo dataplane plan --file).";

    public IReadOnlyList<Option> Options { get; } = [Host, Shards, Resync, ShowPasswords];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var host = context.Options.GetValue(Host);
        if (string.IsNullOrWhiteSpace(host)) throw new CliUsageException("--host is required: the host's name, as ports name it in binding:host_id");
        var shards = context.Options.GetValue(Shards) ?? 1;
        var client = await context.Connect(cancellationToken);
        var calculators = Enumerable.Range(0, shards).Select(s => client.GetGrain<IDesiredStateCalculatorGrain>(s)).ToList();
        if (context.Options.GetValue(Resync)) await Task.WhenAll(calculators.Select(c => c.ResyncAsync())).WaitAsync(cancellationToken);
        var pushes = await Task.WhenAll(calculators.Select(c => c.GetHostStateAsync(host))).WaitAsync(cancellationToken);
        var items = pushes.SelectMany(p => p.Changes).Select(c => c.Item).OfType<DesiredItem>();
        if (!context.Options.GetValue(ShowPasswords))
            items = items.Select(i => i is BgpPeerItem { Password: not null } peer ? peer with { Password = HiddenPassword } : i);
        await context.Output.WriteLineAsync(DesiredStateJson.Serialize(items));
        return ExitCodes.Ok;
    }
}
