using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Calico.Cli.Output;

/// <summary>
/// How the operator commands print: a table with a header row and columns as wide as their widest cell (the last
/// column unpadded), or with <c>--json</c> one indented JSON document for scripts.
/// </summary>
public static class CliTable
{
    public static async Task WriteAsync(TextWriter output, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, string indent = "")
    {
        var all = rows.ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        await output.WriteLineAsync(indent + Line(headers, widths));
        foreach (var row in all) await output.WriteLineAsync(indent + Line(row, widths));
    }

    private static string Line(IReadOnlyList<string> cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd();

    public static Task WriteJsonAsync(TextWriter output, JsonNode json) =>
        output.WriteLineAsync(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>A time as the commands print it: UTC, to the second.</summary>
    public static string Time(DateTimeOffset? at) => at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z" : "-";

    /// <summary>How long ago, short: 4s, 3m12s, 2h5m, 3d.</summary>
    public static string Ago(DateTimeOffset? at, DateTimeOffset now)
    {
        if (at is not { } t) return "never";
        var d = now - t;
        if (d < TimeSpan.Zero) d = TimeSpan.Zero;
        return d.TotalSeconds < 60 ? $"{(int)d.TotalSeconds}s ago"
            : d.TotalMinutes < 60 ? $"{(int)d.TotalMinutes}m{d.Seconds}s ago"
            : d.TotalHours < 48 ? $"{(int)d.TotalHours}h{d.Minutes}m ago"
            : $"{(int)d.TotalDays}d ago";
    }

    public static string? Iso(DateTimeOffset? at) => at?.UtcDateTime.ToString("o", CultureInfo.InvariantCulture);
}
