using System.CommandLine;
using Calico.Cli.CommandLine;
using Calico.Grains;
using Calico.Model.Resources;

namespace Calico.Cli.Bgp;

/// <summary>
/// <c>calicoctl bgp config [--mesh on|off] [--as N]</c>: the cluster's BGP settings, changed at run time (every
/// host's peers follow), then printed. Without options, printed only. An AS number not set here is
/// <c>Routing:AsNumber</c> of the controllers (default 64512).
/// </summary>
public sealed class BgpConfigCommand : ICliCommand
{
    private static readonly Option<string> Mesh = new("--mesh")
    {
        Description = "the node-to-node mesh: on (every host peers with every other) or off (only the BGP peers and route reflectors)",
        HelpName = "on|off",
        Validators = { r => { if (r.GetValueOrDefault<string>() is not (null or "on" or "off")) r.AddError("--mesh must be on or off"); } },
    };
    private static readonly Option<string> As = CliOptions.Text("--as", "number", "the AS number of hosts that register none, 1..4294967295");

    public IReadOnlyList<string> Path { get; } = ["bgp", "config"];

    public string Summary => "Show or change the cluster's BGP settings (node-to-node mesh on/off, AS number).";

    public IReadOnlyList<Option> Options { get; } = [Mesh, As];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var mesh = context.Options.GetValue(Mesh);
        var asNumber = BgpArguments.AsNumber("--as", context.Options.GetValue(As));
        var client = await context.Connect(cancellationToken);
        var grain = client.GetGrain<IBgpConfigurationGrain>(BgpConfiguration.DefaultKey);
        var stored = await grain.GetAsync().WaitAsync(cancellationToken);
        var current = stored?.Value ?? new BgpConfiguration();
        var wanted = current with
        {
            NodeToNodeMesh = mesh is null ? current.NodeToNodeMesh : mesh == "on",
            AsNumber = asNumber ?? current.AsNumber,
        };
        if (wanted != current || (stored is null && (mesh is not null || asNumber is not null)))
        {
            var code = await BgpArguments.RefusedAsync(context, "bgp config",
                () => grain.PutAsync(wanted, stored?.Revision).WaitAsync(cancellationToken));
            if (code != ExitCodes.Ok) return code;
        }
        await context.Output.WriteLineAsync($"node-to-node mesh: {(wanted.NodeToNodeMesh ? "on" : "off")}");
        await context.Output.WriteLineAsync($"as number:         {(wanted.AsNumber is { } n ? n.ToString() : "as configured (Routing:AsNumber, default 64512)")}");
        return ExitCodes.Ok;
    }
}
