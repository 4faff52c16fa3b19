using System.Net;
using System.Text.Json;
using Calico.Netlink.Namespaces;

namespace Calico.Topology.Kernel;

/// <summary>
/// One named network namespace of a topology, and the ways to look into it without ever leaving the machine's own
/// namespace: <c>ip -n NAME ...</c>, <c>ip netns exec NAME command</c>, and <see cref="Open"/> for sockets created
/// inside it from this process (<see cref="NetworkNamespace"/> switches one dedicated thread, never the process).
/// </summary>
public sealed class Netns(string name)
{
    public string Name { get; } = name;

    public override string ToString() => Name;

    /// <summary>Runs <c>ip -n NAME args...</c>; a non-zero exit throws with ip's message.</summary>
    public Task<string> IpAsync(params string[] args) => Shell.RunAsync("ip", ["-n", Name, .. args]);

    public Task<CommandResult> TryIpAsync(params string[] args) => Shell.TryRunAsync("ip", ["-n", Name, .. args]);

    /// <summary>Runs a command inside the namespace (<c>ip netns exec NAME command...</c>).</summary>
    public Task<string> ExecAsync(params string[] command) => Shell.RunAsync("ip", ["netns", "exec", Name, .. command]);

    public Task<CommandResult> TryExecAsync(TimeSpan timeout, params string[] command) =>
        Shell.TryRunAsync("ip", ["netns", "exec", Name, .. command], timeout);

    /// <summary>A handle to run code in the namespace; dispose it when done.</summary>
    public NetworkNamespace Open() => NetworkNamespace.Open(Name);

    /// <summary>The IPv4 routes of the main table, optionally only those of one protocol (<c>ip -j route show proto N</c>).</summary>
    public async Task<IReadOnlyList<KernelRoute>> RoutesAsync(int? protocol = null)
    {
        string[] args = protocol is { } p ? ["-j", "-4", "route", "show", "proto", $"{p}"] : ["-j", "-4", "route", "show"];
        return KernelRoute.ParseJson(await IpAsync(args));
    }

    /// <summary>The same as text, one route a line, sorted: what an operator compares before and after.</summary>
    public async Task<string> RouteTextAsync(int protocol) =>
        string.Join('\n', (await IpAsync("-4", "route", "show", "proto", $"{protocol}"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal));

    /// <summary>One ping (<c>ping -c 1 -W seconds</c>) from inside the namespace; true if answered.</summary>
    public async Task<bool> PingAsync(IPAddress target, int waitSeconds = 2)
    {
        var result = await TryExecAsync(TimeSpan.FromSeconds(waitSeconds + 10), "ping", "-n", "-c", "1", "-W", $"{waitSeconds}", target.ToString());
        return result.Succeeded;
    }

    /// <summary>Process ids whose network namespace this is (<c>ip netns pids</c>).</summary>
    public static IReadOnlyList<int> PidsIn(string name)
    {
        var result = Shell.TryRun("ip", "netns", "pids", name);
        return result.Succeeded
            ? [.. result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse)]
            : [];
    }

    /// <summary>Names of every named namespace on the machine (<c>ip netns list</c>).</summary>
    public static IReadOnlyList<string> List()
    {
        var result = Shell.TryRun("ip", "-j", "netns", "list");
        if (!result.Succeeded || result.Output.Trim().Length == 0) return [];
        using var json = JsonDocument.Parse(result.Output);
        return [.. json.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()!)];
    }
}

/// <summary>A route as <c>ip -j route</c> shows it; the destination always with its length (10.65.0.3/32).</summary>
public sealed record KernelRoute(string Destination, string Type, string? Gateway, string? Device, string? Protocol, string? Scope)
{
    public IPNetwork Network => Destination == "default" ? new IPNetwork(IPAddress.Any, 0) : IPNetwork.Parse(Destination);

    public bool Covers(IPAddress address) => Network.Contains(address);

    public bool IsHostRoute => Network.PrefixLength == 32;

    public override string ToString() =>
        string.Join(' ', new[]
        {
            Type == "unicast" ? null : Type, Destination, Gateway is null ? null : $"via {Gateway}", Device is null ? null : $"dev {Device}",
            Protocol is null ? null : $"proto {Protocol}", Scope is null or "global" ? null : $"scope {Scope}",
        }.Where(p => p is not null));

    public static IReadOnlyList<KernelRoute> ParseJson(string json)
    {
        if (json.Trim().Length == 0) return [];
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(Parse)];
    }

    private static KernelRoute Parse(JsonElement e)
    {
        var destination = Text(e, "dst") ?? "default";
        if (destination != "default" && !destination.Contains('/', StringComparison.Ordinal))
            destination += IPAddress.Parse(destination).AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? "/32" : "/128";
        return new KernelRoute(destination, Text(e, "type") ?? "unicast", Text(e, "gateway"), Text(e, "dev"), Text(e, "protocol"), Text(e, "scope"));
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.ToString() : null;
}
