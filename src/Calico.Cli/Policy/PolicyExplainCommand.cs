using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Calico.Cli.CommandLine;
using Calico.Cli.Endpoints;
using Calico.Cli.Output;
using Calico.Grains;
using Calico.Model.Net;

namespace Calico.Cli.Policy;

/// <summary>
/// <c>calicoctl policy explain --from PORT --to PORT|ADDRESS --protocol P [--port N]</c>: would the first packet of a
/// new connection from a port be allowed or dropped, and by which rule or for lack of one — computed from the desired
/// state of the two ports' hosts as their calculator shard holds it (<see cref="PolicyExplainer"/>), not from a kernel.
/// The source address is the port's own of the destination's family unless <c>--from-address</c> names another (to
/// ask about anti-spoofing). A destination address is matched to a port by its fixed IPs, then by floating IPs.
/// Exit 0 allowed, 1 dropped, 2 bad input (an unknown port named as such), 3 cluster unreachable.
/// </summary>
public sealed class PolicyExplainCommand : ICliCommand
{
    private static readonly Option<string> From = CliOptions.Text("--from", "port", "the sending port, by id or name (required)");
    private static readonly Option<string> To = CliOptions.Text("--to", "port|address", "the receiving port (id or name) or an address (required)");
    private static readonly Option<string> Protocol = CliOptions.Text("--protocol", "name|number", "tcp, udp, icmp, sctp, ... or a number (required)");
    private static readonly Option<int?> Port = new("--port")
    {
        Description = "the destination port (tcp, udp, sctp, dccp, udplite) or the ICMP type (default 8, echo request)",
        HelpName = "n",
        Validators = { r => { if (r.GetValueOrDefault<int?>() is < 0 or > 65535) r.AddError("--port must be 0..65535"); } },
    };
    private static readonly Option<string> FromAddress = CliOptions.Text("--from-address", "address",
        "the source address the packet carries (default: the sending port's own address of the destination's family)");

    public IReadOnlyList<string> Path { get; } = ["policy", "explain"];

    public string Summary => "Say whether a packet between ports (or to an address) is allowed or dropped, and by which rule.";

    public IReadOnlyList<Option> Options { get; } = [From, To, Protocol, Port, FromAddress, CliOptions.Json];

    public async Task<int> RunAsync(CliContext context, CancellationToken cancellationToken)
    {
        var fromText = Required(context, From, "the sending port's id or name");
        var toText = Required(context, To, "the receiving port's id or name, or an address");
        var protocolText = Required(context, Protocol, "tcp, udp, icmp, ... or a number");
        if (!IpProtocols.TryParse(protocolText, out var parsedProtocol, out var error) || parsedProtocol is null)
            throw new CliUsageException($"--protocol {error ?? "'" + protocolText + "': name one protocol (tcp, udp, icmp, ...), not any"}");
        var port = context.Options.GetValue(Port);
        var fromAddressText = context.Options.GetValue(FromAddress);
        IPAddress? fromAddress = null;
        if (fromAddressText is not null && !IPAddress.TryParse(fromAddressText, out fromAddress))
            throw new CliUsageException($"--from-address '{fromAddressText}' is not an IP address");
        var toAddressGiven = IPAddress.TryParse(toText, out var toAddress);

        var client = await context.Connect(cancellationToken);
        var grain = client.GetGrain<IOperatorGrain>(0);
        if (await EndpointShowCommand.FindAsync(context, client, "policy explain", "--from", fromText, cancellationToken) is not { } source)
            return ExitCodes.Usage;
        if (!source.Port.IsBound)
        {
            await context.Error.WriteLineAsync($"calicoctl policy explain: --from {fromText}: port {source.Port.Id} is not bound to a host, so it sends nothing");
            return ExitCodes.Usage;
        }
        EndpointSummary? destination = null;
        string? floatingIp = null;
        if (toAddressGiven)
        {
            if (await grain.FindAddressAsync(toAddress!).WaitAsync(cancellationToken) is { } owner)
            {
                destination = (await grain.FindEndpointsAsync(owner.PortId).WaitAsync(cancellationToken)).FirstOrDefault(e => e.Port.Id == owner.PortId);
                floatingIp = owner.FloatingIpId;
            }
        }
        else if (await EndpointShowCommand.FindAsync(context, client, "policy explain", "--to", toText, cancellationToken) is { } found)
        {
            destination = found;
        }
        else
        {
            return ExitCodes.Usage;
        }

        // The family: the address given, else the first the two ports share (IPv4 first).
        var family = toAddress?.AddressFamily
                     ?? (fromAddress?.AddressFamily is { } f && destination!.Port.Addresses.Any(a => a.AddressFamily == f) ? f : (AddressFamily?)null)
                     ?? new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 }.FirstOrDefault(af =>
                         source.Port.Addresses.Any(a => a.AddressFamily == af) && destination!.Port.Addresses.Any(a => a.AddressFamily == af));
        var destinationAddress = toAddress ?? destination!.Port.Addresses.FirstOrDefault(a => a.AddressFamily == family);
        var sourceAddress = fromAddress ?? source.Port.Addresses.FirstOrDefault(a => a.AddressFamily == family);
        if (destinationAddress is null || sourceAddress is null || sourceAddress.AddressFamily != destinationAddress.AddressFamily)
        {
            await context.Error.WriteLineAsync($"calicoctl policy explain: {source.Port.Id} ({string.Join(", ", source.Port.Addresses)}) and {toText} " +
                                               "share no IP version: give --to an address, or --from-address, of one family");
            return ExitCodes.Usage;
        }
        var protocol = parsedProtocol.Value;
        if (protocol == IpProtocols.Icmp && destinationAddress.AddressFamily == AddressFamily.InterNetworkV6) protocol = IpProtocols.Icmpv6;
        if (protocol is IpProtocols.Icmp or IpProtocols.Icmpv6) port ??= protocol == IpProtocols.Icmp ? 8 : 128;
        else if (port is null && protocol is IpProtocols.Tcp or IpProtocols.Udp or IpProtocols.Sctp or IpProtocols.Dccp or IpProtocols.UdpLite)
            throw new CliUsageException($"--port is required with --protocol {protocolText}: the destination port");
        var packet = new ExplainPacket(sourceAddress, destinationAddress, protocol, port);

