using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Calico.Model.Resources;

namespace Calico.Dataplane.Linux.Bgp;

/// <summary>
/// Reads BIRD 2's <c>show protocols all</c> into the host's BGP sessions: one per `protocol bgp` of ours (Mesh_,
/// Global_, Node_), with its BGP state, since when, routes imported from the peer and the last error. Tolerant of
/// what it does not know: lines it does not recognise are skipped, a missing field stays null, and the time is read
/// in both of BIRD's formats (our configuration asks for `iso long`; BIRD's default prints only the time of day for
/// today). Tested against output captured from real BIRDs in test namespaces.
/// </summary>
public static partial class BirdStatus
{
    // Name, protocol, table, state, since (iso long "2026-12-07 05:02:53" or short "05:02:41.299"), info.
    [GeneratedRegex(@"^(?<name>\S+)\s+(?<proto>\S+)\s+(?<table>\S+)\s+(?<state>\S+)\s+(?<since>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?|\S+)\s*(?<info>.*?)\s*$")]
    private static partial Regex Header();

    [GeneratedRegex(@"^\s+Routes:\s+(?<imported>\d+) imported")]
    private static partial Regex Routes();

    [GeneratedRegex(@"^\s+(?<key>[A-Za-z][A-Za-z ]*?):\s+(?<value>.*?)\s*$")]
    private static partial Regex Field();

    /// <summary>The sessions in <paramref name="output"/>; <paramref name="today"/> dates BIRD's short times.</summary>
    public static List<BgpSession> Parse(string output, DateOnly today)
    {
        var sessions = new List<BgpSession>();
        Block? block = null;
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith("BIRD ", StringComparison.Ordinal) || line.StartsWith("Name ", StringComparison.Ordinal)) continue;
            if (!char.IsWhiteSpace(line[0]))
            {
                Add(block);
                block = Header().Match(line) is { Success: true } m && m.Groups["proto"].Value == "BGP"
                    ? new Block(m.Groups["name"].Value, m.Groups["state"].Value, ParseSince(m.Groups["since"].Value, today), m.Groups["info"].Value)
                    : null;
                continue;
            }
            if (block is null) continue;
            if (Routes().Match(line) is { Success: true } r) block.Routes ??= int.Parse(r.Groups["imported"].Value, CultureInfo.InvariantCulture);
            else if (Field().Match(line) is { Success: true } f)
            {
                switch (f.Groups["key"].Value)
                {
                    case "BGP state": block.BgpState = f.Groups["value"].Value; break;
                    case "Neighbor address": block.Neighbor = IPAddress.TryParse(f.Groups["value"].Value, out var a) ? a : null; break;
                    case "Last error": block.LastError = f.Groups["value"].Value; break;
                }
            }
        }
        Add(block);
        return sessions;

        void Add(Block? b)
        {
            if (b is null) return;
            var peer = b.Neighbor ?? BirdConfiguration.AddressOfProtocol(b.Name);
            if (peer is null) return;
            // The header's info starts with the BGP state ("Established", "Connect  Socket: ..."): keep what follows.
            var state = b.BgpState ?? FirstWord(b.Info) ?? b.ProtocolState;
            var info = b.LastError ?? Rest(b.Info);
            sessions.Add(new BgpSession(peer, b.Name, state, b.Since, b.Routes, string.IsNullOrEmpty(info) ? null : info));
        }
    }

    private static DateTimeOffset? ParseSince(string text, DateOnly today)
    {
        var styles = DateTimeStyles.AssumeLocal;
        if (DateTime.TryParseExact(text, ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.fff"], CultureInfo.InvariantCulture, styles, out var full))
            return new DateTimeOffset(full);
        if (TimeOnly.TryParseExact(text, ["HH:mm:ss.fff", "HH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
            return new DateTimeOffset(today.ToDateTime(time, DateTimeKind.Local));
        return null;
    }

    private static string? FirstWord(string info) => info.Length == 0 ? null : info.Split(' ', 2)[0];

    private static string Rest(string info) => info.Split(' ', 2) is [_, var rest] ? rest.Trim() : "";

    private sealed class Block(string name, string protocolState, DateTimeOffset? since, string info)
    {
        public string Name { get; } = name;
        public string ProtocolState { get; } = protocolState;
        public DateTimeOffset? Since { get; } = since;
        public string Info { get; } = info;
        public string? BgpState { get; set; }
        public IPAddress? Neighbor { get; set; }
        public string? LastError { get; set; }
        public int? Routes { get; set; }
    }
}
