using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Calico.Topology.Kernel;

/// <summary>
/// The name prefix of one run: <c>cal-e2e-1a2b3c-</c> (tests), <c>cal-topo-1a2b3c-</c> (by hand) or
/// <c>cal-bench-1a2b3c-</c> (benchmarks). Everything a run
/// creates carries it: namespaces (<c>cal-e2e-1a2b3c-h1</c>), their /etc/netns directories, the temporary directory
/// (<c>/tmp/cal-e2e-1a2b3c</c>) and hence the command lines of the silos (their data directory is inside it). So the
/// leftovers of a crashed run can be found, and told apart from another run's, by name alone.
/// </summary>
public sealed partial record RunPrefix(string Kind, string Id)
{
    public const string TestKind = "cal-e2e";
    public const string ManualKind = "cal-topo";
    public const string BenchKind = "cal-bench";

    /// <summary>cal-e2e-1a2b3c-: what names begin with.</summary>
    public string Value => $"{Kind}-{Id}-";

    /// <summary>cal-e2e-1a2b3c: the run's temporary directory under /tmp.</summary>
    public string Stem => $"{Kind}-{Id}";

    public string TempDirectory => Path.Combine(Path.GetTempPath(), Stem);

    public static RunPrefix New(string kind)
    {
        if (kind is not (TestKind or ManualKind or BenchKind)) throw new ArgumentException($"unknown run kind '{kind}'", nameof(kind));
        return new RunPrefix(kind, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)));
    }

    /// <summary>The run a name (namespace, directory, command line) belongs to, if it carries a run prefix.</summary>
    public static bool TryFind(string text, out RunPrefix prefix)
    {
        var match = Pattern().Match(text);
        prefix = match.Success ? new RunPrefix(match.Groups[1].Value, match.Groups[2].Value) : null!;
        return match.Success;
    }

    /// <summary>True when <paramref name="name"/> is a name of this run (starts with its prefix, or is its temp directory).</summary>
    public bool Owns(string name) => name.StartsWith(Value, StringComparison.Ordinal) || name == Stem;

    public override string ToString() => Value;

    [GeneratedRegex(@"(cal-(?:e2e|topo|bench))-([0-9a-f]{6})(?![0-9a-f])", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

/// <summary>Which process owns a run: its id and start time (so a reused process id is not mistaken for it).</summary>
public sealed record RunOwner(int ProcessId, long StartTime)
{
    public const string FileName = "owner";

    public static RunOwner Current => new(Environment.ProcessId, StartTimeOf(Environment.ProcessId) ?? 0);

    public bool IsAlive => StartTimeOf(ProcessId) is { } start && start == StartTime;

    public void WriteTo(string directory) =>
        File.WriteAllText(Path.Combine(directory, FileName), $"{ProcessId} {StartTime}\n");

    public static RunOwner? ReadFrom(string directory)
    {
        try
        {
            var parts = File.ReadAllText(Path.Combine(directory, FileName)).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var pid) && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var start)
                ? new RunOwner(pid, start)
                : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Field 22 of /proc/PID/stat (clock ticks since boot); null when the process does not exist.</summary>
    public static long? StartTimeOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