        var sourceView = new HostPolicyView(source.Port.Host!, await grain.GetDesiredStateAsync(source.Port.Host!).WaitAsync(cancellationToken));
        var destinationView = destination?.Port.Host is { Length: > 0 } dh
            ? dh == source.Port.Host ? sourceView : new HostPolicyView(dh, await grain.GetDesiredStateAsync(dh).WaitAsync(cancellationToken))
            : null;
        if (destination is not null && destinationView is null)
        {
            await context.Error.WriteLineAsync($"calicoctl policy explain: --to {toText}: port {destination.Port.Id} is not bound to a host, so it receives nothing");
            return ExitCodes.Usage;
        }
        var explanation = PolicyExplainer.Explain(sourceView, source.Port.Id, destinationView, destination?.Port.Id, packet);

        // Groups by name as well, for people: every group of the two ports (the explanation names them by id).
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in source.Port.SecurityGroupIds.Concat(destination?.Port.SecurityGroupIds ?? []).Distinct(StringComparer.Ordinal))
            if (await grain.GetSecurityGroupAsync(id).WaitAsync(cancellationToken) is { } group) names[id] = group.Name;

        var toWhat = destination is null ? $"address {destinationAddress} (no port's)"
            : $"port {destination.Port.Id}{Name(destination)} on host {destination.Port.Host}" + (floatingIp is null ? "" : $" (by floating IP {floatingIp})");
        if (context.Options.GetValue(CliOptions.Json))
        {
            await CliTable.WriteJsonAsync(context.Output, new JsonObject
            {
                ["verdict"] = explanation.Allowed ? "allowed" : "dropped",
                ["from_port"] = source.Port.Id, ["from_host"] = source.Port.Host,
                ["to_port"] = destination?.Port.Id, ["to_host"] = destination?.Port.Host, ["floating_ip"] = floatingIp,
                ["packet"] = new JsonObject
                {
                    ["ethertype"] = packet.EtherType.ToString(), ["protocol"] = IpProtocols.Name(packet.Protocol), ["source"] = packet.Source.ToString(),
                    ["destination"] = packet.Destination.ToString(), ["port"] = packet.Port,
                },
                ["rule"] = explanation.Decisive.RuleId, ["security_group"] = explanation.Decisive.GroupId, ["reason"] = explanation.Decisive.Reason,
                ["security_group_names"] = new JsonObject([.. names.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))]),
                ["steps"] = new JsonArray([.. explanation.Steps.Select(s => (JsonNode)new JsonObject
                {
                    ["stage"] = s.Stage, ["host"] = s.Host, ["passed"] = s.Passed, ["reason"] = s.Reason, ["security_group"] = s.GroupId, ["rule"] = s.RuleId,
                })]),
            });
        }
        else
        {
            var o = context.Output;
            await o.WriteLineAsync($"from: port {source.Port.Id}{Name(source)} on host {source.Port.Host}");
            await o.WriteLineAsync($"to:   {toWhat}");
            await o.WriteLineAsync($"packet: {packet} (the first of a new connection)");
            await CliTable.WriteAsync(o, ["#", "STAGE", "HOST", "RESULT", "WHY"],
                explanation.Steps.Select((s, i) => (IReadOnlyList<string>)[(i + 1).ToString(CultureInfo.InvariantCulture), s.Stage, s.Host,
                    s.Passed ? "pass" : "DROP", s.Reason]), "  ");
            if (names.Count > 0)
                await o.WriteLineAsync($"security groups: {string.Join(", ", names.Select(kv => $"{kv.Key} = {kv.Value}"))}");
            await o.WriteLineAsync(explanation.Allowed
                ? $"verdict: ALLOWED{(explanation.Steps.LastOrDefault(s => s.RuleId is not null) is { } r ? $" (last by security group {r.GroupId} rule {r.RuleId})" : "")}"
                : $"verdict: DROPPED ({explanation.Decisive.Stage}: {explanation.Decisive.Reason})");
        }
        return explanation.Allowed ? ExitCodes.Ok : ExitCodes.ProblemsRemain;
    }

    private static string Name(EndpointSummary e) => e.Port.Name.Length > 0 ? $" ({e.Port.Name})" : "";

    private static string Required(CliContext context, Option<string> option, string what)
    {
        var value = context.Options.GetValue(option);
        return string.IsNullOrWhiteSpace(value) ? throw new CliUsageException($"{option.Name} is required: {what}") : value;
    }
}
