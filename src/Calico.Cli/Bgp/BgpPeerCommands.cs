using System.CommandLine;
using Calico.Cli.CommandLine;
using Calico.Grains;
using Calico.Model.Resources;

namespace Calico.Cli.Bgp;

/// <summary>
/// <c>calicoctl bgp peer add --address A --as N [--password P] [--host H | --host-label k=v] [--multihop]</c>: an
/// operator's BGP peer, global (every host peers with it) or for the hosts selected. Refused (exit 2, nothing
/// stored) when invalid, when a peer at that address exists, or when a host it selects has that address.
/// </summary>
public sealed class BgpPeerAddCommand : ICliCommand
{
    private static readonly Option<string> As = CliOptions.Text("--as", "number", "the peer's AS number, 1..4294967295 (required)");
    private static readonly Option<string> Password = CliOptions.Text("--password", "secret", "the session's password (TCP MD5), at most 80 characters");
    private static readonly Option<string> Host = CliOptions.Text("--host", "name", "only this host peers with it");
    private static readonly Option<string> HostLabel = CliOptions.Text("--host-label", "key=value", "only the hosts with this label peer with it (e.g. rack=r1)");
    private static readonly Option<bool> Multihop = CliOptions.Flag("--multihop", "an eBGP peer that is not on the hosts' segment");

    public IReadOnlyList<string> Path { get; } = ["bgp", "peer", "add"];

    public string Summary => "Add a BGP peer (a top-of-rack router, an external route reflector): global, or for some hosts.";

    public IReadOnlyList<Option> Options { get; } = [BgpArguments.Address, As, Password, Host, HostLabel, Multihop];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var address = BgpArguments.RequiredAddress(context);
        var asNumber = BgpArguments.AsNumber("--as", context.Options.GetValue(As))
            ?? throw new CliUsageException("--as is required: the peer's AS number");
        var peer = new BgpPeer(address, asNumber, context.Options.GetValue(Password), context.Options.GetValue(Host),
            context.Options.GetValue(HostLabel), context.Options.GetValue(Multihop));
        var client = await context.Connect(cancellationToken);
        var code = await BgpArguments.RefusedAsync(context, "bgp peer add",
            () => client.GetGrain<IBgpPeerGrain>(peer.Key).CreateAsync(peer).WaitAsync(cancellationToken));
        if (code == ExitCodes.Ok) await context.Output.WriteLineAsync($"BGP peer {peer.Key} (AS {peer.AsNumber}) added for {peer.Scope}");
        return code;
    }
}

/// <summary><c>calicoctl bgp peer list</c>: every peer, its AS, whom it is for, and whether a password is set (never the password).</summary>
public sealed class BgpPeerListCommand : ICliCommand
{
    public IReadOnlyList<string> Path { get; } = ["bgp", "peer", "list"];

    public string Summary => "List the BGP peers (passwords shown as set or unset).";

    public IReadOnlyList<Option> Options { get; } = [];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var client = await context.Connect(cancellationToken);
        var peers = await client.GetGrain<IBgpConfigurationGrain>(BgpConfiguration.DefaultKey).ListPeersAsync().WaitAsync(cancellationToken);
        // IPv6 addresses are wider than the usual column: it grows to the longest.
        var width = peers.Select(v => v.Value.Key.Length).Append(16).Max();
        await context.Output.WriteLineAsync($"{"ADDRESS".PadRight(width)} {"AS",-11} {"PASSWORD",-9} {"MULTIHOP",-9} FOR");
        foreach (var p in peers.Select(v => v.Value))
            await context.Output.WriteLineAsync($"{p.Key.PadRight(width)} {p.AsNumber,-11} {(p.Password is null ? "unset" : "set"),-9} {(p.Multihop ? "yes" : "no"),-9} {p.Scope}");
        return ExitCodes.Ok;
    }
}

/// <summary><c>calicoctl bgp peer show --address A</c>: one peer (exit 1 if there is none).</summary>
public sealed class BgpPeerShowCommand : ICliCommand
{
    public IReadOnlyList<string> Path { get; } = ["bgp", "peer", "show"];

    public string Summary => "Show one BGP peer.";

    public IReadOnlyList<Option> Options { get; } = [BgpArguments.Address];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var address = BgpArguments.RequiredAddress(context);
        var client = await context.Connect(cancellationToken);
        if (await client.GetGrain<IBgpPeerGrain>(address.ToString()).GetAsync().WaitAsync(cancellationToken) is not { } stored)
        {
            await context.Error.WriteLineAsync($"calicoctl bgp peer show: no BGP peer at {address}");
            return ExitCodes.ProblemsRemain;
        }
        var p = stored.Value;
        await context.Output.WriteLineAsync($"address:   {p.Key}");
        await context.Output.WriteLineAsync($"as:        {p.AsNumber}");
        await context.Output.WriteLineAsync($"password:  {(p.Password is null ? "unset" : "set")}");
        await context.Output.WriteLineAsync($"multihop:  {(p.Multihop ? "yes" : "no")}");
        await context.Output.WriteLineAsync($"for:       {p.Scope}");
        await context.Output.WriteLineAsync($"revision:  {stored.Revision} (updated {stored.UpdatedAt:u})");
        return ExitCodes.Ok;
    }
}

/// <summary><c>calicoctl bgp peer delete --address A</c>: the hosts that peered with it drop the session.</summary>
public sealed class BgpPeerDeleteCommand : ICliCommand
{
    public IReadOnlyList<string> Path { get; } = ["bgp", "peer", "delete"];

    public string Summary => "Delete a BGP peer.";

    public IReadOnlyList<Option> Options { get; } = [BgpArguments.Address];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var address = BgpArguments.RequiredAddress(context);
        var client = await context.Connect(cancellationToken);
        var code = await BgpArguments.RefusedAsync(context, "bgp peer delete",
            () => client.GetGrain<IBgpPeerGrain>(address.ToString()).DeleteAsync().WaitAsync(cancellationToken));
        if (code == ExitCodes.Ok) await context.Output.WriteLineAsync($"BGP peer {address} deleted");
        return code;
    }
}
